-- Pushed authorization requests (RFC 9126). `id` is the SHA-256 of the random part of the
-- `request_uri`; `parameters` the authorization request's parameters, a JSON array of
-- [name, value] pairs, validated when pushed. Single use: `used_at` is set by the one
-- `/authorize` that consumes it.
CREATE TABLE pushed_requests (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    parameters TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- The client's authorization requests must be pushed (`require_pushed_authorization_requests`).
ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT FALSE;
