-- Import as a snapshot (SPEC 3). Roles, packages and deliverables absent from a new export are
-- retired, not deleted: deals and history still point at them. Allocations and time off carry the
-- source system's id when the export has one, and lose their whole-row uniqueness (two bookings
-- with different ids may look alike); the import keys rows itself. Every import is recorded, and
-- the bundled demo firm is marked as such so a firm's own import replaces it.
ALTER TABLE roles ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE packages ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deliverables ADD COLUMN retired BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE allocations_snapshot (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT,
    person TEXT NOT NULL REFERENCES people (id),
    project TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    hours_per_week REAL NOT NULL,
    status TEXT NOT NULL,
    hold_id TEXT
);
INSERT INTO allocations_snapshot (id, person, project, start_date, end_date, hours_per_week, status, hold_id)
    SELECT id, person, project, start_date, end_date, hours_per_week, status, hold_id FROM allocations;
DROP TABLE allocations;
ALTER TABLE allocations_snapshot RENAME TO allocations;
CREATE INDEX allocations_person ON allocations (person, end_date);
CREATE INDEX allocations_hold ON allocations (hold_id);
CREATE TRIGGER allocations_insert_version AFTER INSERT ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_update_version AFTER UPDATE ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_delete_version AFTER DELETE ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;

CREATE TABLE time_off_snapshot (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT,
    person TEXT NOT NULL REFERENCES people (id),
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL
);
INSERT INTO time_off_snapshot (id, person, start_date, end_date)
    SELECT id, person, start_date, end_date FROM time_off;
DROP TABLE time_off;
ALTER TABLE time_off_snapshot RENAME TO time_off;
CREATE INDEX time_off_person ON time_off (person);
CREATE TRIGGER time_off_insert_version AFTER INSERT ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_update_version AFTER UPDATE ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_delete_version AFTER DELETE ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;

-- History may name a package the firm no longer sells (a package retired, or one discontinued
-- before the firm's first import): it is kept for the record, so history no longer references
-- packages.
CREATE TABLE history_snapshot (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL DEFAULT '',
    package TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    effort_hours REAL NOT NULL,
    planned_end TEXT,
    sold_margin REAL,
    closed_margin REAL,
    change_orders INTEGER,
    seller TEXT,
    deal TEXT,
    sold_roles TEXT,
    staffed_roles TEXT
);
INSERT INTO history_snapshot SELECT id, client, package, start_date, end_date, effort_hours, planned_end,
    sold_margin, closed_margin, change_orders, seller, deal, sold_roles, staffed_roles FROM history;
DROP TABLE history;
ALTER TABLE history_snapshot RENAME TO history;
CREATE INDEX history_package ON history (package, end_date);
CREATE TRIGGER history_insert_version AFTER INSERT ON history BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'history'; END;
CREATE TRIGGER history_update_version AFTER UPDATE ON history BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'history'; END;
CREATE TRIGGER history_delete_version AFTER DELETE ON history BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'history'; END;

CREATE TABLE imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    files TEXT NOT NULL,
    summary TEXT NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT FALSE
);
