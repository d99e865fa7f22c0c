-- Import as a snapshot (SPEC 3). Roles, packages and deliverables absent from a new export are
-- retired, not deleted: deals and history still point at them. Allocations and time off carry the
-- source system's id when the export has one, and lose their whole-row uniqueness (two bookings
-- with different ids may look alike); the import keys rows itself. Every import is recorded, and
-- the bundled demo firm is marked as such so a firm's own import replaces it.
ALTER TABLE roles ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE packages ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deliverables ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE allocations ADD COLUMN source_id TEXT;
ALTER TABLE time_off ADD COLUMN source_id TEXT;
DO $$
DECLARE
    relation TEXT;
    constraint_name TEXT;
BEGIN
    FOR relation, constraint_name IN
        SELECT conrelid::regclass::text, conname FROM pg_constraint
        WHERE contype = 'u' AND conrelid IN ('allocations'::regclass, 'time_off'::regclass)
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', relation, constraint_name);
    END LOOP;
END
$$;
CREATE INDEX allocations_hold ON allocations (hold_id);
CREATE INDEX time_off_person ON time_off (person);

-- History may name a package the firm no longer sells (a package retired, or one discontinued
-- before the firm's first import): it is kept for the record, so history no longer references
-- packages.
ALTER TABLE history DROP CONSTRAINT IF EXISTS history_package_fkey;

CREATE TABLE imports (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    files TEXT NOT NULL,
    summary TEXT NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT FALSE
);
