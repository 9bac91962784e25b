-- Deploy and incident ingestion (issue 3). Keep in step with migrations/postgres/0003_ingestion.sql.
--
-- Ingested deploys live in their own table, not in `deployments`: they may have no repository
-- (an OpsLevel deploy names a service alias, not a repository), have none of the GitHub
-- columns (ref, task, payload, creator, statuses), and must not feed `deployment_counts` or
-- create environment resources of a repository. `GET /api/v1/deployments` lists both tables
-- as one sequence (docs/ARCHITECTURE.md, "Ingested deploys").

-- An OpsLevel endpoint or a DevLake connection. `id` is the DevLake connection id.
-- `secret_hash`: SHA-256 (hex) of the OpsLevel uuid (lower-case) or of the DevLake key;
-- NULL only for a DevLake connection with auth 'none'. Deleting revokes (history stays).
CREATE TABLE integrations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL CHECK (kind IN ('opslevel', 'devlake')),
    name        TEXT    NOT NULL,
    auth        TEXT    CHECK (auth IN ('bearer', 'basic', 'none')),
    secret_hash TEXT    UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    CHECK ((kind = 'devlake') = (auth IS NOT NULL))
);

CREATE TABLE services (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    name_key   TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- An alias belongs to at most one service; matched by `alias_key` (lower-cased, trimmed).
CREATE TABLE service_aliases (
    alias_key  TEXT    PRIMARY KEY,
    alias      TEXT    NOT NULL,
    service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE
);
CREATE INDEX service_aliases_service ON service_aliases (service_id);

CREATE TABLE service_repos (
    service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    repo_id    INTEGER NOT NULL REFERENCES repos(id),
    PRIMARY KEY (service_id, repo_id)
);
CREATE INDEX service_repos_repo ON service_repos (repo_id);

-- Aliases deploys arrived with that no service has. Dismissed ones stay dismissed.
CREATE TABLE service_suggestions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    alias_key      TEXT    NOT NULL UNIQUE,
    alias          TEXT    NOT NULL,
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    deploy_count   INTEGER NOT NULL,
    dismissed      INTEGER NOT NULL DEFAULT 0 CHECK (dismissed IN (0, 1)),
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL
);

CREATE TABLE ingested_deployments (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id    INTEGER NOT NULL REFERENCES integrations(id),
    source            TEXT    NOT NULL CHECK (source IN ('opslevel', 'devlake')),
    -- OpsLevel `dedup_id`, or DevLake's identity (`pipeline_id`, `id`, or repo+sha); NULL = none.
    external_key      TEXT,
    service_id        INTEGER REFERENCES services(id) ON DELETE SET NULL,
    service_alias     TEXT,
    service_alias_key TEXT,
    deploy_number     TEXT,
    environment       TEXT    NOT NULL,
    name              TEXT,
    description       TEXT,
    result            TEXT    NOT NULL CHECK (result IN ('SUCCESS', 'FAILURE', 'ABORT', 'MANUAL')),
    deployer_name     TEXT,
    deployer_email    TEXT,
    deployer_id       TEXT,
    deploy_url        TEXT,
    started_at        INTEGER NOT NULL,
    finished_at       INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (integration_id, external_key)
);
CREATE INDEX ingested_deployments_at ON ingested_deployments (finished_at, id);
CREATE INDEX ingested_deployments_service ON ingested_deployments (service_id, finished_at);
CREATE INDEX ingested_deployments_alias ON ingested_deployments (service_alias_key)
    WHERE service_id IS NULL;

-- The commits of an ingested deploy (one for OpsLevel, several for DevLake's
-- `deploymentCommits`); `repo_id` is the registered repository the URL names, if any.
CREATE TABLE ingested_commits (
    deployment_id INTEGER NOT NULL REFERENCES ingested_deployments(id) ON DELETE CASCADE,
    repo_url      TEXT    NOT NULL,
    sha           TEXT    NOT NULL,
    repo_id       INTEGER REFERENCES repos(id),
    ref_name      TEXT,
    message       TEXT,
    name          TEXT,
    authored_at   INTEGER,
    author        TEXT,
    PRIMARY KEY (deployment_id, repo_url, sha)
);
CREATE INDEX ingested_commits_repo ON ingested_commits (repo_id);

-- Generated deploy numbers: `scope` is 's:<service id>' or 'a:<alias key>' for deploys of an
-- alias no service has yet. Incremented in the deploy's transaction (the row lock orders
-- concurrent deploys on PostgreSQL; SQLite has one writer).
CREATE TABLE deploy_counters (
    scope TEXT   PRIMARY KEY,
    n     BIGINT NOT NULL
);

-- Issues posted to DevLake connections; `incident` = type INCIDENT.
CREATE TABLE issues (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id    INTEGER NOT NULL REFERENCES integrations(id),
    issue_key         TEXT    NOT NULL,
    title             TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('TODO', 'DONE', 'IN_PROGRESS')),
    original_status   TEXT    NOT NULL,
    issue_type        TEXT,
    incident          INTEGER NOT NULL CHECK (incident IN (0, 1)),
    service_id        INTEGER REFERENCES services(id) ON DELETE SET NULL,
    url               TEXT,
    description       TEXT,
    priority          TEXT,
    severity          TEXT,
    component         TEXT,
    created_date      INTEGER NOT NULL,
    updated_date      INTEGER,
    resolution_date   INTEGER,
    lead_time_minutes INTEGER,
    fields            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (integration_id, issue_key)
);
CREATE INDEX issues_incidents ON issues (incident, created_date, id);

-- `GET /api/v1/deployments` orders API and ingested deploys by time.
CREATE INDEX deployments_created ON deployments (created_at, id);
