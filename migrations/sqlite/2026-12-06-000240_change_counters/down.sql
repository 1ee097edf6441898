DROP TRIGGER clients_changed_on_delete;
DROP TRIGGER clients_changed_on_update;
DROP TRIGGER clients_changed_on_insert;
DROP TABLE change_counters;
