ALTER TABLE clients DROP COLUMN web_origins;
