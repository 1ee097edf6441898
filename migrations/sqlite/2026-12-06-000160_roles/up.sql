-- Roles and their permissions, in the database so that every instance agrees (seeded at start
-- from `users.roles_file` or the default roles file; reconciled by `portcullis apply`).
-- `permissions` is a JSON array of scope tokens, in the order given.
CREATE TABLE roles (
    name TEXT PRIMARY KEY NOT NULL,
    permissions TEXT NOT NULL,
    require_mfa BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- What the consent page says a scope lets a client do, per language (`en`, `de`, …); a scope
-- without a row here is described by the message catalogs.
CREATE TABLE scope_descriptions (
    scope TEXT NOT NULL,
    lang TEXT NOT NULL,
    text TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (scope, lang)
);
