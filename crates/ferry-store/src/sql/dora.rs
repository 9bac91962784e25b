//! DORA change data (spec/dora.md), kept in step with deployments by the writes that make them.
//!
//! Map:
//! - `dora_deployments`: one row per successful deployment, API or ingested, with what a report
//!   filters on (service, environment, production class, finish time). Written by
//!   [`record_api_success`] (first `success` status) and [`record_ingested`] (result SUCCESS),
//!   dropped by [`forget`] (a later failure, or a re-post that is no longer a success).
//! - `dora_heads` / `dora_commits`: the sha each deployment put on each repository and every
//!   commit it carried. Without a git mirror the commits are those the payload names; with one,
//!   the server walks `prev..sha` after the commit ([`DoraStore::pending_dora`]) and records
//!   the walk with [`DoraStore::complete_dora`].
//! - `dora_changes`: each change (a pull request when one is known for the commit, else the
//!   commit) with the earliest deployment that carried it. Recomputed per key by
//!   [`recompute`] whenever a carrier or a pull request appears or goes, so the table never
//!   depends on the order deploys arrive in.
//!
//! The metric rules themselves live in `ferry_domain::dora`; [`DoraStore::dora_facts`] only
//! selects the rows a report needs.

use super::exec::{Exec, Val};
use super::ingest::{bind_all_as, IssueRow, Params, ISSUE_COLS, ISSUE_FROM};
use super::{b, Bind, SqlStore};
use crate::model::*;
use crate::traits::DoraStore;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use ferry_domain::dora::tally;
use ferry_domain::dora::{
    BlamedIncident, ChangeFact, DeployKey, DeploymentFact, IncidentFact, LeadTally, Tallied,
};
use ferry_domain::ingest::{lead_time_minutes, repo_key_from_url, IssueStatus};
use ferry_domain::{IntegrationId, IssueId, RepoId, RepoSlug, ServiceId, Timestamp};
use sqlx::AnyConnection;
use std::sync::LazyLock;

/// Serialises DORA writes per repository on PostgreSQL (SQLite has one writer already).
///
/// A change row can move between deployments of one repository (a late deploy, a walk, a
/// pull request), so two transactions writing change data of the same repository would lock
/// rows in different orders and deadlock. Every DORA write first takes a transaction-scoped
/// advisory lock per repository key it touches, in sorted order; nothing else holds a
/// DORA row before taking them, so writers of one repository queue instead.
async fn lock_repos(c: &mut dyn Exec, repo_keys: &[&str]) -> StoreResult<()> {
    if !c.is_postgres() {
        return Ok(());
    }
    let mut keys: Vec<i64> = repo_keys.iter().map(|k| lock_key(k)).collect();
    keys.sort_unstable();
    keys.dedup();
    for k in keys {
        c.rows("SELECT pg_advisory_xact_lock($1)", &[k.into()])
            .await?;
    }
    Ok(())
}

