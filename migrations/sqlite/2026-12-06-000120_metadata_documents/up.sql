-- Client ID metadata documents (`oauth::metadata_document`): a client whose id is the URL of the
-- JSON document that defines it. The document stands until `metadata_document_expires_at` (from
-- its Cache-Control, within bounds), then the next sign-in fetches it again; NULL for every
-- client made otherwise (CLI, RFC 7591).
ALTER TABLE clients ADD COLUMN metadata_document_expires_at BIGINT;
