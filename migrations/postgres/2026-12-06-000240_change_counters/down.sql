DROP TRIGGER clients_truncated ON clients;
DROP TRIGGER clients_changed ON clients;
DROP FUNCTION portcullis_clients_changed();
DROP TABLE change_counters;
