-- DORA change data and incidents of ferry's own API (issue 4). Keep in step with
-- migrations/postgres/0006_dora.sql.

-- Successful deployments as DORA sees them, one row per deployment whatever its source:
-- API deployments from their first `success` status, ingested ones with result SUCCESS.
-- `production`: the API deployment's flag, or an ingested environment named production/prod/prd
-- (further names come from the configuration at query time). `pending` = 1 while the new
-- commits still have to be read from a git mirror (done right after the commit; a restart
-- finishes what a crash left).
CREATE TABLE dora_deployments (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    api_deployment_id      INTEGER UNIQUE REFERENCES deployments(id) ON DELETE CASCADE,
    ingested_deployment_id INTEGER UNIQUE REFERENCES ingested_deployments(id) ON DELETE CASCADE,
    service_id             INTEGER REFERENCES services(id) ON DELETE SET NULL,
    integration_id         INTEGER,
    environment_key        TEXT    NOT NULL,
    production             INTEGER NOT NULL CHECK (production IN (0, 1)),
    finished_at            INTEGER NOT NULL,
    pending                INTEGER NOT NULL DEFAULT 0 CHECK (pending IN (0, 1)),
    CHECK ((api_deployment_id IS NULL) <> (ingested_deployment_id IS NULL))
);
CREATE INDEX dora_deployments_at ON dora_deployments (finished_at, id);
CREATE INDEX dora_deployments_service ON dora_deployments (service_id, finished_at);
CREATE INDEX dora_deployments_integration ON dora_deployments (integration_id, finished_at);
CREATE INDEX dora_deployments_pending ON dora_deployments (pending) WHERE pending = 1;

-- The commit each deployment put on each repository. `repo_key`: 'r:<repo id>' for a
-- registered repository, 'u:<url>' for an unregistered one, 's:<service id>' / 'a:<alias>'
-- for OpsLevel deploys (which name no repository).
CREATE TABLE dora_heads (
    dora_deployment_id INTEGER NOT NULL REFERENCES dora_deployments(id) ON DELETE CASCADE,
    repo_key           TEXT    NOT NULL,
    environment_key    TEXT    NOT NULL,
    sha                TEXT    NOT NULL,
    repo_id            INTEGER,
    finished_at        INTEGER NOT NULL,
    PRIMARY KEY (dora_deployment_id, repo_key)
);
CREATE INDEX dora_heads_order ON dora_heads (repo_key, environment_key, finished_at);

-- Every commit each successful deployment carried (git mirror: prev..sha; else the commits
-- its payload names). A commit's deployment is its earliest carrier, so the answer does not
-- depend on the order deploys arrive in.
CREATE TABLE dora_commits (
    repo_key           TEXT    NOT NULL,
    environment_key    TEXT    NOT NULL,
    sha                TEXT    NOT NULL,
    dora_deployment_id INTEGER NOT NULL REFERENCES dora_deployments(id) ON DELETE CASCADE,
    finished_at        INTEGER NOT NULL,
    authored_at        INTEGER,
    PRIMARY KEY (repo_key, environment_key, sha, dora_deployment_id)
);
CREATE INDEX dora_commits_deployment ON dora_commits (dora_deployment_id);
CREATE INDEX dora_commits_sha ON dora_commits (repo_key, sha);

-- Changes (a pull request when one is known for the commit, else the commit) with the
-- deployment that first shipped them and their start time (NULL when unknown).
-- `change_key`: 'pr:<number>' or 'c:<sha>'.
CREATE TABLE dora_changes (
    repo_key           TEXT    NOT NULL,
    environment_key    TEXT    NOT NULL,
    change_key         TEXT    NOT NULL,
    dora_deployment_id INTEGER NOT NULL REFERENCES dora_deployments(id) ON DELETE CASCADE,
    started_at         INTEGER,
    PRIMARY KEY (repo_key, environment_key, change_key)
);
CREATE INDEX dora_changes_deployment ON dora_changes (dora_deployment_id);

-- Pull requests posted to `POST /api/v1/repos/{owner}/{repo}/pulls`. `started_at`: the
-- earliest author time of its commits (else its creation time).
CREATE TABLE pull_requests (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id          INTEGER NOT NULL REFERENCES repos(id),
    number           INTEGER NOT NULL,
    title            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    merged_at        INTEGER,
    merge_commit_sha TEXT,
    started_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (repo_id, number)
);

-- Which pull request brought a commit (the first one posted that names it). `merge` = 1 for
-- the merge commit, which maps to the PR but does not start it.
CREATE TABLE pull_request_commits (
    repo_id     INTEGER NOT NULL REFERENCES repos(id),
    sha         TEXT    NOT NULL,
    number      INTEGER NOT NULL,
    authored_at INTEGER,
    merge       INTEGER NOT NULL CHECK (merge IN (0, 1)),
    PRIMARY KEY (repo_id, sha)
);
CREATE INDEX pull_request_commits_number ON pull_request_commits (repo_id, number);

-- Incidents of ferry's own API (`POST /api/v1/incidents`) live in `issues` beside DevLake's:
-- without an integration, and with an optional explicit deployment (API or ingested).
-- SQLite cannot drop a NOT NULL, so the table is rebuilt.
CREATE TABLE issues_new (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id         INTEGER REFERENCES integrations(id),
    issue_key              TEXT    NOT NULL,
    title                  TEXT    NOT NULL,
    status                 TEXT    NOT NULL CHECK (status IN ('TODO', 'DONE', 'IN_PROGRESS')),
    original_status        TEXT    NOT NULL,
    issue_type             TEXT,
    incident               INTEGER NOT NULL CHECK (incident IN (0, 1)),
    service_id             INTEGER REFERENCES services(id) ON DELETE SET NULL,
    url                    TEXT,
    description            TEXT,
    priority               TEXT,
    severity               TEXT,
    component              TEXT,
    created_date           INTEGER NOT NULL,
    updated_date           INTEGER,
    resolution_date        INTEGER,
    lead_time_minutes      INTEGER,
    fields                 TEXT    NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    deployment_id          INTEGER REFERENCES deployments(id) ON DELETE SET NULL,
    ingested_deployment_id INTEGER REFERENCES ingested_deployments(id) ON DELETE SET NULL,
    UNIQUE (integration_id, issue_key)
);
INSERT INTO issues_new (id, integration_id, issue_key, title, status, original_status,
    issue_type, incident, service_id, url, description, priority, severity, component,
    created_date, updated_date, resolution_date, lead_time_minutes, fields, created_at,
    updated_at)
SELECT id, integration_id, issue_key, title, status, original_status, issue_type, incident,
    service_id, url, description, priority, severity, component, created_date, updated_date,
    resolution_date, lead_time_minutes, fields, created_at, updated_at
FROM issues;
DROP TABLE issues;
ALTER TABLE issues_new RENAME TO issues;
CREATE INDEX issues_incidents ON issues (incident, created_date, id);
CREATE INDEX issues_service ON issues (service_id, created_date) WHERE incident = 1;
