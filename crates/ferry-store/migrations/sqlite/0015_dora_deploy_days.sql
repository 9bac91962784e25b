-- Successful deployments counted per day, so a report over every service reads one count per
-- day and environment instead of every deployment of its range. Keep in step with the other
-- engine's 0015. `class` as `dora_changes.lead_class` (0014): 1 = production-class,
-- 2 = ingested of another environment, 0 = API of another environment.
CREATE TABLE dora_deploy_days (
    day             INTEGER NOT NULL,
    class           INTEGER NOT NULL,
    environment_key TEXT    NOT NULL,
    n               INTEGER NOT NULL,
    PRIMARY KEY (day, class, environment_key)
) WITHOUT ROWID;
INSERT INTO dora_deploy_days (day, class, environment_key, n)
SELECT finished_at / 86400,
       CASE WHEN production = 1 THEN 1 WHEN ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END,
       environment_key, COUNT(*)
FROM dora_deployments GROUP BY 1, 2, 3;

-- A row's finish, class and environment never change (only its service and walk mark do).
CREATE TRIGGER dora_deployments_day_insert AFTER INSERT ON dora_deployments
BEGIN
    INSERT INTO dora_deploy_days (day, class, environment_key, n)
    VALUES (NEW.finished_at / 86400,
            CASE WHEN NEW.production = 1 THEN 1
                 WHEN NEW.ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END,
            NEW.environment_key, 1)
    ON CONFLICT (day, class, environment_key) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER dora_deployments_day_delete AFTER DELETE ON dora_deployments
BEGIN
    UPDATE dora_deploy_days SET n = n - 1
    WHERE day = OLD.finished_at / 86400
      AND class = CASE WHEN OLD.production = 1 THEN 1
                       WHEN OLD.ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END
      AND environment_key = OLD.environment_key;
END;

-- A report over every service attributes each incident to the latest production-class
-- deployment of its service before it (ties to the larger id): with `production` before
-- `finished_at` and the id right after it, that is one backward step in this index.
-- Reports of one service read it the same way (it still holds what they select).
DROP INDEX dora_deployments_service;
CREATE INDEX dora_deployments_service
    ON dora_deployments (service_id, production, finished_at, id, integration_id);
