ALTER TABLE clients DROP COLUMN exchange_impersonation;
ALTER TABLE clients DROP COLUMN exchange_audiences;
