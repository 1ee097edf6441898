-- RFC 8693 token exchange: a confidential client may exchange a user's token for one to the
-- audiences listed here (a JSON array; empty: it may not use the grant), and may ask to act as
-- the user (no `act` claim) only when `exchange_impersonation` is set. Added with defaults, so
-- instances of the previous release keep reading and writing clients (expand only).
ALTER TABLE clients ADD COLUMN exchange_audiences TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN exchange_impersonation BOOLEAN NOT NULL DEFAULT FALSE;
