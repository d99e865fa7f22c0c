-- The weekly digest (SPEC 5.7): one row per ISO week (`2027-W10`), inserted in the same
-- transaction as its leadership message, so several instances running run-due at once post it
-- once. `signals` is the JSON list of every radar signal raised that week: next week's digest
-- reports only what is new or worse than it.
CREATE TABLE digests (
    week TEXT PRIMARY KEY,
    posted_at TEXT NOT NULL,
    signals TEXT NOT NULL,
    message_id BIGINT,
    acknowledged_by TEXT,
    acknowledged_at TEXT
);
