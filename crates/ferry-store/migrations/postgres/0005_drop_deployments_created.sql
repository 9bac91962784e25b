-- The all-sources listing reads API deployments through the indexes of migration 0001 (by
-- id) and merges them with ingested ones in memory; the creation-time index of migration
-- 0003 only cost every API create an extra index write.
DROP INDEX IF EXISTS deployments_created;
