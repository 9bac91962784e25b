-- The DORA benchmark dataset of bench/dora: :ROWS ingested deploys of 500 services over the
-- 730 days 2024-12-01 … 2026-11-30 (UTC), 5 commits each, and :ROWS / 10 incidents.
-- Written once for SQLite and PostgreSQL (bench/gen-dora-dataset substitutes the :NAMES and
-- the few dialect words marked {{…}}; lines marked {{PG}} are for PostgreSQL only: planner
-- hints, and what its disabled triggers would have kept: counts, attributions); both
-- engines get exactly the same rows.
--
-- The rows are those ferry's own write path records for this history: the store's `ingest`
-- (crates/ferry-store/src/sql/ingest.rs) for each deploy, in id order, with the DORA rows of
-- crates/ferry-store/src/sql/dora.rs (`insert`, `add_commit`, `recompute`), and `upsert_issue`
-- for each incident (DevLake webhook, posted when opened and again when resolved). Only the
-- history is made up; every derived column follows the code's rule, computed here in SQL.
-- One liberty: OpsLevel's HTTP endpoint carries at most one commit and no result; here each
-- deploy is the store-level record (`NewIngestedDeployment`, source 'opslevel', an alias, no
-- repository URL) with 5 commits and a result, which `ingest` accepts and records exactly as
-- below. It is what gives the lead-time data 5 author-dated commits per deploy, which no
-- webhook format carries today (DevLake's commits have no author time).
--
-- Fully deterministic: no random source, every column is a function of the row number
-- (deploy i = 1 … ROWS, commit g = 1 … 5·ROWS, incident j = 1 … ROWS/10). Hashes are
-- multiplications by the xxHash primes mod 2^32 (odd multipliers, so bijections mod 2^32);
-- every product stays far below 2^63, so SQLite never falls back to REAL. Choices read the
-- hash's high 16 bits (h / 65536): its low bits only repeat those of the row number (h mod 4
-- is fixed by i mod 4), which would tie e.g. failures to every fourth deploy.
--   P1 = 2654435761, P2 = 2246822519, P3 = 3266489917, P4 = 668265263, P5 = 374761393
--
-- Catalog
--   integration 1: OpsLevel, secret_hash = SHA-256 of the fixed uuid :OPSLEVEL_UUID (lower-case),
--                  so bench/dora can post to /integrations/deploy/<uuid>;
--   integration 2: DevLake connection, auth 'none';
--   services 1 … 500 named svc-<n>, aliases svc-<n> (the name is always one) and svc-<n>-api.
--
-- Deploy i (ingested_deployments.id = i), sent by OpsLevel with alias svc-<s>-api:
--   s        = 1 + (i - 1) mod 500       round robin: deploy i - 500 is the previous one of s
--   h1..h4   = (i · P1..P4) mod 2^32
--   finished = T0 + ((i - 1) · 63072000 + h3 mod 63072000) / ROWS   ascending with i,
--              T0 = 2024-12-01T00:00:00Z; started_at = finished_at = deployed_at
--   environment: 'staging' when (h1 / 65536) mod 100 < 10 (10 %), else the service's
--              production name: 'prod' (s mod 20 = 0), 'Production' (s mod 20 = 1),
--              'prd' (s mod 20 = 2), 'production' (the others) — all production-class
--   result   = 'FAILURE' when (h2 / 65536) mod 20 = 0 (5 %: no DORA rows), else 'SUCCESS';
--              deployer dev1 … dev50
--   dedup_id 'bench-<i>', deploy_number = generated per service ((i - 1) / 500 + 1),
--   received (created_at) 5 s after it finished.
-- Commit k = 0 … 4 of deploy i (g = 5 · (i - 1) + k + 1), in payload order, k = 0 the head:
--   a fresh commit g, except that 10 % of the deploys ((h4 / 65536) mod 10 = 0, i > 500)
--   list the head of the previous deploy of their service (commit 5 · (i - 501) + 1) as
--   k = 4: that commit then has two carriers and its change belongs to the earlier one (when
--   it was a success of the same environment).
--   sha      = 5 × 8 hex digits of (src · Pk + k) mod 2^32, src the commit's own number:
--              40 lowercase hex, unique per commit
--   authored = finished(deploy of src) − (k_src · 120960 + (src · P5) mod 2^32 mod 120960):
--              0–7 days before its first deploy finished, k = 0 the newest
-- Incident j (issues.id = j, key INC-<j>, DevLake connection 2, type INCIDENT):
--   opened 0–12 h after deploy d = 10 · (j − 1) + 1 + (j · P1 mod 2^32) / 65536 mod 10
--   finished, component = alias svc-<s(d)>-api (so service_id = s(d)); 90 % resolved
--   0–48 h later (status DONE), the others TODO or IN_PROGRESS; severity SEV1–SEV3.
--
-- DORA rows (what `insert` / `add_commit` / `recompute` leave after all the deploys):
--   dora_deployments: one per SUCCESS deploy, ids in arrival order, environment_key =
--     lower(trim(environment)), production = environment_key in (production, prod, prd),
--     pending = 0 (no git mirror: OpsLevel names no repository);
--   dora_heads: repo_key 's:<service id>', the payload's first commit;
--   dora_commits: every commit of every success;
--   dora_changes: change_key 'c:<sha>' per (repo_key, environment_key, sha), deployment = the
--     earliest carrier (finish time, then id), started_at = MIN(authored_at) of that
--     (repo_key, sha) over all carriers.

