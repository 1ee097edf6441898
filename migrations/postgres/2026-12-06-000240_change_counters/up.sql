-- A counter per cached table, raised by a trigger on every change however it is made (the
-- server, the CLI, `apply`, the purge, another instance): each instance polls it to know when
-- what it cached is stale (`oauth::client_cache`).
CREATE TABLE change_counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO change_counters (name, value) VALUES ('clients', 0);
CREATE FUNCTION portcullis_clients_changed() RETURNS trigger AS $$
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'clients';
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_clients_changed();
