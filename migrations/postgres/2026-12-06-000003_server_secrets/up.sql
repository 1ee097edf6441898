-- Secrets every instance shares (e.g. the key CSRF tokens are bound with), created on first
-- start. Never handed out.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