INSERT INTO integrations (id, kind, name, auth, secret_hash, created_at, revoked_at, dedup_scope,
    strict_deployer)
VALUES (1, 'opslevel', 'bench-opslevel', NULL, :SECRET_HASH, :T0 - 86400, NULL, 'dedup_id', 0),
       (2, 'devlake', 'bench-devlake', 'none', NULL, :T0 - 86400, NULL, 'dedup_id', 0);

INSERT INTO services (id, name, name_key, created_at, updated_at)
SELECT s.i, 'svc-' || s.i, 'svc-' || s.i, :T0 - 86400, :T0 - 86400
FROM {{SERIES}}(500);

INSERT INTO service_aliases (alias_key, alias, service_id)
SELECT 'svc-' || s.i || '-api', 'svc-' || s.i || '-api', s.i FROM {{SERIES}}(500);
INSERT INTO service_aliases (alias_key, alias, service_id)
SELECT 'svc-' || s.i, 'svc-' || s.i, s.i FROM {{SERIES}}(500);

INSERT INTO ingested_deployments (id, integration_id, source, external_key, service_id,
    service_alias, service_alias_key, deploy_number, environment, name, description, result,
    deployer_name, deployer_email, deployer_id, deploy_url, started_at, finished_at, created_at,
    updated_at)
SELECT i, 1, 'opslevel', 'bench-' || i, sv, 'svc-' || sv || '-api', 'svc-' || sv || '-api',
       '' || ((i - 1) / 500 + 1),
       CASE WHEN (h1 / 65536) % 100 < 10 THEN 'staging'
            WHEN sv % 20 = 0 THEN 'prod'
            WHEN sv % 20 = 1 THEN 'Production'
            WHEN sv % 20 = 2 THEN 'prd'
            ELSE 'production' END,
       NULL, 'deploy ' || i,
       CASE WHEN (h2 / 65536) % 20 = 0 THEN 'FAILURE' ELSE 'SUCCESS' END,
       'dev' || (1 + (h2 / 1310720) % 50), 'dev' || (1 + (h2 / 1310720) % 50) || '@example.com',
       NULL,
       'https://ci.example.com/deploys/' || i,
       fin, fin, fin + 5, fin + 5
FROM (
    SELECT i, 1 + (i - 1) % 500 AS sv,
           (i * 2654435761) % 4294967296 AS h1,
           (i * 2246822519) % 4294967296 AS h2,
           :T0 + ((i - 1) * 63072000 + ((i * 3266489917) % 4294967296) % 63072000) / :ROWS AS fin
    FROM (SELECT s.i AS i FROM {{SERIES}}(:ROWS)) AS n
) AS d
ORDER BY i;

-- Deploy numbers were generated per service: each counter ends at its service's deploy count.
INSERT INTO deploy_counters (scope, n)
SELECT 's:' || service_id, COUNT(*) FROM ingested_deployments GROUP BY service_id;

-- Every commit of every deploy, in payload order (scratch table, dropped at the end).
CREATE TEMP TABLE bench_commits (
    g        {{BIGPK}},
    i        BIGINT NOT NULL,
    k        BIGINT NOT NULL,
    src      BIGINT NOT NULL,
    sha      TEXT   NOT NULL,
    authored BIGINT NOT NULL
);
INSERT INTO bench_commits (g, i, k, src, sha, authored)
SELECT g, i, k, src,
       {{HEX8}}(w1) || {{HEX8}}(w2) || {{HEX8}}(w3) || {{HEX8}}(w4) || {{HEX8}}(w5),
       :T0 + ((si - 1) * 63072000 + ((si * 3266489917) % 4294967296) % 63072000) / :ROWS
           - ((src - 1) % 5) * 120960 - ((src * 374761393) % 4294967296) % 120960
