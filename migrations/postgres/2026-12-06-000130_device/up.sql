-- The device authorization grant (RFC 8628), `oauth::device`. A row is one device's request: the
-- SHA-256 of its device_code (the key the device polls with) and of its normalised user_code
-- (what the user types on /device), both only as hashes. `status` moves pending → approved or
-- denied (the user's decision, with who approved and under which session) → used (the one poll
-- that got tokens, by a conditional UPDATE). `interval_secs` grows by 5 at each slow_down.
CREATE TABLE device_authorizations (
    device_code_hash TEXT PRIMARY KEY NOT NULL,
    user_code_hash TEXT NOT NULL UNIQUE,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    interval_secs BIGINT NOT NULL,
    last_polled_at BIGINT,
    user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    session_id TEXT,
    auth_time BIGINT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX device_authorizations_expires_at ON device_authorizations (expires_at);
