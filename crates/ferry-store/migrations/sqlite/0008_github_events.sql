-- GitHub integration and events (issue 5). Times in this migration are Unix milliseconds:
-- delivery scheduling needs them. Keep in step with migrations/postgres/0008_github_events.sql.

-- The repository's inbound webhook secret. Kept in clear: an HMAC needs the key itself.
ALTER TABLE repos ADD COLUMN github_webhook_secret TEXT;

-- Outbound subscriptions. `events` is a comma-framed list (',deployment,deployment_status,')
-- so one LIKE picks the subscribers of an event; `all_repos` = 0 means "those in webhook_repos".
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    url         TEXT    NOT NULL,
    secret      TEXT    NOT NULL,
    events      TEXT    NOT NULL,
    all_repos   INTEGER NOT NULL CHECK (all_repos IN (0, 1)),
    active      INTEGER NOT NULL CHECK (active IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE webhook_repos (
    webhook_id  INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    repo_id     INTEGER NOT NULL REFERENCES repos(id),
    PRIMARY KEY (webhook_id, repo_id)
);

-- The outbox: one row per (event, subscription), written in the transaction that made the
-- event. `state`: pending → sending (claimed, leased until lease_until) → delivered, or back to
-- pending with a later next_attempt_at, or dead after the last attempt.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL,
    guid             TEXT    NOT NULL,
    event            TEXT    NOT NULL CHECK (event IN ('ping', 'deployment', 'deployment_status')),
    repo_id          INTEGER,
    deployment_id    INTEGER,
    status_id        INTEGER,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'sending', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    round_attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    last_status_code INTEGER,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, deployment_id, id)
    WHERE state IN ('pending', 'sending');
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id  INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    status_code  INTEGER,
    duration_ms  INTEGER NOT NULL,
    error        TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- Inbound GitHub deliveries, one per X-GitHub-Delivery: the key of idempotency.
CREATE TABLE github_deliveries (
    guid         TEXT    PRIMARY KEY,
    event        TEXT    NOT NULL,
    action       TEXT,
    repository   TEXT,
    outcome      TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX github_deliveries_received ON github_deliveries (received_at);

-- Auto-deploys decided from .ferry.yml: at most one per (repository, environment, sha), which
-- is what makes "never doubled" hold across redeliveries, pushes and merges of one commit.
CREATE TABLE auto_deploys (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id           INTEGER NOT NULL REFERENCES repos(id),
    environment       TEXT    NOT NULL,
    sha               TEXT    NOT NULL,
    ref               TEXT    NOT NULL,
    trigger           TEXT    NOT NULL CHECK (trigger IN ('merge', 'push', 'tag', 'pull_request')),
    required_contexts TEXT,
    production        INTEGER NOT NULL CHECK (production IN (0, 1)),
    state             TEXT    NOT NULL CHECK (state IN ('waiting', 'created', 'failed')),
    deployment_id     INTEGER,
    detail            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    UNIQUE (repo_id, environment, sha)
);
CREATE INDEX auto_deploys_waiting ON auto_deploys (repo_id, sha) WHERE state = 'waiting';
