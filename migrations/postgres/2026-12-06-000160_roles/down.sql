DROP TABLE scope_descriptions;
DROP TABLE roles;
