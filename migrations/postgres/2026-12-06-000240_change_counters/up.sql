-- A counter per cached table, raised by triggers on every change however it is made (the
-- server, the CLI, `apply`, another instance): each instance polls it to know when what it
-- cached is stale (`oauth::client_cache`).
CREATE TABLE change_counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO change_counters (name, value) VALUES ('clients', 0);
CREATE FUNCTION portcullis_clients_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'clients';
    RETURN NULL;
END;
$$;
-- Deferred to commit: the counter row is locked last, after every clients row the transaction
-- writes, so two transactions writing clients in different orders wait for each other's commit
-- instead of deadlocking on the counter.
CREATE CONSTRAINT TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON clients
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION portcullis_clients_changed();
CREATE TRIGGER clients_truncated AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION portcullis_clients_changed();
