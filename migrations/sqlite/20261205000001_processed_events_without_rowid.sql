-- The replay guard's keys in one B-tree keyed by the key itself, instead of a rowid table beside
-- an index on it: each grouped write of keys changes one page instead of two. (PostgreSQL keeps
-- its table as it is.)
CREATE TABLE processed_events_by_key (
    event_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO processed_events_by_key (event_id, at) SELECT event_id, at FROM processed_events;
DROP TABLE processed_events;
ALTER TABLE processed_events_by_key RENAME TO processed_events;
