ALTER TABLE refresh_tokens DROP COLUMN resources;
ALTER TABLE authorization_codes DROP COLUMN resources;
ALTER TABLE authorization_requests DROP COLUMN resources;
