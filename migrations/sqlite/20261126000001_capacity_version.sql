-- A version number for the capacity data (people, allocations, time off, holidays), bumped by
-- triggers on every change, so a process can keep the data in memory and know when to reload it.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO data_versions (name, version) VALUES ('capacity', 0);

CREATE TRIGGER people_insert_capacity AFTER INSERT ON people BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER people_update_capacity AFTER UPDATE ON people BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER people_delete_capacity AFTER DELETE ON people BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_insert_capacity AFTER INSERT ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_update_capacity AFTER UPDATE ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_delete_capacity AFTER DELETE ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_insert_capacity AFTER INSERT ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_update_capacity AFTER UPDATE ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_delete_capacity AFTER DELETE ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER holidays_insert_capacity AFTER INSERT ON holidays BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER holidays_update_capacity AFTER UPDATE ON holidays BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER holidays_delete_capacity AFTER DELETE ON holidays BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
