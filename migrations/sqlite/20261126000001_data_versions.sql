-- Version numbers of the data the answer engines keep in memory: `capacity` (people, allocations,
-- time off, holidays), `history`, and `library` (deliverables, package items). Triggers bump them
-- in the same transaction as any change, so every process sharing the database knows when to read
-- the data again.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO data_versions (name, version) VALUES ('capacity', 0), ('history', 0), ('library', 0);

CREATE TRIGGER people_insert_version AFTER INSERT ON people BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER people_update_version AFTER UPDATE ON people BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER people_delete_version AFTER DELETE ON people BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_insert_version AFTER INSERT ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_update_version AFTER UPDATE ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER allocations_delete_version AFTER DELETE ON allocations BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_insert_version AFTER INSERT ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_update_version AFTER UPDATE ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER time_off_delete_version AFTER DELETE ON time_off BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER holidays_insert_version AFTER INSERT ON holidays BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER holidays_update_version AFTER UPDATE ON holidays BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER holidays_delete_version AFTER DELETE ON holidays BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'capacity'; END;
CREATE TRIGGER history_insert_version AFTER INSERT ON history BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'history'; END;
CREATE TRIGGER history_update_version AFTER UPDATE ON history BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'history'; END;
CREATE TRIGGER history_delete_version AFTER DELETE ON history BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'history'; END;
CREATE TRIGGER deliverables_insert_version AFTER INSERT ON deliverables BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'library'; END;
CREATE TRIGGER deliverables_update_version AFTER UPDATE ON deliverables BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'library'; END;
CREATE TRIGGER deliverables_delete_version AFTER DELETE ON deliverables BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'library'; END;
CREATE TRIGGER package_items_insert_version AFTER INSERT ON package_items BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'library'; END;
CREATE TRIGGER package_items_update_version AFTER UPDATE ON package_items BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'library'; END;
CREATE TRIGGER package_items_delete_version AFTER DELETE ON package_items BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'library'; END;
