-- Exact deployment counts per (repository, environment): a listing's total (the Link header's
-- `last`) and the delete rule's "only deployment" check read ≤ 16 rows instead of scanning
-- index entries. Spread over 16 slots (id % 16) so concurrent writers rarely wait on one
-- counter row until their commit.
CREATE TABLE deployment_counts (
    repo_id     BIGINT NOT NULL REFERENCES repos(id),
    environment TEXT   NOT NULL,
    slot        BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    PRIMARY KEY (repo_id, environment, slot)
);
INSERT INTO deployment_counts (repo_id, environment, slot, n)
SELECT repo_id, environment, id % 16, COUNT(*) FROM deployments
GROUP BY repo_id, environment, id % 16;

-- Kept by triggers, inside the statement that changes `deployments`, whatever the write path.
-- The insert trigger also creates the environment resource (decision D4).
CREATE FUNCTION deployments_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE deployment_counts SET n = n - 1
        WHERE repo_id = OLD.repo_id AND environment = OLD.environment AND slot = OLD.id % 16;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO deployment_counts (repo_id, environment, slot, n)
        VALUES (NEW.repo_id, NEW.environment, NEW.id % 16, 1)
        ON CONFLICT (repo_id, environment, slot) DO UPDATE SET n = deployment_counts.n + 1;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO environments (repo_id, name, created_at, updated_at)
        VALUES (NEW.repo_id, NEW.environment, NEW.created_at, NEW.created_at)
        ON CONFLICT (repo_id, name) DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER deployments_counted_insert AFTER INSERT ON deployments
FOR EACH ROW EXECUTE FUNCTION deployments_counted();
CREATE TRIGGER deployments_counted_delete AFTER DELETE ON deployments
FOR EACH ROW EXECUTE FUNCTION deployments_counted();
CREATE TRIGGER deployments_counted_move AFTER UPDATE OF environment ON deployments
FOR EACH ROW WHEN (OLD.environment IS DISTINCT FROM NEW.environment)
EXECUTE FUNCTION deployments_counted();
