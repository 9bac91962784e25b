-- The benchmark dataset of bench/run: one repository `o/r` holding :ROWS deployments.
-- Written once for SQLite and PostgreSQL (bench/gen-dataset substitutes the :NAMES and the few
-- dialect words marked {{…}}); both engines get exactly the same rows.
--
-- Fully deterministic: there is no random source, every column is a function of the row
-- number i (1 … ROWS), so the "seed" is the formula below and two runs give identical data.
-- Integers stay below 2^53 on purpose: SQLite turns an overflowing integer product into a REAL.
--
--   h1 = (i * 2654435761) mod 2^32       environment bucket (h1 mod 100):
--                                          0–24 production, 25–54 staging (30 %),
--                                          55–74 qa, 75–99 review-N with N = 1 + (i mod 200)
--   h2 = (i * 2246822519) mod 2^32       state bucket (h2 mod 20): 0 failure, 1 error,
--                                          2 NULL (no status yet), 3–9 success, 10–19 inactive
--   c  = (i + 3) / 4                     commit number: each commit is deployed about 4 times
--   sha = 5 × 8 hex digits of (c * Pk + k) mod 2^32, Pk the xxHash primes: 40 lowercase hex,
--         unique per commit (odd multipliers are bijections mod 2^32)
--   ref = 'main' for 70 % (h2 mod 10 < 7), else tag 'v1.<c / 100>'
--   creator_id = 1 + (i mod 25), login 'user<id>', id 25 is the bot 'deploy-bot'
--   created_at = 1700000000 + i * 63072000 / ROWS  (2023-11-14 … 2025-11-13, ascending with id)
--   updated_at = created_at + 60
--   review-N environments are transient, production is production_environment.
--
-- The repository row (id 1) points at the real git repository of the run (:GIT_URL).

INSERT INTO repos (id, owner, name, full_name_key, git_url, default_branch, created_at, updated_at)
VALUES (1, 'o', 'r', 'o/r', :GIT_URL, 'main', 1700000000, 1700000000);

INSERT INTO deployments (id, repo_id, source, sha, ref, task, payload, environment,
    original_environment, description, transient_environment, production_environment,
    creator_id, creator_login, creator_bot, latest_state, created_at, updated_at)
SELECT i, 1, 'api', sha, ref, 'deploy', '{}', env, env, '',
       CASE WHEN env LIKE 'review-%' THEN 1 ELSE 0 END,
       CASE WHEN env = 'production' THEN 1 ELSE 0 END,
       1 + (i % 25),
       CASE WHEN i % 25 = 24 THEN 'deploy-bot' ELSE 'user' || (1 + (i % 25)) END,
       CASE WHEN i % 25 = 24 THEN 1 ELSE 0 END,
       CASE WHEN h2 % 20 = 0 THEN 'failure'
            WHEN h2 % 20 = 1 THEN 'error'
            WHEN h2 % 20 = 2 THEN NULL
            WHEN h2 % 20 < 10 THEN 'success'
            ELSE 'inactive' END,
       1700000000 + i * 63072000 / :ROWS,
       1700000000 + i * 63072000 / :ROWS + 60
FROM (
    SELECT i, h2,
           CASE WHEN h1 % 100 < 25 THEN 'production'
                WHEN h1 % 100 < 55 THEN 'staging'
                WHEN h1 % 100 < 75 THEN 'qa'
                ELSE 'review-' || (1 + (i % 200)) END AS env,
           CASE WHEN h2 % 10 < 7 THEN 'main' ELSE 'v1.' || (c / 100) END AS ref,
           {{HEX8}}(w1) || {{HEX8}}(w2) || {{HEX8}}(w3) || {{HEX8}}(w4) || {{HEX8}}(w5) AS sha
    FROM (
        SELECT i, (i * 2654435761) % 4294967296 AS h1, (i * 2246822519) % 4294967296 AS h2,
               (i + 3) / 4 AS c,
               (((i + 3) / 4) * 2654435761 + 1) % 4294967296 AS w1,
               (((i + 3) / 4) * 2246822519 + 2) % 4294967296 AS w2,
               (((i + 3) / 4) * 3266489917 + 3) % 4294967296 AS w3,
               (((i + 3) / 4) * 668265263 + 4) % 4294967296 AS w4,
               (((i + 3) / 4) * 374761393 + 5) % 4294967296 AS w5
        FROM {{SERIES}}
    ) AS n
) AS d;

-- One environment resource per environment name used (ferry creates it with the first deploy;
-- a schema may already have created them by trigger).
INSERT INTO environments (repo_id, name, created_at, updated_at)
SELECT 1, environment, MIN(created_at), MIN(created_at)
FROM deployments AS d
WHERE repo_id = 1
  AND NOT EXISTS (SELECT 1 FROM environments AS e WHERE e.repo_id = 1 AND e.name = d.environment)
GROUP BY environment ORDER BY environment;
