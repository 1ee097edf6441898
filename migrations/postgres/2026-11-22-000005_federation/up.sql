-- Federated sign-in: upstream identities linked to accounts, the state of sign-ins in flight,
-- and links waiting for the account's password.

CREATE TABLE federated_identities (
    id TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    -- Who vouches for the subject: the OIDC issuer, or GitHub's API URL. Part of the key, so
    -- pointing a provider name at another upstream never reuses its links.
    issuer TEXT NOT NULL,
    -- The upstream's stable subject (OIDC `sub`, GitHub's numeric user id).
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    UNIQUE (provider, issuer, subject)
);
CREATE INDEX federated_identities_user_idx ON federated_identities (user_id);

-- An upstream sign-in in flight: its `state` (as SHA-256), bound to the browser, with the PKCE
-- verifier and nonce it needs at the callback (kept for at most 10 minutes, used once).
CREATE TABLE federation_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    provider TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    request_id TEXT,
    -- Set when this upstream sign-in confirms a pending link (SHA-256 of its token).
    link_token_hash TEXT,
    pkce_verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX federation_states_expires_idx ON federation_states (expires_at);

-- An upstream identity whose email belongs to an existing account: linked only once that
-- account's password is confirmed.
CREATE TABLE federation_links (
    token_hash TEXT PRIMARY KEY NOT NULL,
    browser_hash TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    request_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX federation_links_expires_idx ON federation_links (expires_at);
