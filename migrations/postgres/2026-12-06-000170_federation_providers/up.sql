-- Upstream identity providers declared by `portcullis apply` (`[providers.NAME]`), besides the
-- ones in `[federation]`. Never the client secret: only the name of the environment variable
-- (`secret_env`) or the path of the file (`secret_file`) each instance reads it from.
-- `kind` is `oidc` (with `issuer`) or `github` (with the three URLs); `scopes` is a JSON array.
CREATE TABLE federation_providers (
    name TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    display_name TEXT NOT NULL,
    issuer TEXT,
    authorize_url TEXT,
    token_url TEXT,
    api_url TEXT,
    client_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    secret_env TEXT,
    secret_file TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
