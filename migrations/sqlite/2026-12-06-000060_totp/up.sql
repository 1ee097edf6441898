-- Second factors (identity::totp, identity::recovery_codes).
-- An authenticator app per user: the 160-bit TOTP secret sealed under the key-encryption key
-- (AES-256-GCM, bound to the user id; `kek_id` names the key that sealed it). Unconfirmed
-- (`confirmed_at` NULL) while the user enrols; `last_used_step` is the newest 30-second step
-- a code was accepted for, so no code is accepted twice.
CREATE TABLE totp_factors (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    confirmed_at BIGINT,
    last_used_step BIGINT,
    created_at BIGINT NOT NULL
);
-- One-time recovery codes, shown once and stored only as SHA-256; `used_at` set when redeemed.
CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);
