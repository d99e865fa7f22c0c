-- The replay guard's request keys on a SQLite file, as the key writer journals them
-- (`store/keys.rs`): the process knows them in memory, so the table needs no unique index; it is
-- appended to (rowid order), so a commit of many keys writes a page or two, not one page per key
-- all over a key-ordered index. Read back by time at start, and forgotten by time.
CREATE TABLE request_keys (
    event_id TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX request_keys_at ON request_keys (at);
