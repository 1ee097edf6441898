-- WebAuthn passkeys (identity::passkeys). `credential` is webauthn-rs's serialised `Passkey`
-- (public key, counter, backup state: no secret); `credential_id` is its id in base64url, unique
-- across users so a discoverable sign-in finds exactly one account.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- A WebAuthn ceremony between its two requests (options, then the authenticator's answer), so
-- any instance can finish it. `id` is the SHA-256 of the handle the browser holds; the row is
-- bound to the browser that started it and claimed once (one conditional DELETE).
CREATE TABLE passkey_ceremonies (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT,
    state TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_ceremonies_expires_idx ON passkey_ceremonies (expires_at);