FROM (
    SELECT g, i, k, src, (src - 1) / 5 + 1 AS si,
           (src * 2654435761 + 1) % 4294967296 AS w1,
           (src * 2246822519 + 2) % 4294967296 AS w2,
           (src * 3266489917 + 3) % 4294967296 AS w3,
           (src * 668265263 + 4) % 4294967296 AS w4,
           (src * 374761393 + 5) % 4294967296 AS w5
    FROM (
        SELECT g, i, k,
               CASE WHEN k = 4 AND i > 500 AND ((i * 668265263) % 4294967296) / 65536 % 10 = 0
                    THEN 5 * (i - 501) + 1 ELSE g END AS src
        FROM (SELECT s.i AS g, (s.i - 1) / 5 + 1 AS i, (s.i - 1) % 5 AS k
              FROM {{SERIES}}(5 * :ROWS)) AS n
    ) AS a
) AS c
ORDER BY g;
{{PG}}ANALYZE bench_commits;

-- OpsLevel commits name no repository: repo_url '' and no repo_id.
INSERT INTO ingested_commits (deployment_id, repo_url, sha, repo_id, ref_name, message, name,
    authored_at, author)
SELECT i, '', sha, NULL, 'main', 'change ' || src, NULL, authored, 'dev' || (1 + src % 50)
FROM bench_commits ORDER BY g;

INSERT INTO dora_deployments (id, api_deployment_id, ingested_deployment_id, service_id,
    integration_id, environment_key, production, finished_at, pending)
SELECT ROW_NUMBER() OVER (ORDER BY id), NULL, id, service_id, integration_id, env,
       CASE WHEN env IN ('production', 'prod', 'prd') THEN 1 ELSE 0 END, finished_at, 0
FROM (SELECT id, service_id, integration_id, LOWER(TRIM(environment)) AS env, finished_at
      FROM ingested_deployments WHERE result = 'SUCCESS') AS s
ORDER BY id;

-- One head per deployment and repository key: the first commit of the payload (k = 0).
INSERT INTO dora_heads (dora_deployment_id, repo_key, environment_key, sha, repo_id,
    finished_at)
SELECT d.id, 's:' || d.service_id, d.environment_key, c.sha, NULL, d.finished_at
FROM dora_deployments AS d JOIN bench_commits AS c ON c.g = 5 * (d.ingested_deployment_id - 1) + 1
ORDER BY d.id;

INSERT INTO dora_commits (repo_key, environment_key, sha, dora_deployment_id, finished_at,
    authored_at)
SELECT 's:' || d.service_id, d.environment_key, c.sha, d.id, d.finished_at, c.authored
FROM bench_commits AS c JOIN dora_deployments AS d ON d.ingested_deployment_id = c.i
ORDER BY c.g;
{{PG}}ANALYZE dora_commits;

-- `recompute`'s rule, for every key at once: the earliest carrier of the same repository and
-- environment, and the earliest author time of the commit in that repository; with the
-- lead-time columns of migration 0014 (class 1 = production-class, 2 = another ingested
-- environment; bucket = ferry_domain::dora::tally::lead_bucket).
INSERT INTO dora_changes (repo_key, environment_key, change_key, dora_deployment_id, started_at,
    lead_class, lead_day, lead_secs, lead_bucket)
SELECT repo_key, environment_key, change_key, dora_deployment_id, started,
       CASE WHEN environment_key IN ('production', 'prod', 'prd') THEN 1 ELSE 2 END,
       finished_at / 86400, finished_at - started,
       CASE WHEN (finished_at - started) < 0 THEN -1 WHEN (finished_at - started) < 3600 THEN (finished_at - started) / 120
            WHEN (finished_at - started) < 86400 THEN 30 + ((finished_at - started) - 3600) / 1800
            WHEN (finished_at - started) < 604800 THEN 76 + ((finished_at - started) - 86400) / 7200
            WHEN (finished_at - started) < 5184000 THEN 148 + ((finished_at - started) - 604800) / 43200
            ELSE 254 + ((finished_at - started) - 5184000) / 172800 END
