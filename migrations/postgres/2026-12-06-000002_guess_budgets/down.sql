DROP TABLE trusted_devices;
DROP TABLE guess_budgets;
