-- Nearly every question asks which deal its channel is about; a `deals` version lets each
-- instance remember the answer per channel until a deal or a channel's deal changes (anywhere).
INSERT INTO data_versions (name, version) VALUES ('deals', 0);

CREATE TRIGGER deals_insert_deals AFTER INSERT ON deals BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'deals'; END;
CREATE TRIGGER deals_update_deals AFTER UPDATE ON deals BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'deals'; END;
CREATE TRIGGER deals_delete_deals AFTER DELETE ON deals BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'deals'; END;
CREATE TRIGGER channel_deals_insert_deals AFTER INSERT ON channel_deals BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'deals'; END;
CREATE TRIGGER channel_deals_update_deals AFTER UPDATE ON channel_deals BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'deals'; END;
CREATE TRIGGER channel_deals_delete_deals AFTER DELETE ON channel_deals BEGIN UPDATE data_versions SET version = version + 1 WHERE name = 'deals'; END;
