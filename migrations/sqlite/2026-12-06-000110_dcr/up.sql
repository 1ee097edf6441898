-- Dynamic client registration (RFC 7591) and management (RFC 7592), `oauth::dynamic`. A client
-- that registered itself is marked `dynamic`; its registration access token lives only as a
-- SHA-256 hash in `client_registrations`, beside the metadata `clients` has no column for.
ALTER TABLE clients ADD COLUMN dynamic BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE client_registrations (
    client_id TEXT PRIMARY KEY NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    access_token_hash TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Initial access tokens (`clients.registration = "initial_access_token"`), made by
-- `portcullis client registration-token create`; only the SHA-256 of a token is stored. Each
-- registration takes one of `uses_left` with one conditional UPDATE.
CREATE TABLE registration_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    uses_left INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
