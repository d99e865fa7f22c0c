-- An answer asked with `deal=<deal>` acts on that deal: its buttons commit to it, hold for it and
-- request exceptions for it, whatever channel they are pressed in.
ALTER TABLE offers ADD COLUMN deal_id TEXT;
