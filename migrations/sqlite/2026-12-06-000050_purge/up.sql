-- The purge of dead rows (src/purge): a lease, so one instance purges at a time, and indexes
-- that let it find dead rows in batches without scanning the tables.

-- A lease on a piece of background work: held by `holder` until `expires_at` (Unix seconds),
-- taken by one conditional UPDATE (or the INSERT of a missing row) that only one instance wins.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_ended_idx ON sessions (ended_at);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
CREATE INDEX refresh_tokens_idle_idx ON refresh_tokens (idle_expires_at);
CREATE INDEX refresh_tokens_revoked_idx ON refresh_tokens (revoked_at);
CREATE INDEX trusted_devices_last_used_idx ON trusted_devices (last_used_at);
