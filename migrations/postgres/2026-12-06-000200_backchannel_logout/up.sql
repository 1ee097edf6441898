-- OpenID Connect Back-Channel Logout 1.0: where a client wants to hear that a session ended,
-- which clients got tokens in each session, and the logout tokens still to deliver.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required BOOLEAN NOT NULL DEFAULT FALSE;

-- Every client that was issued tokens in a session (the session's own client aside); the rows
-- go when the session ends (`end_session`) or is purged (the cascade).
CREATE TABLE session_clients (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Logout tokens to POST, written in the transaction that ends the session and drained by a
-- background task; the token itself is signed at delivery, never stored.
CREATE TABLE logout_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at);
