DROP TABLE logout_deliveries;
DROP TABLE session_clients;
ALTER TABLE clients DROP COLUMN backchannel_logout_session_required;
ALTER TABLE clients DROP COLUMN backchannel_logout_uri;
