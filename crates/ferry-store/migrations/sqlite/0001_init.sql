-- ferry schema v1 (SQLite). Times are Unix seconds; booleans are 0/1; states are CHECKed
-- against the enums of ferry-domain. Keep in step with migrations/postgres/0001_init.sql.

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL,
    scopes        TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE repos (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner          TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    full_name_key  TEXT    NOT NULL UNIQUE,
    git_url        TEXT,
    default_branch TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

CREATE TABLE deployments (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id                INTEGER NOT NULL REFERENCES repos(id),
    source                 TEXT    NOT NULL CHECK (source IN ('api')),
    sha                    TEXT    NOT NULL,
    ref                    TEXT    NOT NULL,
    task                   TEXT    NOT NULL,
    payload                TEXT    NOT NULL,
    environment            TEXT    NOT NULL,
    original_environment   TEXT    NOT NULL,
    description            TEXT,
    transient_environment  INTEGER NOT NULL CHECK (transient_environment IN (0, 1)),
    production_environment INTEGER NOT NULL CHECK (production_environment IN (0, 1)),
    creator_id             INTEGER NOT NULL,
    creator_login          TEXT    NOT NULL,
    creator_bot            INTEGER NOT NULL CHECK (creator_bot IN (0, 1)),
    latest_state           TEXT CHECK (latest_state IN
        ('error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success')),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX deployments_repo ON deployments (repo_id, id);
CREATE INDEX deployments_repo_env ON deployments (repo_id, environment, id);
CREATE INDEX deployments_repo_sha ON deployments (repo_id, sha, id);
CREATE INDEX deployments_repo_ref ON deployments (repo_id, ref, id);
CREATE INDEX deployments_env ON deployments (environment, id);

CREATE TABLE deployment_statuses (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id   INTEGER NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    state           TEXT    NOT NULL CHECK (state IN
        ('error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success')),
    description     TEXT    NOT NULL,
    environment     TEXT    NOT NULL,
    target_url      TEXT    NOT NULL,
    log_url         TEXT    NOT NULL,
    environment_url TEXT    NOT NULL,
    creator_id      INTEGER NOT NULL,
    creator_login   TEXT    NOT NULL,
    creator_bot     INTEGER NOT NULL CHECK (creator_bot IN (0, 1)),
    created_at      INTEGER NOT NULL
);
CREATE INDEX deployment_statuses_deployment ON deployment_statuses (deployment_id, id);

CREATE TABLE environments (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id             INTEGER NOT NULL REFERENCES repos(id),
    name                TEXT    NOT NULL,
    wait_timer          INTEGER NOT NULL DEFAULT 0,
    prevent_self_review INTEGER NOT NULL DEFAULT 0 CHECK (prevent_self_review IN (0, 1)),
    reviewers           TEXT    NOT NULL DEFAULT '[]',
    branch_policy       TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (repo_id, name)
);

CREATE TABLE commit_statuses (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id       INTEGER NOT NULL REFERENCES repos(id),
    sha           TEXT    NOT NULL,
    context       TEXT    NOT NULL,
    context_key   TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('error', 'failure', 'pending', 'success')),
    target_url    TEXT,
    description   TEXT,
    creator_id    INTEGER NOT NULL,
    creator_login TEXT    NOT NULL,
    creator_bot   INTEGER NOT NULL CHECK (creator_bot IN (0, 1)),
    created_at    INTEGER NOT NULL
);
CREATE INDEX commit_statuses_sha ON commit_statuses (repo_id, sha, context_key, id);
