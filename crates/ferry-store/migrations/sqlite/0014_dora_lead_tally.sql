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
ALTER TABLE dora_changes ADD COLUMN lead_day INTEGER;
ALTER TABLE dora_changes ADD COLUMN lead_secs INTEGER;
ALTER TABLE dora_changes ADD COLUMN lead_bucket INTEGER;

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

-- The counts: changes per (finish day, class, environment, bucket), kept by the triggers below
-- in the statement that writes the change, whatever the write path. Without rowid: a report
-- scans a range of days, and the counts then sit in the key's own b-tree.
CREATE TABLE dora_lead_days (
    lead_day        INTEGER NOT NULL,
    lead_class      INTEGER NOT NULL,
    environment_key TEXT    NOT NULL,
    lead_bucket     INTEGER NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (lead_day, lead_class, environment_key, lead_bucket)
) WITHOUT ROWID;
INSERT INTO dora_lead_days (lead_day, lead_class, environment_key, lead_bucket, n)
SELECT lead_day, lead_class, environment_key, lead_bucket, COUNT(*) FROM dora_changes
WHERE lead_bucket IS NOT NULL
GROUP BY lead_day, lead_class, environment_key, lead_bucket;

CREATE TRIGGER dora_changes_lead_insert AFTER INSERT ON dora_changes
WHEN NEW.lead_bucket IS NOT NULL
BEGIN
    INSERT INTO dora_lead_days (lead_day, lead_class, environment_key, lead_bucket, n)
    VALUES (NEW.lead_day, NEW.lead_class, NEW.environment_key, NEW.lead_bucket, 1)
    ON CONFLICT (lead_day, lead_class, environment_key, lead_bucket) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER dora_changes_lead_delete AFTER DELETE ON dora_changes
WHEN OLD.lead_bucket IS NOT NULL
BEGIN
    UPDATE dora_lead_days SET n = n - 1
    WHERE lead_day = OLD.lead_day AND lead_class = OLD.lead_class
      AND environment_key = OLD.environment_key AND lead_bucket = OLD.lead_bucket;
END;

CREATE TRIGGER dora_changes_lead_move AFTER UPDATE OF lead_class, lead_day, lead_bucket
ON dora_changes
WHEN OLD.lead_bucket IS NOT NEW.lead_bucket OR OLD.lead_day IS NOT NEW.lead_day
  OR OLD.lead_class IS NOT NEW.lead_class
BEGIN
    UPDATE dora_lead_days SET n = n - 1
    WHERE lead_day = OLD.lead_day AND lead_class = OLD.lead_class
      AND environment_key = OLD.environment_key AND lead_bucket = OLD.lead_bucket;
    INSERT INTO dora_lead_days (lead_day, lead_class, environment_key, lead_bucket, n)
    SELECT NEW.lead_day, NEW.lead_class, NEW.environment_key, NEW.lead_bucket, 1
    WHERE NEW.lead_bucket IS NOT NULL
    ON CONFLICT (lead_day, lead_class, environment_key, lead_bucket) DO UPDATE SET n = n + 1;
END;
