DROP INDEX trusted_devices_last_used_idx;
DROP INDEX refresh_tokens_revoked_idx;
DROP INDEX refresh_tokens_idle_idx;
DROP INDEX refresh_tokens_expires_idx;
DROP INDEX sessions_ended_idx;
DROP INDEX sessions_expires_idx;
DROP TABLE leases;
