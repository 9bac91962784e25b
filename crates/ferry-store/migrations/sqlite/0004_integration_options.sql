-- OpsLevel integration options (compat/ingest.md §1.6). Keep in step with
-- migrations/postgres/0004_integration_options.sql.
--   dedup_scope: 'dedup_id' (OpsLevel's documented behaviour) or 'dedup_id+deploy_number',
--     for senders whose dedup_id is constant across runs (the CircleCI orb sends the job name).
--   strict_deployer: 1 refuses a deploy without deployer e-mail or name (400 Deployer Error).
ALTER TABLE integrations ADD COLUMN dedup_scope TEXT NOT NULL DEFAULT 'dedup_id'
    CHECK (dedup_scope IN ('dedup_id', 'dedup_id+deploy_number'));
ALTER TABLE integrations ADD COLUMN strict_deployer INTEGER NOT NULL DEFAULT 0
    CHECK (strict_deployer IN (0, 1));
