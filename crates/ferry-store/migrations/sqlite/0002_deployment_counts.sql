-- Exact deployment counts per (repository, environment): a listing's total (the Link header's
-- `last`) and the delete rule's "only deployment" check read ≤ 16 rows instead of scanning
-- index entries. Spread over 16 slots (id % 16) so concurrent PostgreSQL writers rarely wait
-- on one counter row; both schemas share the layout.
CREATE TABLE deployment_counts (
    repo_id     INTEGER NOT NULL REFERENCES repos(id),
    environment TEXT    NOT NULL,
    slot        INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (repo_id, environment, slot)
);
INSERT INTO deployment_counts (repo_id, environment, slot, n)
SELECT repo_id, environment, id % 16, COUNT(*) FROM deployments
GROUP BY repo_id, environment, id % 16;

-- Kept by triggers, inside the statement that changes `deployments`, whatever the write path.
-- The insert trigger also creates the environment resource (decision D4).
CREATE TRIGGER deployments_counted_insert AFTER INSERT ON deployments BEGIN
    INSERT INTO deployment_counts (repo_id, environment, slot, n)
    VALUES (NEW.repo_id, NEW.environment, NEW.id % 16, 1)
    ON CONFLICT (repo_id, environment, slot) DO UPDATE SET n = n + 1;
    INSERT INTO environments (repo_id, name, created_at, updated_at)
    VALUES (NEW.repo_id, NEW.environment, NEW.created_at, NEW.created_at)
    ON CONFLICT (repo_id, name) DO NOTHING;
END;

CREATE TRIGGER deployments_counted_delete AFTER DELETE ON deployments BEGIN
    UPDATE deployment_counts SET n = n - 1
    WHERE repo_id = OLD.repo_id AND environment = OLD.environment AND slot = OLD.id % 16;
END;

CREATE TRIGGER deployments_counted_move AFTER UPDATE OF environment ON deployments
WHEN OLD.environment <> NEW.environment BEGIN
    UPDATE deployment_counts SET n = n - 1
    WHERE repo_id = OLD.repo_id AND environment = OLD.environment AND slot = OLD.id % 16;
    INSERT INTO deployment_counts (repo_id, environment, slot, n)
    VALUES (NEW.repo_id, NEW.environment, NEW.id % 16, 1)
    ON CONFLICT (repo_id, environment, slot) DO UPDATE SET n = n + 1;
END;
