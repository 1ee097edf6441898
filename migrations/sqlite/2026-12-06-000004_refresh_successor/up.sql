-- Which token a refresh token was issued in exchange for (NULL for the first of a family, and for
-- rows written before this column existed). Within the reuse grace window, a retry of the
-- just-rotated token revokes its undelivered successor (found by parent_id) and issues another.
ALTER TABLE refresh_tokens ADD COLUMN parent_id TEXT;
CREATE INDEX refresh_tokens_parent_idx ON refresh_tokens (parent_id);
