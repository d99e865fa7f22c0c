-- Who caused each outbound message (the person whose action it follows, or `keepable` for timed
-- work): told, with operations, when the message cannot be delivered.
ALTER TABLE outbox ADD COLUMN caused_by TEXT;
