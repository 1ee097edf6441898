DROP INDEX refresh_tokens_parent_idx;
ALTER TABLE refresh_tokens DROP COLUMN parent_id;
