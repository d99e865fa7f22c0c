-- Set while an attempt to send a message is under way (and after one whose outcome is unknown: a
-- timeout, a 5xx). A worker that finds it set on a message it claims cannot know whether the
-- platform already has the message, and looks for it before posting again.
ALTER TABLE outbox ADD COLUMN sending INTEGER NOT NULL DEFAULT 0;
