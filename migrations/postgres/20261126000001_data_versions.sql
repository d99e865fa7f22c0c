-- Version numbers of the data the answer engines keep in memory: `capacity` (people, allocations,
-- time off, holidays), `history`, and `library` (deliverables, package items). Triggers bump them
-- in the same transaction as any change, so every process sharing the database knows when to read
-- the data again.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO data_versions (name, version) VALUES ('capacity', 0), ('history', 0), ('library', 0);

CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;

CREATE TRIGGER people_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('capacity');
CREATE TRIGGER allocations_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('capacity');
CREATE TRIGGER time_off_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON time_off
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('capacity');
CREATE TRIGGER holidays_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON holidays
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('capacity');
CREATE TRIGGER history_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON history
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('history');
CREATE TRIGGER deliverables_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deliverables
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('library');
CREATE TRIGGER package_items_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON package_items
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('library');
