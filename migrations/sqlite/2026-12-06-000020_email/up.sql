-- Single-use links sent by email (identity::email_tokens): email verification (24 h) and
-- password reset (30 min). Only the SHA-256 of the token is stored. `email` is the address the
-- link was sent to: a verification holds only while the account still has that address.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);
