DROP TABLE dpop_jtis;
ALTER TABLE refresh_tokens DROP COLUMN dpop_jkt;
