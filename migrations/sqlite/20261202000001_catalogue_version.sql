-- The catalogue (roles, packages, their staffing patterns) and the import records change only on
-- import, yet every answer reads them: a `catalogue` version lets each instance keep them in
-- memory and read them again only when an import (on any instance) changed them.
INSERT INTO data_versions (name, version) VALUES ('catalogue', 0);

CREATE TRIGGER roles_insert_catalogue AFTER INSERT ON roles BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER roles_update_catalogue AFTER UPDATE ON roles BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER roles_delete_catalogue AFTER DELETE ON roles BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER packages_insert_catalogue AFTER INSERT ON packages BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER packages_update_catalogue AFTER UPDATE ON packages BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER packages_delete_catalogue AFTER DELETE ON packages BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER package_roles_insert_catalogue AFTER INSERT ON package_roles BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER package_roles_update_catalogue AFTER UPDATE ON package_roles BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER package_roles_delete_catalogue AFTER DELETE ON package_roles BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER imports_insert_catalogue AFTER INSERT ON imports BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER imports_update_catalogue AFTER UPDATE ON imports BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
CREATE TRIGGER imports_delete_catalogue AFTER DELETE ON imports BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'catalogue'; END;
