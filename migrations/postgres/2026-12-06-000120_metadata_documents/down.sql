ALTER TABLE clients DROP COLUMN metadata_document_expires_at;
