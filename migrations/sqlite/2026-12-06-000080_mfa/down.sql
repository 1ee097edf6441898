DROP TABLE mfa_challenges;
ALTER TABLE authorization_requests DROP COLUMN acr_values;
ALTER TABLE clients DROP COLUMN require_mfa;
