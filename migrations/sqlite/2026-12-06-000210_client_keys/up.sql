-- RFC 7523 private_key_jwt client authentication and RFC 9101 signed request objects: how a
-- client authenticates at the token endpoint (NULL: a secret for a confidential client, none
-- for a public one; 'private_key_jwt'), and its public keys, by value (a JWKS) or by URL.
-- A private_key_jwt client has no secret: its secret_hash holds '!private_key_jwt', which no
-- hash equals (the CHECK on secret_hash stays as it is).
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT;
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;

-- Client assertions seen, so a replayed assertion is refused on every instance: the key is
-- SHA-256 of the client id and the assertion's `jti` (base64url); a repeat fails the insert.
-- Rows are useless once the assertion has expired (`expires_at`); the purge deletes them.
CREATE TABLE client_assertion_jtis (
    client_jti_hash TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX client_assertion_jtis_expires_at ON client_assertion_jtis (expires_at);
