-- Nearly every question asks which deal its channel is about; a `deals` version lets each
-- instance remember the answer per channel until a deal or a channel's deal changes (anywhere).
INSERT INTO data_versions (name, version) VALUES ('deals', 0);

CREATE TRIGGER deals_deals AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deals
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('deals');
CREATE TRIGGER channel_deals_deals AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON channel_deals
    FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version('deals');
