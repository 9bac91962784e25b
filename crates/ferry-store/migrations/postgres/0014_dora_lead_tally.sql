-- Lead time counted per day, so a report over every service reads a few hundred counts per
-- day instead of every change of its range (ferry_domain::dora::tally). Keep in step with
-- the other engine's 0014.
--
-- Each change with a known start carries its lead time and where it counts: `lead_class`
-- 1 = production-class deployment, 2 = ingested deployment of another environment (production
-- when configured so), 0 = API deployment of another environment; `lead_day` = UTC day
-- number of the deployment's finish; `lead_bucket` = `tally::lead_bucket(lead_secs)` (the
-- CASE below and in `sql/dora.rs` is `tally::lead_bucket_sql`). All four NULL without a start.
ALTER TABLE dora_changes ADD COLUMN lead_class INTEGER;
ALTER TABLE dora_changes ADD COLUMN lead_day BIGINT;
ALTER TABLE dora_changes ADD COLUMN lead_secs BIGINT;
ALTER TABLE dora_changes ADD COLUMN lead_bucket BIGINT;

UPDATE dora_changes
SET lead_class = CASE WHEN d.production = 1 THEN 1
                      WHEN d.ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END,
    lead_day = d.finished_at / 86400,
    lead_secs = d.finished_at - dora_changes.started_at
FROM dora_deployments AS d
WHERE d.id = dora_changes.dora_deployment_id AND dora_changes.started_at IS NOT NULL;
UPDATE dora_changes
SET lead_bucket = CASE WHEN lead_secs < 0 THEN -1 WHEN lead_secs < 3600 THEN lead_secs / 120 WHEN lead_secs < 86400 THEN 30 + (lead_secs - 3600) / 1800 WHEN lead_secs < 604800 THEN 76 + (lead_secs - 86400) / 7200 WHEN lead_secs < 5184000 THEN 148 + (lead_secs - 604800) / 43200 ELSE 254 + (lead_secs - 5184000) / 172800 END
WHERE lead_secs IS NOT NULL;

-- The median's bucket of a tile: its values in order, from the index alone.
CREATE INDEX dora_changes_lead
    ON dora_changes (lead_bucket, lead_day, lead_class, environment_key, lead_secs)
    WHERE lead_bucket IS NOT NULL;

-- The counts: changes per (finish day, class, environment, bucket).
CREATE TABLE dora_lead_days (
    lead_day        BIGINT  NOT NULL,
    lead_class      INTEGER NOT NULL,
    environment_key TEXT    NOT NULL,
    lead_bucket     BIGINT  NOT NULL,
    n               BIGINT  NOT NULL,
    PRIMARY KEY (lead_day, lead_class, environment_key, lead_bucket)
);
INSERT INTO dora_lead_days (lead_day, lead_class, environment_key, lead_bucket, n)
SELECT lead_day, lead_class, environment_key, lead_bucket, COUNT(*) FROM dora_changes
WHERE lead_bucket IS NOT NULL
GROUP BY lead_day, lead_class, environment_key, lead_bucket;

-- Concurrent transactions (different repositories) write changes of the same days in any
-- order; updating the count rows directly would lock them in different orders and deadlock.
-- So the trigger only appends ±1 rows here (no key, no conflict); the DORA background task
-- folds them into `dora_lead_days` under one advisory lock, and a report reads both
-- (`sql/dora.rs`, `fold_counts`, `sum_counts`).
CREATE TABLE dora_lead_log (
    lead_day        BIGINT  NOT NULL,
    lead_class      INTEGER NOT NULL,
    environment_key TEXT    NOT NULL,
    lead_bucket     BIGINT  NOT NULL,
    delta           BIGINT  NOT NULL
);

CREATE FUNCTION dora_changes_lead() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.lead_bucket IS NOT NULL THEN
        INSERT INTO dora_lead_log (lead_day, lead_class, environment_key, lead_bucket, delta)
        VALUES (OLD.lead_day, OLD.lead_class, OLD.environment_key, OLD.lead_bucket, -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.lead_bucket IS NOT NULL THEN
        INSERT INTO dora_lead_log (lead_day, lead_class, environment_key, lead_bucket, delta)
        VALUES (NEW.lead_day, NEW.lead_class, NEW.environment_key, NEW.lead_bucket, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER dora_changes_lead_insert AFTER INSERT ON dora_changes
FOR EACH ROW WHEN (NEW.lead_bucket IS NOT NULL) EXECUTE FUNCTION dora_changes_lead();
CREATE TRIGGER dora_changes_lead_delete AFTER DELETE ON dora_changes
FOR EACH ROW WHEN (OLD.lead_bucket IS NOT NULL) EXECUTE FUNCTION dora_changes_lead();
CREATE TRIGGER dora_changes_lead_move AFTER UPDATE OF lead_class, lead_day, lead_bucket
ON dora_changes FOR EACH ROW
WHEN ((OLD.lead_bucket, OLD.lead_day, OLD.lead_class)
      IS DISTINCT FROM (NEW.lead_bucket, NEW.lead_day, NEW.lead_class))
EXECUTE FUNCTION dora_changes_lead();
