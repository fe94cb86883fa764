-- Schema 2: tokens get a non-secret id, an expiry, a revocation time and a
-- read-only flag; journal rows record who wrote them. Rows written before
-- this migration keep NULL authors: nobody recorded them.
--
-- An applied migration must never be edited: sqlx checks its SHA-384 at
-- every start. Change the schema with a new numbered file, here and in
-- ../sqlite.
ALTER TABLE tokens ADD COLUMN id TEXT;
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN revoked_at TEXT;
ALTER TABLE tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;
-- The same rule as cascade_store::backend::token_id_of.
UPDATE tokens SET id = 'tok_' || substr(hash, 1, 16);
ALTER TABLE tokens ALTER COLUMN id SET NOT NULL;
CREATE UNIQUE INDEX tokens_by_id ON tokens (id);
ALTER TABLE events ADD COLUMN principal TEXT;
ALTER TABLE events ADD COLUMN token_id TEXT;
ALTER TABLE events ADD COLUMN request_id TEXT;
