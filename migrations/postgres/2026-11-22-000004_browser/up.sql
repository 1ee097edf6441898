-- Browser sign-in: PKCE policy per client, SSO cookies on sessions, pending authorization
-- requests, authorization codes and remembered consent.

-- Confidential clients may be allowed to skip PKCE; public clients always need it.
ALTER TABLE clients ADD COLUMN pkce_required BOOLEAN NOT NULL DEFAULT TRUE;

-- A session started in a browser carries the SHA-256 of its cookie; `cookie_seen_at` drives
-- the browser's idle timeout (refreshing tokens does not keep a browser signed in).
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT;
ALTER TABLE sessions ADD COLUMN cookie_seen_at BIGINT;
-- How the user authenticated (OIDC `amr`): "pwd", or a federation method.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
CREATE UNIQUE INDEX sessions_cookie_idx ON sessions (cookie_hash);

-- An authorization request waiting for the user (login, consent), bound to the browser that
-- started it by the SHA-256 of that browser's binding cookie.
CREATE TABLE authorization_requests (
    id TEXT PRIMARY KEY NOT NULL,
    browser_hash TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,
    response_mode TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT,
    nonce TEXT,
    code_challenge TEXT,
    prompt TEXT NOT NULL,
    max_age BIGINT,
    login_hint TEXT,
    -- When the user signed in for this request (satisfies prompt=login and max_age).
    authenticated_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX authorization_requests_expires_idx ON authorization_requests (expires_at);

-- Codes exist only as SHA-256. `used_at` is set by the one exchange that wins; the tokens it
-- issued are recorded so a replay can revoke them.
CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    redirect_uri_given BOOLEAN NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    access_jti TEXT,
    access_expires_at BIGINT,
    refresh_token_hash TEXT
);
CREATE INDEX authorization_codes_expires_idx ON authorization_codes (expires_at);

-- Remembered consent: the scopes a user has allowed a client (the union of every approval).
CREATE TABLE consents (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
