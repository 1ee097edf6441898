-- The OIDC `ui_locales` of an authorization request (space-separated BCP 47 tags): the language
-- of the sign-in pages that follow it.
ALTER TABLE authorization_requests ADD COLUMN ui_locales TEXT;
