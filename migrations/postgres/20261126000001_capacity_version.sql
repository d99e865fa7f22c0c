-- A version number for the capacity data (people, allocations, time off, holidays), bumped by
-- triggers on every change, so a process can keep the data in memory and know when to reload it.
CREATE TABLE data_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO data_versions (name, version) VALUES ('capacity', 0);

CREATE FUNCTION bump_capacity_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE data_versions SET version = version + 1 WHERE name = 'capacity';
    RETURN NULL;
END
$$;

CREATE TRIGGER people_capacity AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON people
    FOR EACH STATEMENT EXECUTE FUNCTION bump_capacity_version();
CREATE TRIGGER allocations_capacity AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON allocations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_capacity_version();
CREATE TRIGGER time_off_capacity AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON time_off
    FOR EACH STATEMENT EXECUTE FUNCTION bump_capacity_version();
CREATE TRIGGER holidays_capacity AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON holidays
    FOR EACH STATEMENT EXECUTE FUNCTION bump_capacity_version();
