-- Second factors and step-up (identity::mfa). A client may require a second factor of every
-- user it signs in; an authorization request may ask for one (`acr_values`).
ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE authorization_requests ADD COLUMN acr_values TEXT;

-- A sign-in that passed its first factor (password, federation) and waits for a second one,
-- or for the user to enrol one. Only the SHA-256 of the challenge handle is stored; a page
-- challenge is bound to the browser that started it (`browser_hash`), an account-API challenge
-- (`browser_hash` NULL) is a bearer handle. Single use: claimed by one conditional delete.
CREATE TABLE mfa_challenges (
    id_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    first_amr TEXT NOT NULL,
    request_id TEXT,
    browser_hash TEXT,
    enrol BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);
CREATE INDEX mfa_challenges_user_idx ON mfa_challenges (user_id);
