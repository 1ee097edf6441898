ALTER TABLE authorization_requests DROP COLUMN ui_locales;
