DROP TABLE registration_tokens;
DROP TABLE client_registrations;
ALTER TABLE clients DROP COLUMN dynamic;