FROM (
    SELECT c.repo_key, c.environment_key, 'c:' || c.sha AS change_key, c.dora_deployment_id,
           c.finished_at,
           (SELECT MIN(a.authored_at) FROM dora_commits AS a
            WHERE a.repo_key = c.repo_key AND a.sha = c.sha) AS started
    FROM dora_commits AS c
    WHERE NOT EXISTS (
        SELECT 1 FROM dora_commits AS e
        WHERE e.repo_key = c.repo_key AND e.environment_key = c.environment_key
          AND e.sha = c.sha
          AND (e.finished_at < c.finished_at
               OR (e.finished_at = c.finished_at
                   AND e.dora_deployment_id < c.dora_deployment_id)))
) AS x
ORDER BY dora_deployment_id;
-- SQLite's triggers counted them (and the deployments) into dora_lead_days and
-- dora_deploy_days as they went in; PostgreSQL's are off while loading
-- (session_replication_role), so its counts are made here in one pass.
{{PG}}INSERT INTO dora_lead_days (lead_day, lead_class, environment_key, lead_bucket, n)
{{PG}}SELECT lead_day, lead_class, environment_key, lead_bucket, COUNT(*) FROM dora_changes
{{PG}}WHERE lead_bucket IS NOT NULL GROUP BY lead_day, lead_class, environment_key, lead_bucket;
{{PG}}INSERT INTO dora_deploy_days (day, class, environment_key, n)
{{PG}}SELECT finished_at / 86400, CASE WHEN production = 1 THEN 1 ELSE 2 END, environment_key,
{{PG}}       COUNT(*) FROM dora_deployments GROUP BY 1, 2, 3;

DROP TABLE bench_commits;

-- Incidents, as the DevLake webhook's `upsert_issue` leaves them after the last post:
-- `fields` is that post's body (updated_date = resolution_date, or the opening time while
-- open), created_at the first receipt (30 s after opening), updated_at the last one (30 s
-- after resolving).
INSERT INTO issues (id, integration_id, issue_key, title, status, original_status, issue_type,
    incident, service_id, url, description, priority, severity, component, created_date,
    updated_date, resolution_date, lead_time_minutes, fields, created_at, updated_at,
    deployment_id, ingested_deployment_id)
SELECT j, 2, 'INC-' || j, 'incident ' || j, status, status, 'INCIDENT', 1, sv, NULL, NULL, NULL,
       'SEV' || (1 + (hs / 172800) % 3), 'svc-' || sv || '-api', opened,
       COALESCE(resolved, opened), resolved,
       CASE WHEN resolved IS NULL THEN NULL ELSE (resolved - opened) / 60 END,
       '{"issue_key":"INC-' || j || '","title":"incident ' || j || '","type":"INCIDENT",'
           || '"status":"' || status || '","severity":"SEV' || (1 + (hs / 172800) % 3) || '",'
           || '"component":"svc-' || sv || '-api","created_date":"' || {{ISO}}(opened) || '"'
           || CASE WHEN resolved IS NULL THEN ',"updated_date":"' || {{ISO}}(opened) || '"'
                   ELSE ',"updated_date":"' || {{ISO}}(resolved) || '","resolution_date":"'
                        || {{ISO}}(resolved) || '"' END
           || '}',
       opened + 30, COALESCE(resolved, opened) + 30, NULL, NULL
FROM (
    SELECT j, sv, hs, opened,
           CASE WHEN (hr / 65536) % 10 = 0
                THEN CASE WHEN (hr / 65536) % 20 = 0 THEN 'TODO' ELSE 'IN_PROGRESS' END
                ELSE 'DONE' END AS status,
           CASE WHEN (hr / 65536) % 10 = 0 THEN NULL ELSE opened + hs % 172800 END AS resolved
    FROM (
        SELECT j, 1 + (d - 1) % 500 AS sv,
               (j * 2246822519) % 4294967296 AS hr,
               (j * 3266489917) % 4294967296 AS hs,
               :T0 + ((d - 1) * 63072000 + ((d * 3266489917) % 4294967296) % 63072000) / :ROWS
                   + ((j * 668265263) % 4294967296) % 43200 AS opened
        FROM (SELECT s.i AS j,
                     10 * (s.i - 1) + 1 + ((s.i * 2654435761) % 4294967296) / 65536 % 10 AS d
              FROM {{SERIES}}(:ROWS / 10)) AS n
    ) AS x
) AS y
ORDER BY j;
-- Each incident's stored attribution (migration 0016): SQLite's insert trigger set it as the
-- rows went in; PostgreSQL's triggers are off while loading, so it is set here.
{{PG}}UPDATE issues SET (blamed_dora_id, blamed_at) = (
{{PG}}    SELECT e.id, e.finished_at FROM dora_deployments e
{{PG}}    WHERE e.service_id = issues.service_id AND e.production = 1
{{PG}}      AND e.finished_at < issues.created_date
{{PG}}    ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)
{{PG}}WHERE incident = 1 AND deployment_id IS NULL AND ingested_deployment_id IS NULL
{{PG}}  AND service_id IS NOT NULL;
