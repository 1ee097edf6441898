-- Origins (scheme://host[:port]) a browser app may call /token, /revoke and /userinfo from,
-- beside the origins of the client's redirect URIs: a JSON array, like the other list columns.
ALTER TABLE clients ADD COLUMN web_origins TEXT NOT NULL DEFAULT '[]';
