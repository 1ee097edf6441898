-- A client's security profile: 'fapi2' (the FAPI 2.0 Security Profile's rules, `oauth::profile`)
-- or NULL (none beyond the client's own settings).
ALTER TABLE clients ADD COLUMN profile TEXT;
