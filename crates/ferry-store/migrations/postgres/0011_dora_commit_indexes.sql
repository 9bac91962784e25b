-- Recomputing a change (sql/dora.rs, `recompute`) looks up the earliest carrier of a commit
-- and the commit's earliest author time. A sha deployed again and again (redeploys, a
-- pipeline that always names the same commit) must not turn either into a walk over every
-- carrier: both become index seeks. Keep in step with the other engine's 0011.
DROP INDEX dora_commits_sha;
CREATE INDEX dora_commits_sha ON dora_commits (repo_key, sha, authored_at);
CREATE INDEX dora_commits_first
    ON dora_commits (repo_key, environment_key, sha, finished_at, dora_deployment_id);
