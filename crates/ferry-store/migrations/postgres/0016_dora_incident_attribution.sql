-- Each incident's attribution (dora.md §3, rule 2) stored with it, so a report over every
-- service reads it instead of looking up each incident's deployment: `blamed_dora_id` is the
-- latest production-class (`production = 1`) `dora_deployments` row of the incident's service
-- — of its integration when it has no service — that finished strictly before the incident
-- was created, ties to the larger id; `blamed_at` its finish. Kept for incidents that name no
-- deployment (those are attributed to the one they name), NULL otherwise or when there is
-- none. Kept by the triggers below, whatever the write path. Keep in step with the other
-- engine's 0016 and with `ferry_domain::dora`'s attribution.
ALTER TABLE issues ADD COLUMN blamed_dora_id BIGINT;
ALTER TABLE issues ADD COLUMN blamed_at BIGINT;

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

-- A production-class deployment arrives (it takes the incidents of its service, or without
-- one of its integration, created after it whose current one is earlier), goes (its
-- incidents go to the next latest one), or moves to another service (both).
CREATE FUNCTION dora_deployments_blame() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE issues i SET (blamed_dora_id, blamed_at) = (
            SELECT e.id, e.finished_at FROM dora_deployments e
            WHERE e.service_id = i.service_id AND e.production = 1
              AND e.finished_at < i.created_date
            ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
        WHERE i.blamed_dora_id = OLD.id AND i.service_id IS NOT NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        UPDATE issues i SET (blamed_dora_id, blamed_at) = (
            SELECT e.id, e.finished_at FROM dora_deployments e
            WHERE e.integration_id = i.integration_id AND e.production = 1
              AND e.finished_at < i.created_date
            ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
        WHERE i.blamed_dora_id = OLD.id AND i.service_id IS NULL;
        RETURN NULL;
    END IF;
    UPDATE issues SET blamed_dora_id = NEW.id, blamed_at = NEW.finished_at
    WHERE incident = 1 AND service_id = NEW.service_id AND created_date > NEW.finished_at
      AND deployment_id IS NULL AND ingested_deployment_id IS NULL
      AND (blamed_at IS NULL OR blamed_at < NEW.finished_at
           OR (blamed_at = NEW.finished_at AND blamed_dora_id < NEW.id));
    IF TG_OP = 'INSERT' THEN
        UPDATE issues SET blamed_dora_id = NEW.id, blamed_at = NEW.finished_at
        WHERE incident = 1 AND service_id IS NULL AND integration_id = NEW.integration_id
          AND created_date > NEW.finished_at
          AND deployment_id IS NULL AND ingested_deployment_id IS NULL
          AND (blamed_at IS NULL OR blamed_at < NEW.finished_at
               OR (blamed_at = NEW.finished_at AND blamed_dora_id < NEW.id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER dora_deployments_blame_insert AFTER INSERT ON dora_deployments
FOR EACH ROW WHEN (NEW.production = 1) EXECUTE FUNCTION dora_deployments_blame();
CREATE TRIGGER dora_deployments_blame_delete AFTER DELETE ON dora_deployments
FOR EACH ROW WHEN (OLD.production = 1) EXECUTE FUNCTION dora_deployments_blame();
CREATE TRIGGER dora_deployments_blame_move AFTER UPDATE OF service_id ON dora_deployments
FOR EACH ROW WHEN (NEW.production = 1 AND OLD.service_id IS DISTINCT FROM NEW.service_id)
EXECUTE FUNCTION dora_deployments_blame();

-- An incident is written: its own attribution, from scratch, set on the row itself.
CREATE FUNCTION issues_blame() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b_id BIGINT;
    b_at BIGINT;
BEGIN
    IF NEW.incident = 1 AND NEW.deployment_id IS NULL AND NEW.ingested_deployment_id IS NULL THEN
        IF NEW.service_id IS NOT NULL THEN
            SELECT e.id, e.finished_at INTO b_id, b_at FROM dora_deployments e
            WHERE e.service_id = NEW.service_id AND e.production = 1
              AND e.finished_at < NEW.created_date
            ORDER BY e.finished_at DESC, e.id DESC LIMIT 1;
        ELSIF NEW.integration_id IS NOT NULL THEN
            SELECT e.id, e.finished_at INTO b_id, b_at FROM dora_deployments e
            WHERE e.integration_id = NEW.integration_id AND e.production = 1
              AND e.finished_at < NEW.created_date
            ORDER BY e.finished_at DESC, e.id DESC LIMIT 1;
        END IF;
    END IF;
    NEW.blamed_dora_id := b_id;
    NEW.blamed_at := b_at;
    RETURN NEW;
END;
$$;

CREATE TRIGGER issues_blame_insert BEFORE INSERT ON issues
FOR EACH ROW EXECUTE FUNCTION issues_blame();
CREATE TRIGGER issues_blame_update
BEFORE UPDATE OF incident, service_id, integration_id, created_date, deployment_id,
    ingested_deployment_id ON issues
FOR EACH ROW EXECUTE FUNCTION issues_blame();
