-- History's optional columns (SPEC 3): who sold the project, the deal it came from, and the
-- staffing that was sold and that delivered (`role:count;role:count`), for the radar and the
-- track record.
ALTER TABLE history ADD COLUMN seller TEXT;
ALTER TABLE history ADD COLUMN deal TEXT;
ALTER TABLE history ADD COLUMN sold_roles TEXT;
ALTER TABLE history ADD COLUMN staffed_roles TEXT;
