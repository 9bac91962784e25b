-- Successful deployments counted per day, so a report over every service reads one count per
-- day and environment instead of every deployment of its range. Keep in step with the other
-- engine's 0015. `class` as `dora_changes.lead_class` (0014): 1 = production-class,
-- 2 = ingested of another environment, 0 = API of another environment.
CREATE TABLE dora_deploy_days (
    day             BIGINT  NOT NULL,
    class           INTEGER NOT NULL,
    environment_key TEXT    NOT NULL,
    n               BIGINT  NOT NULL,
    PRIMARY KEY (day, class, environment_key)
);
INSERT INTO dora_deploy_days (day, class, environment_key, n)
SELECT finished_at / 86400,
       CASE WHEN production = 1 THEN 1 WHEN ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END,
       environment_key, COUNT(*)
FROM dora_deployments GROUP BY 1, 2, 3;

-- As for the lead-time counts (0014): the trigger appends ±1 rows, folded into the counts
-- by one folder at a time (`sql/dora.rs`, `fold_counts`), so concurrent writers never wait
-- on one another's count rows.
CREATE TABLE dora_deploy_log (
    day             BIGINT  NOT NULL,
    class           INTEGER NOT NULL,
    environment_key TEXT    NOT NULL,
    delta           BIGINT  NOT NULL
);

-- A row's finish, class and environment never change (only its service and walk mark do).
CREATE FUNCTION dora_deployments_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO dora_deploy_log (day, class, environment_key, delta)
        VALUES (OLD.finished_at / 86400,
                CASE WHEN OLD.production = 1 THEN 1
                     WHEN OLD.ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END,
                OLD.environment_key, -1);
    ELSE
        INSERT INTO dora_deploy_log (day, class, environment_key, delta)
        VALUES (NEW.finished_at / 86400,
                CASE WHEN NEW.production = 1 THEN 1
                     WHEN NEW.ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END,
                NEW.environment_key, 1);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER dora_deployments_day_insert AFTER INSERT ON dora_deployments
FOR EACH ROW EXECUTE FUNCTION dora_deployments_day();
CREATE TRIGGER dora_deployments_day_delete AFTER DELETE ON dora_deployments
FOR EACH ROW EXECUTE FUNCTION dora_deployments_day();

-- A report over every service attributes each incident to the latest production-class
-- deployment of its service before it (ties to the larger id): with `production` before
-- `finished_at` and the id right after it, that is one backward step in this index.
-- Reports of one service read it the same way (it still holds what they select).
DROP INDEX dora_deployments_service;
CREATE INDEX dora_deployments_service
    ON dora_deployments (service_id, production, finished_at, id, integration_id);
