DROP TABLE federation_links;
DROP TABLE federation_states;
DROP TABLE federated_identities;