/// A stable 64-bit key of a repository key (FNV-1a), in a namespace of its own.
fn lock_key(repo_key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "ferry-dora:".bytes().chain(repo_key.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Ingested environments that are production-class without configuration (spec/dora.md).
pub(super) fn is_production_name(environment: &str) -> bool {
    matches!(
        environment.trim().to_lowercase().as_str(),
        "production" | "prod" | "prd"
    )
}

/// One repository a successful deployment touched.
pub(super) struct Head {
    pub repo_key: String,
    pub repo_id: Option<i64>,
    pub sha: String,
    /// Commits the payload names (sha, author time).
    pub named: Vec<(String, Option<i64>)>,
}

/// A successful deployment as DORA records it.
pub(super) struct Success {
    pub api: Option<i64>,
    pub ingested: Option<i64>,
    pub service: Option<i64>,
    pub integration: Option<i64>,
    pub environment: String,
    pub production: bool,
    pub finished_at: i64,
    pub heads: Vec<Head>,
}

/// Which deployment, by its source table.
#[derive(Clone, Copy)]
pub(super) enum Source {
    Api(i64),
    Ingested(i64),
}

impl Source {
    fn column(self) -> (&'static str, i64) {
        match self {
            Source::Api(id) => ("api_deployment_id", id),
            Source::Ingested(id) => ("ingested_deployment_id", id),
        }
    }
}

/// Records the first success of an API deployment (later ones change nothing).
pub(super) async fn record_api_success(
    c: &mut AnyConnection,
    deployment: i64,
    environment: &str,
    production: bool,
    finished_at: i64,
) -> StoreResult<()> {
    let known: Option<i64> =
        sqlx::query_scalar("SELECT id FROM dora_deployments WHERE api_deployment_id = $1")
            .bind(deployment)
            .fetch_optional(&mut *c)
            .await?;
    if known.is_some() {
        return Ok(());
    }
    // The finish time is the first success, even after a failure in between (which
    // forgot the deployment) and a success again.
    let (repo_id, sha, service, first): (i64, String, Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT d.repo_id, d.sha, \
                 (SELECT MIN(sr.service_id) FROM service_repos sr WHERE sr.repo_id = d.repo_id), \
                 (SELECT MIN(s.created_at) FROM deployment_statuses s \
                  WHERE s.deployment_id = d.id AND s.state = 'success') \
             FROM deployments d WHERE d.id = $1",
    )
    .bind(deployment)
    .fetch_one(&mut *c)
    .await?;
    let finished_at = first.map_or(finished_at, |f| f.min(finished_at));
    let success = Success {
        api: Some(deployment),
        ingested: None,
        service,
        integration: None,
        environment: environment.to_owned(),
        production,
        finished_at,
        heads: vec![Head {
            repo_key: format!("r:{repo_id}"),
            repo_id: Some(repo_id),
            named: vec![(sha.clone(), None)],
            sha,
        }],
    };
    insert(c, success).await
}

/// The repository key of an ingested commit: its registered repository, else its URL, else
/// (OpsLevel, which names no repository) the service or alias it deployed.
pub(super) fn ingested_repo_key(
    repo_id: Option<i64>,
    repo_url: &str,
    service: Option<i64>,
    alias_key: Option<&str>,
    integration: i64,
) -> String {
    if let Some(id) = repo_id {
        return format!("r:{id}");
    }
    if !repo_url.trim().is_empty() {
        let url = repo_key_from_url(repo_url).unwrap_or_else(|| repo_url.trim().to_lowercase());
        return format!("u:{url}");
    }
    match (service, alias_key) {
        (Some(s), _) => format!("s:{s}"),
        (None, Some(a)) => format!("a:{a}"),
        (None, None) => format!("i:{integration}"),
    }
}

/// Records (or, for a re-post, replaces) a successful ingested deploy.
pub(super) async fn record_ingested(
    c: &mut dyn Exec,
    success: Success,
    replacing: bool,
) -> StoreResult<()> {
    if replacing {
        if let Some(id) = success.ingested {
            forget(c, Source::Ingested(id)).await?;
        }
    }
    insert(c, success).await
}

async fn insert(c: &mut dyn Exec, mut s: Success) -> StoreResult<()> {
    let keys: Vec<&str> = s.heads.iter().map(|h| h.repo_key.as_str()).collect();
    lock_repos(c, &keys).await?;
    for h in &mut s.heads {
        h.named.sort();
    }
    let environment = s.environment.trim().to_lowercase();
    let mut mirrored = false;
    for h in &s.heads {
        if let Some(repo) = h.repo_id {
            let has = c
                .row(
                    "SELECT id FROM repos WHERE id = $1 AND git_url IS NOT NULL AND git_url <> ''",
                    &[repo.into()],
                )
                .await?;
            mirrored |= has.is_some();
        }
    }
    let id = c
        .opt_int(
            "INSERT INTO dora_deployments (api_deployment_id, ingested_deployment_id, service_id, \
                 integration_id, environment_key, production, finished_at, pending) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[
                s.api.into(),
                s.ingested.into(),
                s.service.into(),
                s.integration.into(),
                (&environment).into(),
                b(s.production).into(),
                s.finished_at.into(),
                b(mirrored).into(),
            ],
        )
        .await?
        .ok_or(StoreError::NotFound)?;
    for h in &s.heads {
        let added = c
            .run(
                "INSERT INTO dora_heads (dora_deployment_id, repo_key, environment_key, sha, \
                     repo_id, finished_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (dora_deployment_id, repo_key) DO NOTHING",
                &[
                    id.into(),
                    (&h.repo_key).into(),
                    (&environment).into(),
                    (&h.sha).into(),
                    h.repo_id.into(),
                    s.finished_at.into(),
                ],
            )
            .await?;
        if added > 0 && mirrored {
            // A deploy that arrives late becomes the `prev` of the next one: walk that again
            // (the first deployment of a repository walked only its own commit).
            c.run(
                "UPDATE dora_deployments SET pending = 1 WHERE id IN (SELECT dora_deployment_id \
                 FROM dora_heads WHERE repo_key = $1 AND environment_key = $2 \
                 AND (finished_at > $3 OR (finished_at = $3 AND dora_deployment_id > $4)))",
                &[
                    (&h.repo_key).into(),
                    (&environment).into(),
                    s.finished_at.into(),
                    id.into(),
                ],
            )
            .await?;
        }
        for (sha, authored) in &h.named {
            add_commit(
                c,
                id,
                &h.repo_key,
                &environment,
                s.finished_at,
                sha,
                *authored,
            )
            .await?;
        }
    }
    Ok(())
}

/// Records that deployment `dora_id` carried `sha`, then recomputes the change it belongs to.
async fn add_commit(
    c: &mut dyn Exec,
    dora_id: i64,
    repo_key: &str,
    environment: &str,
    finished_at: i64,
    sha: &str,
    authored_at: Option<i64>,
) -> StoreResult<()> {
    c.run(
        "INSERT INTO dora_commits (repo_key, environment_key, sha, dora_deployment_id, \
             finished_at, authored_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (repo_key, environment_key, sha, dora_deployment_id) DO UPDATE \
             SET authored_at = COALESCE(dora_commits.authored_at, excluded.authored_at)",
        &[
            repo_key.into(),
            environment.into(),
            sha.into(),
            dora_id.into(),
            finished_at.into(),
            authored_at.into(),
        ],
    )
    .await?;
    let key = change_key(c, repo_key, sha).await?;
    recompute(c, repo_key, environment, &key).await
}

/// A change's key: its pull request when one is known for the commit, else the commit.
enum ChangeKey {
    Pull { repo: i64, number: i64 },
    Commit(String),
}

impl ChangeKey {
    fn text(&self) -> String {
        match self {
            ChangeKey::Pull { number, .. } => format!("pr:{number}"),
            ChangeKey::Commit(sha) => format!("c:{sha}"),
        }
    }
}

fn registered_repo(repo_key: &str) -> Option<i64> {
    repo_key.strip_prefix("r:").and_then(|id| id.parse().ok())
}

async fn change_key(c: &mut dyn Exec, repo_key: &str, sha: &str) -> StoreResult<ChangeKey> {
    if let Some(repo) = registered_repo(repo_key) {
        let number = c
            .opt_int(
                "SELECT number FROM pull_request_commits WHERE repo_id = $1 AND sha = $2",
                &[repo.into(), sha.into()],
            )
            .await?;
        if let Some(number) = number {
            return Ok(ChangeKey::Pull { repo, number });
        }
    }
    Ok(ChangeKey::Commit(sha.to_owned()))
}

/// The upsert of a change from its earliest carrier, `carrier` being a query of one row
/// `(repo_key, environment_key, dora_deployment_id, finished_at, started)` and `$key` the
/// placeholder of the change key. Also sets the lead-time columns the per-day counts are kept
/// from (migration 0014): class, finish day, lead seconds and bucket, NULL without a start.
fn upsert_change(carrier: &str, key: &str) -> String {
    format!(
        "INSERT INTO dora_changes (repo_key, environment_key, change_key, dora_deployment_id, \
             started_at, lead_class, lead_day, lead_secs, lead_bucket) \
         SELECT x.repo_key, x.environment_key, {key}, x.dora_deployment_id, x.started, \
             CASE WHEN x.started IS NULL THEN NULL WHEN d.production = 1 THEN 1 \
                  WHEN d.ingested_deployment_id IS NOT NULL THEN 2 ELSE 0 END, \
             CASE WHEN x.started IS NULL THEN NULL ELSE x.finished_at / 86400 END, \
             x.finished_at - x.started, {bucket} \
         FROM ({carrier}) AS x JOIN dora_deployments d ON d.id = x.dora_deployment_id \
         WHERE 1 = 1 \
         ON CONFLICT (repo_key, environment_key, change_key) DO UPDATE \
         SET dora_deployment_id = excluded.dora_deployment_id, \
             started_at = excluded.started_at, lead_class = excluded.lead_class, \
             lead_day = excluded.lead_day, lead_secs = excluded.lead_secs, \
             lead_bucket = excluded.lead_bucket",
        bucket = tally::lead_bucket_sql("(x.finished_at - x.started)"),
    )
}

/// A commit's change: `$1` repo key, `$2` environment, `$3` sha, `$4` change key.
static UPSERT_CHANGE_OF_COMMIT: LazyLock<String> = LazyLock::new(|| {
    upsert_change(
        "SELECT c.repo_key, c.environment_key, c.dora_deployment_id, c.finished_at, \
             (SELECT MIN(a.authored_at) FROM dora_commits a \
              WHERE a.repo_key = $1 AND a.sha = $3) AS started \
         FROM dora_commits c WHERE c.repo_key = $1 AND c.environment_key = $2 \
             AND c.sha = $3 ORDER BY c.finished_at, c.dora_deployment_id LIMIT 1",
        "$4",
    )
});

/// A pull request's change: `$1` repo key, `$2` environment, `$3` repo id, `$4` number,
/// `$5` change key.
static UPSERT_CHANGE_OF_PULL: LazyLock<String> = LazyLock::new(|| {
    upsert_change(
        "SELECT c.repo_key, c.environment_key, c.dora_deployment_id, c.finished_at, \
             (SELECT pr.started_at FROM pull_requests pr \
              WHERE pr.repo_id = $3 AND pr.number = $4) AS started \
         FROM dora_commits c JOIN pull_request_commits p \
             ON p.repo_id = $3 AND p.number = $4 AND p.sha = c.sha \
         WHERE c.repo_key = $1 AND c.environment_key = $2 \
         ORDER BY c.finished_at, c.dora_deployment_id LIMIT 1",
        "$5",
    )
});

/// Sets the change's deployment to its earliest carrier (finish time, then id) and its start,
/// or removes it when nothing carries it any more. One upsert from the earliest carrier (the
/// case of every deploy that carries a commit); the delete only when that finds none.
async fn recompute(
    c: &mut dyn Exec,
    repo_key: &str,
    environment: &str,
    key: &ChangeKey,
) -> StoreResult<()> {
    let text = key.text();
    let set = match key {
        ChangeKey::Commit(sha) => {
            c.run(
                &UPSERT_CHANGE_OF_COMMIT,
                &[
                    repo_key.into(),
                    environment.into(),
                    sha.into(),
                    (&text).into(),
                ],
            )
            .await?
        }
        ChangeKey::Pull { repo, number } => {
            c.run(
                &UPSERT_CHANGE_OF_PULL,
                &[
                    repo_key.into(),
                    environment.into(),
                    (*repo).into(),
                    (*number).into(),
                    (&text).into(),
                ],
            )
            .await?
        }
    };
    if set == 0 {
        c.run(
            "DELETE FROM dora_changes WHERE repo_key = $1 AND environment_key = $2 \
             AND change_key = $3",
            &[repo_key.into(), environment.into(), (&text).into()],
        )
        .await?;
    }
    Ok(())
}

/// Drops a deployment from DORA (it is no longer a success) and hands its changes to the
/// next carriers.
pub(super) async fn forget(c: &mut dyn Exec, source: Source) -> StoreResult<()> {
    let (column, id) = source.column();
    let dora_id = c
        .opt_int(
            &format!("SELECT id FROM dora_deployments WHERE {column} = $1"),
            &[id.into()],
        )
        .await?;
    let Some(dora_id) = dora_id else {
        return Ok(());
    };
    let heads = c
        .rows(
            "SELECT repo_key FROM dora_heads WHERE dora_deployment_id = $1",
            &[dora_id.into()],
        )
        .await?
        .iter()
        .map(|r| r.text(0))
        .collect::<StoreResult<Vec<String>>>()?;
    lock_repos(c, &heads.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    let carried = c
        .rows(
            "SELECT repo_key, environment_key, sha FROM dora_commits \
             WHERE dora_deployment_id = $1",
            &[dora_id.into()],
        )
        .await?
        .iter()
        .map(|r| Ok((r.text(0)?, r.text(1)?, r.text(2)?)))
        .collect::<StoreResult<Vec<(String, String, String)>>>()?;
    // Children first: SQLite and PostgreSQL both cascade, but explicit deletes keep the
    // order obvious and do not depend on the foreign-key pragma.
    for table in ["dora_changes", "dora_commits", "dora_heads"] {
        c.run(
            &format!("DELETE FROM {table} WHERE dora_deployment_id = $1"),
            &[dora_id.into()],
        )
        .await?;
    }
    c.run(
        "DELETE FROM dora_deployments WHERE id = $1",
        &[dora_id.into()],
    )
    .await?;
    for (repo_key, environment, sha) in carried {
        let key = change_key(c, &repo_key, &sha).await?;
        recompute(c, &repo_key, &environment, &key).await?;
    }
    Ok(())
}

/// Re-reads the service of DORA rows after the catalog changed: the deploys an accepted
/// alias re-linked (`alias`: service and alias key), and the API deployments of `repos` whose
/// service links changed.
pub(super) async fn sync_services(
    c: &mut AnyConnection,
    alias: Option<(i64, &str)>,
    repos: &[i64],
) -> StoreResult<()> {
    if let Some((service, alias_key)) = alias {
        sqlx::query(
            "UPDATE dora_deployments SET service_id = $1 WHERE ingested_deployment_id IN \
             (SELECT id FROM ingested_deployments WHERE service_id = $1 \
              AND service_alias_key = $2)",
        )
        .bind(service)
        .bind(alias_key)
        .execute(&mut *c)
        .await?;
    }
    for repo in repos {
        sqlx::query(
            "UPDATE dora_deployments SET service_id = \
                 (SELECT MIN(sr.service_id) FROM service_repos sr WHERE sr.repo_id = $1) \
             WHERE api_deployment_id IN (SELECT id FROM deployments WHERE repo_id = $1)",
        )
        .bind(repo)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

/// The SQL condition "deployment `d` is production-class" (spec/dora.md: the API flag, or an
/// ingested environment named production/prod/prd or configured), binding into `p`.
fn production_sql(d: &str, q: &DoraQuery, p: &mut Params) -> String {
    if q.extra_production.is_empty() {
        return format!("{d}.production = 1");
    }
    format!(
        "({d}.production = 1 OR ({d}.ingested_deployment_id IS NOT NULL \
         AND {d}.environment_key IN ({})))",
        extra_production_marks(q, p)
    )
}

/// The configured production environments bound into `p`, as an `IN` list's inside.
fn extra_production_marks(q: &DoraQuery, p: &mut Params) -> String {
    let marks: Vec<String> = q
        .extra_production
        .iter()
        .map(|e| p.add(Bind::Text(e.clone())))
        .collect();
    marks.join(", ")
}

/// The SQL condition "deployment `d` is counted by the report": the environment asked for
/// (else production-class) and, with `with_services`, the services asked for.
fn scope_sql(d: &str, q: &DoraQuery, p: &mut Params, with_services: bool) -> String {
    let mut w = Vec::new();
    match &q.environment {
        Some(env) => w.push(format!(
            "{d}.environment_key = {}",
            p.add(Bind::Text(env.clone()))
        )),
        None => w.push(production_sql(d, q, p)),
    }
    if with_services && !q.services.is_empty() {
        w.push(services_in(&format!("{d}.service_id"), q, p));
    }
    w.join(" AND ")
}

fn services_in(column: &str, q: &DoraQuery, p: &mut Params) -> String {
    let marks: Vec<String> = q
        .services
        .iter()
        .map(|s| p.add(Bind::I64(s.get())))
        .collect();
    format!("{column} IN ({})", marks.join(", "))
}

fn deployment_fact(
    (id, service, integration, finished): (i64, Option<i64>, Option<i64>, i64),
    in_scope: bool,
) -> DeploymentFact {
    DeploymentFact {
        key: DeployKey(id),
        service: service.map(ServiceId),
        integration: integration.map(IntegrationId),
        finished_at: Timestamp::from_unix(finished),
        in_scope,
    }
}

/// The SQL condition "a row of the per-day counts (or a change's lead-time columns) is in the
/// report's environments", on its class column (`lead_class` or `class`, migrations 0014 and
/// 0015) as [`scope_sql`] says it of a deployment.
fn class_scope_sql(class: &str, q: &DoraQuery, p: &mut Params) -> String {
    if let Some(env) = &q.environment {
        return format!("environment_key = {}", p.add(Bind::Text(env.clone())));
    }
    if q.extra_production.is_empty() {
        return format!("{class} = 1");
    }
    format!(
        "({class} = 1 OR ({class} = 2 AND environment_key IN ({})))",
        extra_production_marks(q, p)
    )
}

/// Lead time of the changes deployed on the days `first..=last` (UTC day numbers): the counts
/// per bucket, then the median's value read from its bucket alone.
async fn lead_tally(
    c: &mut dyn Exec,
    q: &DoraQuery,
    (first, last): (i64, i64),
) -> StoreResult<LeadTally> {
    let counts = sum_counts(c, q, &LEAD_COUNTS, first, last).await?;
    let counted = tally::locate(&counts);
    let mut median_seconds = None;
    if let Some(at) = counted.median_at {
        let mut p = Params { binds: Vec::new() };
        let scope = class_scope_sql("lead_class", q, &mut p);
        let sql = format!(
            "SELECT lead_secs FROM dora_changes WHERE lead_bucket = {} AND lead_day >= {} \
             AND lead_day <= {} AND {scope} ORDER BY lead_secs LIMIT 1 OFFSET {}",
            p.add(Bind::I64(at.bucket)),
            p.add(Bind::I64(first)),
            p.add(Bind::I64(last)),
            p.add(Bind::I64(i64::try_from(at.rank).unwrap_or(i64::MAX))),
        );
        median_seconds = c.opt_int(&sql, &vals(&p)).await?;
        // The counts and the changes are written together, so the value exists; a count
        // without it would be a bug in the triggers, not a reason to fail the report.
        debug_assert!(median_seconds.is_some(), "lead-time counts out of step");
    }
    Ok(LeadTally {
        changes: counted.changes,
        dropped: counted.dropped,
        median_seconds,
    })
}

/// Advisory-lock key of [`fold_counts`] (any constant outside `lock_key`'s namespace use).
const FOLD_LOCK: i64 = 0x0fe7_d07a_1ead_f01d;

/// PostgreSQL: moves the ±1 rows the triggers logged (migrations 0014, 0015) into the
/// per-day counts, one folder at a time; rows of transactions still open stay for the next
/// fold. Only bounds the logs: reports read the logs too ([`sum_counts`]).
async fn fold_counts(c: &mut AnyConnection) -> StoreResult<()> {
    let mut tx = sqlx::Connection::begin(&mut *c).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(FOLD_LOCK)
        .execute(&mut *tx)
        .await?;
    for Counts {
        table, log, keys, ..
    } in [&LEAD_COUNTS, &DEPLOY_COUNTS]
    {
        sqlx::query(&format!(
            "WITH moved AS (DELETE FROM {log} RETURNING {keys}, delta) \
             INSERT INTO {table} ({keys}, n) \
             SELECT {keys}, CAST(SUM(delta) AS BIGINT) FROM moved \
             GROUP BY {keys} ORDER BY {keys} \
             ON CONFLICT ({keys}) DO UPDATE SET n = {table}.n + excluded.n"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Incidents `i` with the DORA rows of the deployment they name, `da` (API) or `di`
/// (ingested). The `IS NOT NULL` guards spare most incidents, which name none, an index probe
/// per join.
const INCIDENTS_WITH_NAMED: &str = "issues i \
    LEFT JOIN dora_deployments da \
        ON i.deployment_id IS NOT NULL AND da.api_deployment_id = i.deployment_id \
    LEFT JOIN dora_deployments di \
        ON i.ingested_deployment_id IS NOT NULL \
        AND di.ingested_deployment_id = i.ingested_deployment_id";

/// The SQL condition on `issues i` (joined to its named deployments `da`, `di`) of one reason
/// an incident can touch a report of `[from_m, until_m)` (see `dora_facts`); one statement
/// per reason, each on its own index (an OR of them scans every incident).
fn incident_reason(
    reason: u8,
    q: &DoraQuery,
    p: &mut Params,
    from_m: &str,
    until_m: &str,
) -> String {
    match reason {
        0 => {
            format!("i.incident = 1 AND i.created_date >= {from_m} AND i.created_date < {until_m}")
        }
        1 => {
            let prod = production_sql("d", q, p);
            format!(
                "i.incident = 1 AND i.created_date >= {until_m} AND NOT EXISTS (SELECT 1 \
                 FROM dora_deployments d WHERE d.finished_at >= {until_m} \
                 AND d.finished_at < i.created_date AND {prod} \
                 AND ((i.service_id IS NOT NULL AND d.service_id = i.service_id) \
                 OR (i.service_id IS NULL AND d.integration_id = i.integration_id)))"
            )
        }
        // Those created in the range are reason 0's already: left out here, so the (costly,
        // on the tallied path) attribution of each is not done twice.
        2 => format!(
            "i.incident = 1 AND i.resolution_date >= {from_m} \
             AND i.resolution_date < {until_m} \
             AND NOT (i.created_date >= {from_m} AND i.created_date < {until_m})"
        ),
        // Naming a deployment: one statement per kind, each driven by its partial index of
        // the (few) incidents that name one. The `+`s keep SQLite off the `incident` indexes,
        // which hold every incident, and off walking the range's deployments to probe for
        // incidents.
        3 => format!(
            "+i.incident = 1 AND i.deployment_id IS NOT NULL \
             AND +da.finished_at >= {from_m} AND +da.finished_at < {until_m}"
        ),
        _ => format!(
            "+i.incident = 1 AND i.ingested_deployment_id IS NOT NULL \
             AND +di.finished_at >= {from_m} AND +di.finished_at < {until_m}"
        ),
    }
}

/// The incidents' part of a tallied report (no service selected): those of every reason of
/// [`incident_reason`], each with the deployment dora.md §3 attributes it to (the named one;
/// else the latest production-class deployment of its service, or of its integration without
/// a service, finishing before it was created — ties to the larger id, as
/// `ferry_domain::dora`'s attribution does: stored with the incident, migration 0016, or
/// found by one index step when production-class has configured extras), and whether the
/// report counts that one.
async fn blamed_incidents(c: &mut dyn Exec, q: &DoraQuery) -> StoreResult<Vec<BlamedIncident>> {
    let (from, until) = (q.from.unix(), q.until.unix());
    // One backward step in `dora_deployments_service` (0015) per incident with a service.
    let latest = |group: &str, p: &mut Params| {
        let prod = production_sql("e", q, p);
        format!(
            "(SELECT e.id FROM dora_deployments e WHERE e.{group} = i.{group} AND {prod} \
             AND e.finished_at < i.created_date ORDER BY e.finished_at DESC, e.id DESC LIMIT 1)"
        )
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for reason in 0..5u8 {
        let mut p = Params { binds: Vec::new() };
        let from_m = p.add(Bind::I64(from));
        let until_m = p.add(Bind::I64(until));
        let cond = incident_reason(reason, q, &mut p, &from_m, &until_m);
        // The implicit attribution: stored with the incident (migration 0016) for the
        // production-class pool without configured extras, looked up otherwise. A stored one
        // needs its deployment's row only when `environment=` names an environment: it is
        // production-class, so in the default scope it counts exactly when it finished in the
        // range, and its row (a random read per incident) is not fetched.
        let (implicit, fallback_id, fallback_at) = if !q.extra_production.is_empty() {
            let by_service = latest("service_id", &mut p);
            let by_integration = latest("integration_id", &mut p);
            let looked_up = format!(
                "CASE WHEN i.service_id IS NOT NULL THEN {by_service} ELSE {by_integration} END"
            );
            (looked_up, "NULL", "NULL")
        } else if q.environment.is_some() {
            ("i.blamed_dora_id".to_owned(), "NULL", "NULL")
        } else {
            ("NULL".to_owned(), "i.blamed_dora_id", "i.blamed_at")
        };
        let finished = format!("COALESCE(x.finished_at, {fallback_at})");
        let counted = scope_sql("x", q, &mut p, false);
        let sql = format!(
            "SELECT i.id, i.created_date, \
                 CASE WHEN i.resolution_date IS NOT NULL THEN i.resolution_date \
                      WHEN i.status = 'DONE' THEN i.updated_date END, \
                 COALESCE(x.id, {fallback_id}), {finished}, \
                 CAST(CASE WHEN {finished} >= {from_m} AND {finished} < {until_m} \
                      AND (x.id IS NULL OR {counted}) THEN 1 ELSE 0 END AS BIGINT) \
             FROM {INCIDENTS_WITH_NAMED} \
             LEFT JOIN dora_deployments x ON x.id = CASE \
                 WHEN i.deployment_id IS NOT NULL THEN da.id \
                 WHEN i.ingested_deployment_id IS NOT NULL THEN di.id \
                 ELSE {implicit} END \
             WHERE {cond}"
        );
        for r in c.rows(&sql, &vals(&p)).await? {
            let (id, created, resolved) = (r.int(0)?, r.int(1)?, r.opt_int(2)?);
            let (blamed, finished, counted) = (r.opt_int(3)?, r.opt_int(4)?, r.int(5)?);
            if !seen.insert(id) {
                continue;
            }
            out.push(BlamedIncident {
                counted: match (blamed, finished, counted) {
                    (Some(key), Some(at), 1) => Some((DeployKey(key), Timestamp::from_unix(at))),
                    _ => None,
                },
                created_at: Timestamp::from_unix(created),
                resolved_at: resolved.map(Timestamp::from_unix),
                // No service selected: every incident is the scope's.
                in_scope: true,
            });
        }
    }
    Ok(out)
}

/// Counted deployments per UTC day of the report's range, from the per-day counts.
async fn deploy_days(c: &mut dyn Exec, q: &DoraQuery) -> StoreResult<Vec<(i64, u64)>> {
    let first = q.from.unix().div_euclid(86_400);
    let last = (q.until.unix() - 1).div_euclid(86_400);
    sum_counts(c, q, &DEPLOY_COUNTS, first, last).await
}

/// One of the per-day count tables (migrations 0014, 0015), with its PostgreSQL log.
struct Counts {
    table: &'static str,
    log: &'static str,
    /// Its key columns, and among them the day, the class and what sums are grouped by.
    keys: &'static str,
    day: &'static str,
    class: &'static str,
    by: &'static str,
}

const LEAD_COUNTS: Counts = Counts {
    table: "dora_lead_days",
    log: "dora_lead_log",
    keys: "lead_day, lead_class, environment_key, lead_bucket",
    day: "lead_day",
    class: "lead_class",
    by: "lead_bucket",
};

const DEPLOY_COUNTS: Counts = Counts {
    table: "dora_deploy_days",
    log: "dora_deploy_log",
    keys: "day, class, environment_key",
    day: "day",
    class: "class",
    by: "day",
};

/// The sums of `counts` over the days `first..=last` in the report's environments, by its
/// `by` column. On PostgreSQL the ±1 rows not folded yet count too, so that in one snapshot
/// the counts always match the rows they count, whenever the background task folds.
async fn sum_counts(
    c: &mut dyn Exec,
    q: &DoraQuery,
    counts: &Counts,
    first: i64,
    last: i64,
) -> StoreResult<Vec<(i64, u64)>> {
    let Counts {
        table,
        log,
        keys,
        day,
        class,
        by,
    } = counts;
    let from = if c.is_postgres() {
        format!("(SELECT {keys}, n FROM {table} UNION ALL SELECT {keys}, delta FROM {log}) AS t")
    } else {
        (*table).to_owned()
    };
    let mut p = Params { binds: Vec::new() };
    let scope = class_scope_sql(class, q, &mut p);
    let sql = format!(
        "SELECT {by}, CAST(SUM(n) AS BIGINT) FROM {from} \
         WHERE {day} >= {} AND {day} <= {} AND {scope} GROUP BY {by}",
        p.add(Bind::I64(first)),
        p.add(Bind::I64(last)),
    );
    c.rows(&sql, &vals(&p))
        .await?
        .iter()
        .map(|r| Ok((r.int(0)?, u64::try_from(r.int(1)?).unwrap_or(0))))
        .collect()
}

/// Whether the scope ever had a counted-kind deployment (the frequency level is null
/// otherwise).
async fn ever_deployed(c: &mut dyn Exec, q: &DoraQuery) -> StoreResult<bool> {
    let mut p = Params { binds: Vec::new() };
    let scope = scope_sql("d", q, &mut p, true);
    let sql = format!("SELECT d.id FROM dora_deployments d WHERE {scope} LIMIT 1");
    Ok(c.row(&sql, &vals(&p)).await?.is_some())
}

/// The facts of a report over every service, counted (see `ferry_domain::dora::tally`):
/// lead time per tile, deployments per day, incidents with their attribution.
async fn tallied_facts(
    c: &mut dyn Exec,
    q: &DoraQuery,
    tiles: &[(i64, i64)],
) -> StoreResult<DoraFacts> {
    let mut lead = Vec::with_capacity(tiles.len());
    for &tile in tiles {
        lead.push(lead_tally(c, q, tile).await?);
    }
    Ok(DoraFacts {
        any_deployment_ever: ever_deployed(c, q).await?,
        tally: Some(Tallied {
            lead,
            deploys: deploy_days(c, q).await?,
            incidents: blamed_incidents(c, q).await?,
        }),
        ..DoraFacts::default()
    })
}

/// `p`'s values for [`Exec`].
fn vals(p: &Params) -> Vec<Val<'_>> {
    p.binds
        .iter()
        .map(|b| match b {
            Bind::I64(v) => Val::from(*v),
            Bind::Text(t) => Val::from(t),
        })
        .collect()
}

type FactRow = (i64, Option<i64>, Option<i64>, i64);
type IncidentRow = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

#[async_trait]
impl DoraStore for SqlStore {
    async fn dora_facts(&self, q: &DoraQuery) -> StoreResult<DoraFacts> {
        // Over every service: counts and attributed incidents rather than rows (see
        // `ferry_domain::dora::tally`), read on a direct connection where there is one.
        if let (Some(tiles), true) = (&q.lead_tiles, q.services.is_empty()) {
            if let Some(readers) = &self.readers {
                let (q, tiles) = (q.clone(), tiles.clone());
                return readers
                    .read(Box::new(move |c| {
                        Box::pin(async move { tallied_facts(c, &q, &tiles).await })
                    }))
                    .await;
            }
            let mut conn = self.pool.acquire().await?;
            // One snapshot for the counts and the rows they count (see `sum_counts`).
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            if self.is_postgres() {
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .execute(&mut *tx)
                    .await?;
            }
            let facts = tallied_facts(&mut *tx, q, tiles).await?;
            tx.commit().await?;
            return Ok(facts);
        }

        let mut conn = self.pool.acquire().await?;
        let c = &mut *conn;
        let (from, until) = (q.from.unix(), q.until.unix());
        let mut facts = DoraFacts {
            any_deployment_ever: ever_deployed(c, q).await?,
            ..DoraFacts::default()
        };

        // Counted deployments of the range. One of another environment than production-class
        // (`environment=` names it) comes without service and integration: the engine then
        // never attributes an incident to it (attribution looks at production-class
        // deployments only, API.md D40), yet counts it and its changes.
        let mut p = Params { binds: Vec::new() };
        let scope = scope_sql("d", q, &mut p, true);
        let prod = production_sql("d", q, &mut p);
        let sql = format!(
            "SELECT d.id, CASE WHEN {prod} THEN d.service_id END, \
                 CASE WHEN {prod} THEN d.integration_id END, d.finished_at \
             FROM dora_deployments d \
             WHERE d.finished_at >= {} AND d.finished_at < {} AND {scope}",
            p.add(Bind::I64(from)),
            p.add(Bind::I64(until)),
        );
        let rows: Vec<FactRow> = bind_all_as(&p.binds, sqlx::query_as(&sql))
            .fetch_all(&mut *c)
            .await?;
        facts
            .deployments
            .extend(rows.into_iter().map(|r| deployment_fact(r, true)));

        // Changes those deployments shipped, with a known start.
        let mut p = Params { binds: Vec::new() };
        let scope = scope_sql("d", q, &mut p, true);
        let sql = format!(
            "SELECT ch.dora_deployment_id, ch.started_at FROM dora_changes ch \
             JOIN dora_deployments d ON d.id = ch.dora_deployment_id \
             WHERE d.finished_at >= {} AND d.finished_at < {} AND {scope} \
             AND ch.started_at IS NOT NULL",
            p.add(Bind::I64(from)),
            p.add(Bind::I64(until)),
        );
        let rows: Vec<(i64, i64)> = bind_all_as(&p.binds, sqlx::query_as(&sql))
            .fetch_all(&mut *c)
            .await?;
        facts
            .changes
            .extend(rows.into_iter().map(|(d, s)| ChangeFact {
                deployment: DeployKey(d),
                started_at: Timestamp::from_unix(s),
            }));

        // Incidents that can touch the range: created in it (attribution); created after it
        // with no production-class deployment of their service (or integration) in between,
        // so the latest deployment before them is one of the range's; resolved in it (2021);
        // naming a deployment of the range. Attribution looks at production-class
        // deployments whatever `environment=` selects (dora.md §3, API.md D40).
        let mut rows: Vec<IncidentRow> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // With a service filter, the services' incidents and those without a service (which
        // may blame a deployment of the services through their integration) are read apart,
        // so each read uses the (service, created) index.
        let parts: Vec<(u8, bool)> = (0..5u8)
            .flat_map(|r| {
                if q.services.is_empty() {
                    vec![(r, false)]
                } else {
                    vec![(r, true), (r, false)]
                }
            })
            .collect();
        for (reason, of_services) in parts {
            let mut p = Params { binds: Vec::new() };
            let from_m = p.add(Bind::I64(from));
            let until_m = p.add(Bind::I64(until));
            let cond = incident_reason(reason, q, &mut p, &from_m, &until_m);
            let mut w = vec![cond];
            if of_services {
                w.push(services_in("i.service_id", q, &mut p));
            } else if !q.services.is_empty() {
                w.push("i.service_id IS NULL".to_owned());
            }
            let sql = format!(
                "SELECT i.id, i.service_id, i.integration_id, da.id, di.id, i.created_date, \
                     CASE WHEN i.resolution_date IS NOT NULL THEN i.resolution_date \
                          WHEN i.status = 'DONE' THEN i.updated_date END, \
                     i.deployment_id, i.ingested_deployment_id \
                 FROM {INCIDENTS_WITH_NAMED} WHERE {}",
                w.join(" AND ")
            );
            let found: Vec<IncidentRow> = bind_all_as(&p.binds, sqlx::query_as(&sql))
                .fetch_all(&mut *c)
                .await?;
            rows.extend(found.into_iter().filter(|r| seen.insert(r.0)));
        }
        let mut orphan_integrations = Vec::new();
        for (id, service, integration, api_key, ing_key, created, resolved, api, ing) in rows {
            // An explicit deployment that is not a success still takes the incident: it gets
            // a key no fact has.
            let deployment = match (api_key.or(ing_key), api.or(ing)) {
                (Some(k), _) => Some(DeployKey(k)),
                (None, Some(_)) => Some(DeployKey(-id)),
                (None, None) => None,
            };
            let in_scope = q.services.is_empty()
                || service.is_some_and(|s| q.services.iter().any(|x| x.get() == s));
            if service.is_none() && deployment.is_none() {
                if let Some(i) = integration {
                    orphan_integrations.push(i);
                }
            }
            facts.incidents.push(IncidentFact {
                service: service.map(ServiceId),
                integration: integration.map(IntegrationId),
                deployment,
                created_at: Timestamp::from_unix(created),
                resolved_at: resolved.map(Timestamp::from_unix),
                in_scope,
            });
        }

        // The rest of the attribution pool: production-class deployments of the range that
        // the report does not count — another environment than `environment=`, or (for
        // incidents without a service, which look across their integration) another service.
        orphan_integrations.sort_unstable();
        orphan_integrations.dedup();
        let narrowed = q.environment.is_some() || !q.services.is_empty();
        if narrowed {
            let mut p = Params { binds: Vec::new() };
            let prod = production_sql("d", q, &mut p);
            // CASE, not NOT: a deployment without a service makes `service_id IN (…)` NULL.
            let counted = scope_sql("d", q, &mut p, true);
            let mut relevant = Vec::new();
            if q.services.is_empty() {
                relevant.push("1 = 1".to_owned());
            } else {
                relevant.push(services_in("d.service_id", q, &mut p));
            }
            if !orphan_integrations.is_empty() {
                let marks: Vec<String> = orphan_integrations
                    .iter()
                    .map(|i| p.add(Bind::I64(*i)))
                    .collect();
                relevant.push(format!("d.integration_id IN ({})", marks.join(", ")));
            }
            let sql = format!(
                "SELECT d.id, d.service_id, d.integration_id, d.finished_at \
                 FROM dora_deployments d WHERE d.finished_at >= {} AND d.finished_at < {} \
                 AND {prod} AND ({}) AND (CASE WHEN {counted} THEN 0 ELSE 1 END) = 1",
                p.add(Bind::I64(from)),
                p.add(Bind::I64(until)),
                relevant.join(" OR ")
            );
            let rows: Vec<FactRow> = bind_all_as(&p.binds, sqlx::query_as(&sql))
                .fetch_all(&mut *c)
                .await?;
            facts
                .deployments
                .extend(rows.into_iter().map(|r| deployment_fact(r, false)));
        }
        Ok(facts)
    }

    async fn fold_dora_counts(&self) -> StoreResult<()> {
        if !self.is_postgres() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        fold_counts(&mut conn).await
    }

    async fn pending_dora(&self, limit: u32) -> StoreResult<Vec<PendingDora>> {
        type Row = (
            i64,
            String,
            i64,
            String,
            String,
            String,
            String,
            String,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT d.id, h.repo_key, r.id, r.owner, r.name, r.git_url, h.sha, \
                 h.environment_key, h.finished_at \
             FROM dora_deployments d JOIN dora_heads h ON h.dora_deployment_id = d.id \
             JOIN repos r ON r.id = h.repo_id \
             WHERE d.pending = 1 AND r.git_url IS NOT NULL AND r.git_url <> '' \
             ORDER BY d.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<PendingDora> = Vec::new();
        for (id, repo_key, repo_id, owner, name, git_url, sha, env, finished) in rows {
            let prev: Option<String> = sqlx::query_scalar(
                "SELECT sha FROM dora_heads WHERE repo_key = $1 AND environment_key = $2 \
                 AND (finished_at < $3 OR (finished_at = $3 AND dora_deployment_id < $4)) \
                 ORDER BY finished_at DESC, dora_deployment_id DESC LIMIT 1",
            )
            .bind(&repo_key)
            .bind(&env)
            .bind(finished)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            let head = PendingHead {
                repo_key,
                repo_id: RepoId(repo_id),
                slug: RepoSlug::new(&owner, &name)?,
                git_url,
                sha,
                prev,
            };
            match out.last_mut() {
                Some(last) if last.dora_id == id => last.heads.push(head),
                _ => out.push(PendingDora {
                    dora_id: id,
                    heads: vec![head],
                }),
            }
        }
        Ok(out)
    }

    async fn complete_dora(
        &self,
        dora_id: i64,
        walked: Vec<(String, Vec<WalkedCommit>)>,
    ) -> StoreResult<()> {
        let mut walked = walked;
        for (_, commits) in &mut walked {
            commits.sort_by(|a, b| a.sha.cmp(&b.sha));
        }
        self.write(move |c| {
            Box::pin(async move {
                let keys: Vec<&str> = walked.iter().map(|(k, _)| k.as_str()).collect();
                lock_repos(c, &keys).await?;
                let row: Option<(String, i64)> = sqlx::query_as(
                    "SELECT environment_key, finished_at FROM dora_deployments WHERE id = $1",
                )
                .bind(dora_id)
                .fetch_optional(&mut *c)
                .await?;
                // Forgotten meanwhile (a later failure): nothing to record.
                let Some((environment, finished)) = row else {
                    return Ok(());
                };
                for (repo_key, commits) in &walked {
                    for commit in commits {
                        add_commit(
                            c,
                            dora_id,
                            repo_key,
                            &environment,
                            finished,
                            &commit.sha,
                            commit.authored_at.map(Timestamp::unix),
                        )
                        .await?;
                    }
                }
                sqlx::query("UPDATE dora_deployments SET pending = 0 WHERE id = $1")
                    .bind(dora_id)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn upsert_pull_request(&self, new: NewPullRequest) -> StoreResult<PullRequest> {
        self.write(move |c| {
            Box::pin(async move {
                let now = Timestamp::now().unix();
                let repo = new.repo_id.get();
                lock_repos(c, &[&format!("r:{repo}")]).await?;
                let started = new
                    .commits
                    .iter()
                    .filter_map(|c| c.authored_at)
                    .min()
                    .unwrap_or(new.created_at);
                sqlx::query(
                    "INSERT INTO pull_requests (repo_id, number, title, created_at, merged_at, \
                         merge_commit_sha, started_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (repo_id, number) DO UPDATE SET title = excluded.title, \
                         created_at = excluded.created_at, merged_at = excluded.merged_at, \
                         merge_commit_sha = excluded.merge_commit_sha, \
                         started_at = excluded.started_at, updated_at = excluded.updated_at",
                )
                .bind(repo)
                .bind(new.number)
                .bind(&new.title)
                .bind(new.created_at.unix())
                .bind(new.merged_at.map(Timestamp::unix))
                .bind(new.merge_commit_sha.as_deref())
                .bind(started.unix())
                .bind(now)
                .execute(&mut *c)
                .await?;
                let mut shas: Vec<(&str, Option<i64>, bool)> = new
                    .commits
                    .iter()
                    .map(|c| (c.sha.as_str(), c.authored_at.map(Timestamp::unix), false))
                    .collect();
                if let Some(m) = &new.merge_commit_sha {
                    shas.push((m.as_str(), None, true));
                }
                for (sha, authored, merge) in &shas {
                    // A commit keeps the first pull request that named it.
                    sqlx::query(
                        "INSERT INTO pull_request_commits (repo_id, sha, number, authored_at, \
                             merge) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (repo_id, sha) DO UPDATE SET authored_at = \
                             COALESCE(excluded.authored_at, pull_request_commits.authored_at) \
                         WHERE pull_request_commits.number = excluded.number",
                    )
                    .bind(repo)
                    .bind(*sha)
                    .bind(new.number)
                    .bind(*authored)
                    .bind(b(*merge))
                    .execute(&mut *c)
                    .await?;
                }
                // Commits already shipped as changes of their own become this PR's change.
                let repo_key = format!("r:{repo}");
                let shipped: Vec<(String, String)> = sqlx::query_as(
                    "SELECT DISTINCT c.environment_key, c.sha FROM dora_commits c \
                     JOIN pull_request_commits p ON p.repo_id = $1 AND p.number = $2 \
                         AND p.sha = c.sha \
                     WHERE c.repo_key = $3",
                )
                .bind(repo)
                .bind(new.number)
                .bind(&repo_key)
                .fetch_all(&mut *c)
                .await?;
                let mut envs: Vec<String> = Vec::new();
                for (env, sha) in shipped {
                    sqlx::query(
                        "DELETE FROM dora_changes WHERE repo_key = $1 AND environment_key = $2 \
                         AND change_key = $3",
                    )
                    .bind(&repo_key)
                    .bind(&env)
                    .bind(format!("c:{sha}"))
                    .execute(&mut *c)
                    .await?;
                    if !envs.contains(&env) {
                        envs.push(env);
                    }
                }
                let pull = ChangeKey::Pull {
                    repo,
                    number: new.number,
                };
                for env in &envs {
                    recompute(c, &repo_key, env, &pull).await?;
                }
                let commits: Vec<String> = sqlx::query_scalar(
                    "SELECT sha FROM pull_request_commits WHERE repo_id = $1 AND number = $2 \
                     AND merge = 0 ORDER BY sha",
                )
                .bind(repo)
                .bind(new.number)
                .fetch_all(&mut *c)
                .await?;
                Ok(PullRequest {
                    repo_id: new.repo_id,
                    number: new.number,
                    title: new.title.clone(),
                    created_at: new.created_at,
                    merged_at: new.merged_at,
                    merge_commit_sha: new.merge_commit_sha.clone(),
                    started_at: started,
                    commits,
                })
            })
        })
        .await
    }

    async fn create_incident(&self, new: NewIncident) -> StoreResult<Issue> {
        self.write(move |c| {
            Box::pin(async move {
                let now = Timestamp::now().unix();
                let (api, ingested) = match new.deployment {
                    Some(DeploymentRef::Api(id)) => (Some(id.get()), None),
                    Some(DeploymentRef::Ingested(id)) => (None, Some(id.get())),
                    None => (None, None),
                };
                if let Some(id) = api {
                    let found: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM deployments WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *c)
                            .await?;
                    found.ok_or(StoreError::NotFound)?;
                }
                if let Some(id) = ingested {
                    let found: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM ingested_deployments WHERE id = $1")
                            .bind(id)
                            .fetch_optional(&mut *c)
                            .await?;
                    found.ok_or(StoreError::NotFound)?;
                }
                let status = if new.resolved_at.is_some() {
                    IssueStatus::Done
                } else {
                    IssueStatus::Todo
                };
                let lead = new
                    .resolved_at
                    .map(|r| lead_time_minutes(new.created_at, r));
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO issues (integration_id, issue_key, title, status, \
                         original_status, issue_type, incident, service_id, url, description, \
                         created_date, resolution_date, lead_time_minutes, fields, created_at, \
                         updated_at, deployment_id, ingested_deployment_id) \
                     VALUES (NULL, '', $1, $2, $2, 'INCIDENT', 1, $3, $4, $5, $6, $7, $8, '{}', \
                         $9, $9, $10, $11) RETURNING id",
                )
                .bind(&new.title)
                .bind(status.as_str())
                .bind(new.service_id.get())
                .bind(new.url.as_deref())
                .bind(new.description.as_deref())
                .bind(new.created_at.unix())
                .bind(new.resolved_at.map(Timestamp::unix))
                .bind(lead)
                .bind(now)
                .bind(api)
                .bind(ingested)
                .fetch_one(&mut *c)
                .await?;
                sqlx::query("UPDATE issues SET issue_key = $1 WHERE id = $2")
                    .bind(format!("INC-{id}"))
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                issue_by_id(c, IssueId(id))
                    .await?
                    .ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    async fn incident(&self, id: IssueId) -> StoreResult<Option<Issue>> {
        let mut conn = self.pool.acquire().await?;
        issue_by_id(&mut conn, id).await
    }

    async fn resolve_incident(&self, id: IssueId, at: Timestamp) -> StoreResult<Issue> {
        self.write(move |c| {
            Box::pin(async move {
                let issue = issue_by_id(c, id).await?.ok_or(StoreError::NotFound)?;
                sqlx::query(
                    "UPDATE issues SET status = 'DONE', resolution_date = $1, \
                     lead_time_minutes = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(at.unix())
                .bind(lead_time_minutes(issue.created_date, at))
                .bind(Timestamp::now().unix())
                .bind(id.get())
                .execute(&mut *c)
                .await?;
                issue_by_id(c, id).await?.ok_or(StoreError::NotFound)
            })
        })
        .await
    }
}

async fn issue_by_id(c: &mut AnyConnection, id: IssueId) -> StoreResult<Option<Issue>> {
    let row: Option<IssueRow> = sqlx::query_as(&format!(
        "SELECT {ISSUE_COLS} FROM {ISSUE_FROM} WHERE i.id = $1 AND i.incident = 1"
    ))
    .bind(id.get())
    .fetch_optional(&mut *c)
    .await?;
    row.map(IssueRow::into_issue).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket SQL the store writes with is the domain's rule, at and around every tier
    /// boundary (PostgreSQL's integer division agrees on these non-negative operands).
    #[test]
    fn bucket_sql_is_the_domain_rule() {
        let conn = rusqlite::Connection::open_in_memory().expect("memory database");
        let sql = format!("SELECT {}", tally::lead_bucket_sql("?1"));
        let mut st = conn.prepare(&sql).expect("statement");
        let (hour, day) = (3_600, 86_400);
        for edge in [0, hour, day, 7 * day, 60 * day, 400 * day] {
            for s in (edge - 130..edge + 130).chain([edge * 3 / 2]) {
                let got: i64 = st.query_row([s], |r| r.get(0)).expect("row");
                assert_eq!(got, tally::lead_bucket(s), "lead time {s}");
            }
        }
    }
}
