-- Signing keys, shared by every instance. The private key is PKCS#8 PEM sealed with
-- AES-256-GCM under the key-encryption key from the settings (`keys.encryption_key`), so a dump
-- of this table alone signs nothing. Each key's state follows from its timestamps (published
-- from `published_at`, signs from `signs_from` until a newer generation of its algorithm signs),
-- so instances agree without talking. (alg, generation) is unique: two instances scheduling the
-- same rotation insert one key.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    generation BIGINT NOT NULL,
    public_jwk TEXT NOT NULL,
    private_key TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT NOT NULL,
    signs_from BIGINT NOT NULL,
    UNIQUE (alg, generation)
);

-- Per-client signing algorithms (NULL: the server's default, the first of keys.algorithms).
ALTER TABLE clients ADD COLUMN access_token_alg TEXT;
ALTER TABLE clients ADD COLUMN id_token_signed_response_alg TEXT;
