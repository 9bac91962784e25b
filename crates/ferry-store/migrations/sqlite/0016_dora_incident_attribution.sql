-- Each incident's attribution (dora.md §3, rule 2) stored with it, so a report over every
-- service reads it instead of looking up each incident's deployment: `blamed_dora_id` is the
-- latest production-class (`production = 1`) `dora_deployments` row of the incident's service
-- — of its integration when it has no service — that finished strictly before the incident
-- was created, ties to the larger id; `blamed_at` its finish. Kept for incidents that name no
-- deployment (those are attributed to the one they name), NULL otherwise or when there is
-- none. Kept by the triggers below, whatever the write path. Keep in step with the other
-- engine's 0016 and with `ferry_domain::dora`'s attribution.
ALTER TABLE issues ADD COLUMN blamed_dora_id INTEGER;
ALTER TABLE issues ADD COLUMN blamed_at INTEGER;

UPDATE issues SET (blamed_dora_id, blamed_at) = (
    SELECT e.id, e.finished_at FROM dora_deployments e
    WHERE e.service_id = issues.service_id AND e.production = 1
      AND e.finished_at < issues.created_date
    ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
WHERE incident = 1 AND deployment_id IS NULL AND ingested_deployment_id IS NULL
  AND service_id IS NOT NULL;
UPDATE issues SET (blamed_dora_id, blamed_at) = (
    SELECT e.id, e.finished_at FROM dora_deployments e
    WHERE e.integration_id = issues.integration_id AND e.production = 1
      AND e.finished_at < issues.created_date
    ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
WHERE incident = 1 AND deployment_id IS NULL AND ingested_deployment_id IS NULL
  AND service_id IS NULL;

CREATE INDEX issues_blamed ON issues (blamed_dora_id) WHERE blamed_dora_id IS NOT NULL;
-- Incidents without a service, by integration: what a new deployment of the integration
-- may take over.
CREATE INDEX issues_orphans ON issues (integration_id, created_date)
    WHERE incident = 1 AND service_id IS NULL;

-- A production-class deployment arrives: it takes the incidents of its service (or, without
-- one, of its integration) created after it whose current one is earlier.
CREATE TRIGGER dora_deployments_blame_insert AFTER INSERT ON dora_deployments
WHEN NEW.production = 1
BEGIN
    UPDATE issues SET blamed_dora_id = NEW.id, blamed_at = NEW.finished_at
    WHERE incident = 1 AND service_id = NEW.service_id AND created_date > NEW.finished_at
      AND deployment_id IS NULL AND ingested_deployment_id IS NULL
      AND (blamed_at IS NULL OR blamed_at < NEW.finished_at
           OR (blamed_at = NEW.finished_at AND blamed_dora_id < NEW.id));
    UPDATE issues SET blamed_dora_id = NEW.id, blamed_at = NEW.finished_at
    WHERE incident = 1 AND service_id IS NULL AND integration_id = NEW.integration_id
      AND created_date > NEW.finished_at
      AND deployment_id IS NULL AND ingested_deployment_id IS NULL
      AND (blamed_at IS NULL OR blamed_at < NEW.finished_at
           OR (blamed_at = NEW.finished_at AND blamed_dora_id < NEW.id));
END;

-- One goes (no longer a success): its incidents go to the next latest one.
CREATE TRIGGER dora_deployments_blame_delete AFTER DELETE ON dora_deployments
WHEN OLD.production = 1
BEGIN
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.service_id = issues.service_id AND e.production = 1
          AND e.finished_at < issues.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE blamed_dora_id = OLD.id AND service_id IS NOT NULL;
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.integration_id = issues.integration_id AND e.production = 1
          AND e.finished_at < issues.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE blamed_dora_id = OLD.id AND service_id IS NULL;
END;

-- Its service changes (the catalog re-linked it): its old service's incidents go to their
-- next latest one, its new service's incidents after it may come to it.
CREATE TRIGGER dora_deployments_blame_move AFTER UPDATE OF service_id ON dora_deployments
WHEN NEW.production = 1 AND OLD.service_id IS NOT NEW.service_id
BEGIN
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.service_id = issues.service_id AND e.production = 1
          AND e.finished_at < issues.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE blamed_dora_id = NEW.id AND service_id IS NOT NULL;
    UPDATE issues SET blamed_dora_id = NEW.id, blamed_at = NEW.finished_at
    WHERE incident = 1 AND service_id = NEW.service_id AND created_date > NEW.finished_at
      AND deployment_id IS NULL AND ingested_deployment_id IS NULL
      AND (blamed_at IS NULL OR blamed_at < NEW.finished_at
           OR (blamed_at = NEW.finished_at AND blamed_dora_id < NEW.id));
END;

-- An incident is written: its own attribution, from scratch.
CREATE TRIGGER issues_blame_insert AFTER INSERT ON issues
BEGIN
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.service_id = NEW.service_id AND e.production = 1
          AND e.finished_at < NEW.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE id = NEW.id AND NEW.incident = 1 AND NEW.deployment_id IS NULL
      AND NEW.ingested_deployment_id IS NULL AND NEW.service_id IS NOT NULL;
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.integration_id = NEW.integration_id AND e.production = 1
          AND e.finished_at < NEW.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE id = NEW.id AND NEW.incident = 1 AND NEW.deployment_id IS NULL
      AND NEW.ingested_deployment_id IS NULL AND NEW.service_id IS NULL;
END;

CREATE TRIGGER issues_blame_update
AFTER UPDATE OF incident, service_id, integration_id, created_date, deployment_id,
    ingested_deployment_id ON issues
BEGIN
    UPDATE issues SET blamed_dora_id = NULL, blamed_at = NULL
    WHERE id = NEW.id AND blamed_dora_id IS NOT NULL;
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.service_id = NEW.service_id AND e.production = 1
          AND e.finished_at < NEW.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE id = NEW.id AND NEW.incident = 1 AND NEW.deployment_id IS NULL
      AND NEW.ingested_deployment_id IS NULL AND NEW.service_id IS NOT NULL;
    UPDATE issues SET (blamed_dora_id, blamed_at) = (
        SELECT e.id, e.finished_at FROM dora_deployments e
        WHERE e.integration_id = NEW.integration_id AND e.production = 1
          AND e.finished_at < NEW.created_date
        ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
    WHERE id = NEW.id AND NEW.incident = 1 AND NEW.deployment_id IS NULL
      AND NEW.ingested_deployment_id IS NULL AND NEW.service_id IS NULL;
END;
