-- DPoP (RFC 9449) proofs seen, so a replayed proof is refused on every instance: the key is
-- SHA-256 of the proof key's thumbprint and its `jti` (base64url); a repeat fails the insert.
-- Rows are useless once `expires_at` (iat window) has passed; the purge deletes them.
CREATE TABLE dpop_jtis (
    jkt_jti_hash TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_jtis_expires_at ON dpop_jtis (expires_at);

-- RFC 9449 §5: the DPoP key (SHA-256 thumbprint) a public client's refresh token family is
-- bound to; copied at each rotation. NULL: not bound.
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;

-- RFC 9449 §5.2: the client must send a DPoP proof at /token (`dpop_bound_access_tokens`).
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens BOOLEAN NOT NULL DEFAULT FALSE;
