-- GitHub mirror mode (issue 5): a repository hosted on GitHub gets each deployment and status
-- created there too, through the same outbox as subscriptions (target 'github', webhook_id 0).
-- Keep in step with the other engine's 0009_github_mirror.sql.

ALTER TABLE repos ADD COLUMN github_api_url TEXT;
ALTER TABLE repos ADD COLUMN github_token TEXT;
ALTER TABLE repos ADD COLUMN github_mirror BIGINT NOT NULL DEFAULT 0;

ALTER TABLE webhook_deliveries ADD COLUMN target TEXT NOT NULL DEFAULT 'hook'
    CHECK (target IN ('hook', 'github'));

-- Which GitHub deployment mirrors which ferry deployment, and the statuses ferry created
-- there (so that GitHub's deployment_status event for one of them is not taken back in).
CREATE TABLE github_mirror_deployments (
    deployment_id  BIGINT PRIMARY KEY,
    repo_id        BIGINT NOT NULL,
    github_id      BIGINT NOT NULL
);
CREATE UNIQUE INDEX github_mirror_deployments_github ON github_mirror_deployments (repo_id, github_id);

CREATE TABLE github_mirror_statuses (
    github_id  BIGINT PRIMARY KEY,
    status_id  BIGINT NOT NULL
);
