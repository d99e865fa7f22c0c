-- The capacity changes made by Keepable's own holds (placed, released, expired, confirmed): the
-- version range each covered and the people it touched. An instance whose capacity data is at a
-- version these changes chain from reads only those people again instead of everything; any
-- other change (an import) leaves a gap in the chain, and then everything is read.
CREATE TABLE capacity_changes (
    from_version BIGINT PRIMARY KEY,
    to_version BIGINT NOT NULL,
    people TEXT NOT NULL
);
