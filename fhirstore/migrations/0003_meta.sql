-- Small per-database settings, such as the key that signs paging cursors.
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
