-- Indexes for the incident reads of a DORA report (sql/dora.rs, dora_facts): incidents
-- resolved in a range, and incidents naming their deployment. Keep in step with
-- migrations/sqlite/0007_dora_incident_indexes.sql.
CREATE INDEX issues_resolved ON issues (incident, resolution_date);
CREATE INDEX issues_deployment ON issues (deployment_id) WHERE deployment_id IS NOT NULL;
CREATE INDEX issues_ingested_deployment ON issues (ingested_deployment_id)
    WHERE ingested_deployment_id IS NOT NULL;
