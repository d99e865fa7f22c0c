-- The catalogue (roles, packages, their staffing patterns) and the import records change only on
-- import, yet every answer reads them: a `catalogue` version lets each instance keep them in
-- memory and read them again only when an import (on any instance) changed them.
INSERT INTO data_versions (name, version) VALUES ('catalogue', 0);

CREATE TRIGGER roles_catalogue AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('catalogue');
CREATE TRIGGER packages_catalogue AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON packages
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('catalogue');
CREATE TRIGGER package_roles_catalogue AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON package_roles
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('catalogue');
CREATE TRIGGER imports_catalogue AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON imports
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('catalogue');
