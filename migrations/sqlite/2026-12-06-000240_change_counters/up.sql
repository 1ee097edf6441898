-- A counter per cached table, raised by triggers on every change however it is made (the
-- server, the CLI, `apply`, another instance): each instance polls it to know when
-- what it cached is stale (`oauth::client_cache`).
CREATE TABLE change_counters (
    name TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
INSERT INTO change_counters (name, value) VALUES ('clients', 0);
CREATE TRIGGER clients_changed_on_insert AFTER INSERT ON clients
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'clients';
END;
CREATE TRIGGER clients_changed_on_update AFTER UPDATE ON clients
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'clients';
END;
CREATE TRIGGER clients_changed_on_delete AFTER DELETE ON clients
BEGIN
    UPDATE change_counters SET value = value + 1 WHERE name = 'clients';
END;
