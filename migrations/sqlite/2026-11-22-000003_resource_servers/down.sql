DROP TABLE revoked_tokens;
DROP TABLE api_keys;
ALTER TABLE clients DROP COLUMN can_introspect;
