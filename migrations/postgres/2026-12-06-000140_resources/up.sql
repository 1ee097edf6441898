-- RFC 8707 resource indicators bound end to end: the `resource` values of an authorization
-- request are kept with it, bound to the code it issues and then to the refresh-token family,
-- so the token endpoint can narrow them but never widen them. A JSON array of absolute URIs;
-- `[]` when the request named none (then tokens follow the client's audiences, as before).
-- Added with defaults, so instances of the previous release keep reading and writing these
-- tables (expand only).
ALTER TABLE authorization_requests ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
