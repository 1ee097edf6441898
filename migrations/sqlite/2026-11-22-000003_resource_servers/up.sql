-- Whether a client (typically a resource server) may introspect tokens not issued to it.
ALTER TABLE clients ADD COLUMN can_introspect BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The public part of `pc_<prefix>_<secret>`; the secret exists only as its SHA-256.
    prefix TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT,
    -- Set on rotation: the key keeps working until then.
    retire_at BIGINT,
    -- The client whose token created the key (it may revoke it at /revoke); NULL from the CLI.
    created_by_client TEXT
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- Revoked access tokens, by jti, until they would have expired anyway.
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_idx ON revoked_tokens (expires_at);
