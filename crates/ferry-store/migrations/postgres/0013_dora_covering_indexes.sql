-- A DORA report for one service reads its deployments of the range and their changes. With
-- these columns in the indexes both reads are answered from the indexes alone, instead of
-- fetching one table row per deployment and per change from all over the table (a service's
-- rows are interleaved with every other service's). Keep in step with the other engine's 0013.
DROP INDEX dora_deployments_service;
CREATE INDEX dora_deployments_service
    ON dora_deployments (service_id, finished_at, production, integration_id);
DROP INDEX dora_changes_deployment;
CREATE INDEX dora_changes_deployment ON dora_changes (dora_deployment_id, started_at);
