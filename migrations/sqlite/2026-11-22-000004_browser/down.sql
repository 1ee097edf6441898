DROP TABLE consents;
DROP TABLE authorization_codes;
DROP TABLE authorization_requests;
DROP INDEX sessions_cookie_idx;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN cookie_seen_at;
ALTER TABLE sessions DROP COLUMN cookie_hash;
ALTER TABLE clients DROP COLUMN pkce_required;
