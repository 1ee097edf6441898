DROP TABLE federation_providers;
