//! [`IngestStore`] for [`SqlStore`]: integrations, the service catalog, ingested deploys and
//! issues (schema: migration 0003).
//!
//! Ingested deploys have their own table (see docs/ARCHITECTURE.md, "Ingested deploys");
//! [`IngestStore::list_all_deployments`] lists them together with API deployments.
//!
//! Concurrency: every write is one job of [`SqlStore::write`]. On SQLite jobs run one at a
//! time on the group-commit writer. On PostgreSQL the order of statements in
//! `ingest_deployment` matters: the deploy row is inserted first (`ON CONFLICT DO NOTHING`
//! waits for a concurrent insert of the same key to commit, then sees it), and only then is
//! the per-service counter incremented (its row lock orders concurrent deploys of a
//! service), so two posts never wait on each other in opposite orders and numbers have no
//! gap or repeat.

use super::exec::{Exec, Val};
use super::rows::DeploymentRow;
use super::{b, count_of, Bind, SqlStore, DEPLOYMENT_COLS};
use crate::model::*;
use crate::traits::{IngestStore, Queued};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use ferry_domain::ingest::{
    deploy_number_value, lead_time_minutes, repo_key_from_url, DedupScope, DeployResult,
    DevLakeAuth, IntegrationKind, IssueStatus, ServiceAlias,
};
use ferry_domain::{
    DeploymentId, DeploymentSource, IngestedDeploymentId, IntegrationId, IssueId, Page, RepoId,
    RepoSlug, ServiceId, SuggestionId, Timestamp,
};
use sqlx::any::AnyArguments;
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::{Any, AnyConnection};
use std::collections::HashMap;

// ---- rows -------------------------------------------------------------------------------

const INTEGRATION_COLS: &str =
    "id, kind, name, auth, secret_hash, dedup_scope, strict_deployer, created_at";

#[derive(sqlx::FromRow)]
struct IntegrationRow {
    id: i64,
    kind: String,
    name: String,
    auth: Option<String>,
    secret_hash: Option<String>,
    dedup_scope: String,
    strict_deployer: i64,
    created_at: i64,
}

impl IntegrationRow {
    fn into_integration(self) -> StoreResult<Integration> {
        Ok(Integration {
            id: IntegrationId(self.id),
            kind: self.kind.parse::<IntegrationKind>()?,
            name: self.name,
            auth: self.auth.map(|a| a.parse::<DevLakeAuth>()).transpose()?,
            secret_hash: self.secret_hash,
            dedup_scope: self.dedup_scope.parse::<DedupScope>()?,
            strict_deployer: self.strict_deployer != 0,
            created_at: Timestamp::from_unix(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    name: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct SuggestionRow {
    id: i64,
    alias: String,
    integration_id: i64,
    deploy_count: i64,
    dismissed: i64,
    first_seen: i64,
    last_seen: i64,
}

impl SuggestionRow {
    fn into_suggestion(self) -> Suggestion {
        Suggestion {
            id: SuggestionId(self.id),
            alias: self.alias,
            integration_id: IntegrationId(self.integration_id),
            deploy_count: self.deploy_count,
            dismissed: self.dismissed != 0,
            first_seen: Timestamp::from_unix(self.first_seen),
            last_seen: Timestamp::from_unix(self.last_seen),
        }
    }
}

const SUGGESTION_COLS: &str =
    "id, alias, integration_id, deploy_count, dismissed, first_seen, last_seen";

const INGESTED_COLS: &str = "d.id, d.integration_id, d.source, d.external_key, d.service_id, \
    s.name AS service_name, d.service_alias, d.deploy_number, d.environment, d.name, \
    d.description, d.result, d.deployer_name, d.deployer_email, d.deployer_id, d.deploy_url, \
    d.started_at, d.finished_at, d.created_at, d.updated_at";

const INGESTED_FROM: &str = "ingested_deployments d LEFT JOIN services s ON s.id = d.service_id";

#[derive(sqlx::FromRow)]
struct IngestedRow {
    id: i64,
    integration_id: i64,
    source: String,
    external_key: Option<String>,
    service_id: Option<i64>,
    service_name: Option<String>,
    service_alias: Option<String>,
    deploy_number: Option<String>,
    environment: String,
    name: Option<String>,
    description: Option<String>,
    result: String,
    deployer_name: Option<String>,
    deployer_email: Option<String>,
    deployer_id: Option<String>,
    deploy_url: Option<String>,
    started_at: i64,
    finished_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl IngestedRow {
    fn into_deployment(self, commits: Vec<IngestedCommit>) -> StoreResult<IngestedDeployment> {
        Ok(IngestedDeployment {
            id: IngestedDeploymentId(self.id),
            integration_id: IntegrationId(self.integration_id),
            source: self.source.parse::<DeploymentSource>()?,
            external_key: self.external_key,
            service_id: self.service_id.map(ServiceId),
            service_name: self.service_name,
            service_alias: self.service_alias,
            deploy_number: self.deploy_number,
            environment: self.environment,
            name: self.name,
            description: self.description,
            result: self.result.parse::<DeployResult>()?,
            deployer_name: self.deployer_name,
            deployer_email: self.deployer_email,
            deployer_id: self.deployer_id,
            deploy_url: self.deploy_url,
            started_at: Timestamp::from_unix(self.started_at),
            finished_at: Timestamp::from_unix(self.finished_at),
            commits,
            created_at: Timestamp::from_unix(self.created_at),
            updated_at: Timestamp::from_unix(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
struct CommitRow {
    deployment_id: i64,
    repo_url: String,
    sha: String,
    ref_name: Option<String>,
    message: Option<String>,
    name: Option<String>,
    authored_at: Option<i64>,
    author: Option<String>,
    repo_owner: Option<String>,
    repo_name: Option<String>,
}

impl CommitRow {
    fn into_commit(self) -> StoreResult<(i64, IngestedCommit)> {
        let repo = match (self.repo_owner, self.repo_name) {
            (Some(o), Some(n)) => Some(RepoSlug::new(&o, &n)?),
            _ => None,
        };
        Ok((
            self.deployment_id,
            IngestedCommit {
                repo_url: self.repo_url,
                sha: self.sha,
                ref_name: self.ref_name,
                message: self.message,
                name: self.name,
                authored_at: self.authored_at.map(Timestamp::from_unix),
                author: self.author,
                repo,
            },
        ))
    }
}

pub(super) const ISSUE_COLS: &str = "i.id, i.integration_id, i.issue_key, i.title, i.status, \
    i.original_status, i.issue_type, i.incident, i.service_id, s.name AS service_name, i.url, \
    i.description, i.priority, i.severity, i.component, i.created_date, i.updated_date, \
    i.resolution_date, i.lead_time_minutes, i.created_at, i.updated_at, i.deployment_id, \
    i.ingested_deployment_id";

pub(super) const ISSUE_FROM: &str = "issues i LEFT JOIN services s ON s.id = i.service_id";

#[derive(sqlx::FromRow)]
pub(super) struct IssueRow {
    id: i64,
    integration_id: Option<i64>,
    issue_key: String,
    title: String,
    status: String,
    original_status: String,
    issue_type: Option<String>,
    incident: i64,
    service_id: Option<i64>,
    service_name: Option<String>,
    url: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    severity: Option<String>,
    component: Option<String>,
    created_date: i64,
    updated_date: Option<i64>,
    resolution_date: Option<i64>,
    lead_time_minutes: Option<i64>,
    created_at: i64,
    updated_at: i64,
    deployment_id: Option<i64>,
    ingested_deployment_id: Option<i64>,
}

impl IssueRow {
    pub(super) fn into_issue(self) -> StoreResult<Issue> {
        let deployment = match (self.deployment_id, self.ingested_deployment_id) {
            (Some(id), _) => Some(DeploymentRef::Api(DeploymentId(id))),
            (None, Some(id)) => Some(DeploymentRef::Ingested(IngestedDeploymentId(id))),
            (None, None) => None,
        };
        Ok(Issue {
            id: IssueId(self.id),
            integration_id: self.integration_id.map(IntegrationId),
            deployment,
            issue_key: self.issue_key,
            title: self.title,
            status: self.status.parse::<IssueStatus>()?,
            original_status: self.original_status,
            issue_type: self.issue_type,
            incident: self.incident != 0,
            service_id: self.service_id.map(ServiceId),
            service_name: self.service_name,
            url: self.url,
            description: self.description,
            priority: self.priority,
            severity: self.severity,
            component: self.component,
            created_date: Timestamp::from_unix(self.created_date),
            updated_date: self.updated_date.map(Timestamp::from_unix),
            resolution_date: self.resolution_date.map(Timestamp::from_unix),
            lead_time_minutes: self.lead_time_minutes,
            created_at: Timestamp::from_unix(self.created_at),
            updated_at: Timestamp::from_unix(self.updated_at),
        })
    }
}

// ---- helpers ----------------------------------------------------------------------------

pub(super) fn bind_all_as<'q, O>(
    binds: &'q [Bind],
    mut q: QueryAs<'q, Any, O, AnyArguments<'q>>,
) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
    for v in binds {
        q = match v {
            Bind::I64(x) => q.bind(*x),
            Bind::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}

pub(super) fn bind_all_scalar<'q, O>(
    binds: &'q [Bind],
    mut q: QueryScalar<'q, Any, O, AnyArguments<'q>>,
) -> QueryScalar<'q, Any, O, AnyArguments<'q>> {
    for v in binds {
        q = match v {
            Bind::I64(x) => q.bind(*x),
            Bind::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}

/// Clauses with `$N` placeholders numbered across several clause lists sharing one bind list.
pub(super) struct Params {
    pub(super) binds: Vec<Bind>,
}

impl Params {
    pub(super) fn add(&mut self, v: Bind) -> String {
        self.binds.push(v);
        format!("${}", self.binds.len())
    }
}

pub(super) fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// Services (with aliases and repositories) whose id is in `ids`, or all when `None`.
async fn load_services(conn: &mut AnyConnection, ids: Option<&[i64]>) -> StoreResult<Vec<Service>> {
    let (filter, binds): (String, Vec<Bind>) = match ids {
        None => (String::new(), Vec::new()),
        Some([]) => return Ok(Vec::new()),
        Some(ids) => {
            let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            (
                format!("IN ({})", marks.join(", ")),
                ids.iter().map(|i| Bind::I64(*i)).collect(),
            )
        }
    };
    let rows: Vec<ServiceRow> = {
        let sql = if filter.is_empty() {
            "SELECT id, name, created_at, updated_at FROM services ORDER BY name_key".to_owned()
        } else {
            format!(
                "SELECT id, name, created_at, updated_at FROM services WHERE id {filter} \
                 ORDER BY name_key"
            )
        };
        bind_all_as(&binds, sqlx::query_as(&sql))
            .fetch_all(&mut *conn)
            .await?
    };
    let alias_sql = if filter.is_empty() {
        "SELECT service_id, alias FROM service_aliases ORDER BY alias_key".to_owned()
    } else {
        format!(
            "SELECT service_id, alias FROM service_aliases WHERE service_id {filter} \
             ORDER BY alias_key"
        )
    };
    let aliases: Vec<(i64, String)> = bind_all_as(&binds, sqlx::query_as(&alias_sql))
        .fetch_all(&mut *conn)
        .await?;
    let repo_sql = if filter.is_empty() {
        "SELECT sr.service_id, r.owner, r.name FROM service_repos sr \
         JOIN repos r ON r.id = sr.repo_id ORDER BY r.full_name_key"
            .to_owned()
    } else {
        format!(
            "SELECT sr.service_id, r.owner, r.name FROM service_repos sr \
             JOIN repos r ON r.id = sr.repo_id WHERE sr.service_id {filter} \
             ORDER BY r.full_name_key"
        )
    };
    let repos: Vec<(i64, String, String)> = bind_all_as(&binds, sqlx::query_as(&repo_sql))
        .fetch_all(&mut *conn)
        .await?;
    let mut by_id: HashMap<i64, Service> = HashMap::new();
    let mut order = Vec::with_capacity(rows.len());
    for r in rows {
        order.push(r.id);
        by_id.insert(
            r.id,
            Service {
                id: ServiceId(r.id),
                name: r.name,
                aliases: Vec::new(),
                repos: Vec::new(),
                created_at: Timestamp::from_unix(r.created_at),
                updated_at: Timestamp::from_unix(r.updated_at),
            },
        );
    }
    for (sid, alias) in aliases {
        if let Some(s) = by_id.get_mut(&sid) {
            s.aliases.push(ServiceAlias::parse(&alias)?);
        }
    }
    for (sid, owner, name) in repos {
        if let Some(s) = by_id.get_mut(&sid) {
            s.repos.push(RepoSlug::new(&owner, &name)?);
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect())
}

async fn load_service(conn: &mut AnyConnection, id: ServiceId) -> StoreResult<Service> {
    load_services(conn, Some(&[id.get()]))
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Gives `alias` to `service`: refuses an alias of another service, re-links the deploys
/// and incidents recorded under it, folds its generated numbers into the service's, and
/// removes its suggestion.
async fn attach_alias(
    conn: &mut AnyConnection,
    service: ServiceId,
    alias: &ServiceAlias,
) -> StoreResult<()> {
    let key = alias.key();
    let owner: Option<i64> =
        sqlx::query_scalar("SELECT service_id FROM service_aliases WHERE alias_key = $1")
            .bind(&key)
            .fetch_optional(&mut *conn)
            .await?;
    match owner {
        Some(o) if o == service.get() => return Ok(()),
        Some(_) => {
            return Err(StoreError::Conflict(format!(
                "alias {:?} belongs to another service",
                alias.as_str()
            )))
        }
        None => {}
    }
    sqlx::query("INSERT INTO service_aliases (alias_key, alias, service_id) VALUES ($1, $2, $3)")
        .bind(&key)
        .bind(alias.as_str())
        .bind(service.get())
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE ingested_deployments SET service_id = $1 \
         WHERE service_id IS NULL AND service_alias_key = $2",
    )
    .bind(service.get())
    .bind(&key)
    .execute(&mut *conn)
    .await?;
    super::dora::sync_services(conn, Some((service.get(), &key)), &[]).await?;
    // DevLake incidents name their service by `component`.
    sqlx::query(
        "UPDATE issues SET service_id = $1 WHERE service_id IS NULL AND component IS NOT NULL \
         AND LOWER(TRIM(component)) = $2",
    )
    .bind(service.get())
    .bind(&key)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM service_suggestions WHERE alias_key = $1")
        .bind(&key)
        .execute(&mut *conn)
        .await?;
    let alias_scope = format!("a:{key}");
    let alias_n: Option<i64> = sqlx::query_scalar("SELECT n FROM deploy_counters WHERE scope = $1")
        .bind(&alias_scope)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(n) = alias_n {
        raise_counter(conn, &format!("s:{}", service.get()), n).await?;
        sqlx::query("DELETE FROM deploy_counters WHERE scope = $1")
            .bind(&alias_scope)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The service an alias names, with its name.
pub(super) async fn service_of_alias(
    conn: &mut dyn Exec,
    alias_key: &str,
) -> StoreResult<Option<(i64, String)>> {
    match conn
        .row(
            "SELECT a.service_id, s.name FROM service_aliases a \
             JOIN services s ON s.id = a.service_id WHERE a.alias_key = $1",
            &[alias_key.into()],
        )
        .await?
    {
        Some(row) => Ok(Some((row.int(0)?, row.text(1)?))),
        None => Ok(None),
    }
}

/// The counter a deploy's generated number comes from: its service's, else its alias's until
/// a service takes the alias; none without either.
pub(super) fn counter_scope(service: Option<i64>, alias_key: Option<&str>) -> Option<String> {
    match (service, alias_key) {
        (Some(s), _) => Some(format!("s:{s}")),
        (None, Some(key)) => Some(format!("a:{key}")),
        (None, None) => None,
    }
}

/// Makes the counter of `scope` at least `n`.
async fn raise_counter(conn: &mut dyn Exec, scope: &str, n: i64) -> StoreResult<()> {
    conn.run(
        "INSERT INTO deploy_counters (scope, n) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE \
         SET n = CASE WHEN excluded.n > deploy_counters.n THEN excluded.n ELSE deploy_counters.n END",
        &[scope.into(), n.into()],
    )
    .await?;
    Ok(())
}

/// The next generated number of `scope`.
async fn next_number(conn: &mut dyn Exec, scope: &str) -> StoreResult<i64> {
    conn.opt_int(
        "INSERT INTO deploy_counters (scope, n) VALUES ($1, 1) ON CONFLICT (scope) DO UPDATE \
         SET n = deploy_counters.n + 1 RETURNING n",
        &[scope.into()],
    )
    .await?
    .ok_or(StoreError::NotFound)
}

/// Replaces the aliases and repositories of `service` as `input` asks.
async fn apply_service_input(
    conn: &mut AnyConnection,
    service: ServiceId,
    name: &str,
    input: &ServiceInput,
) -> StoreResult<()> {
    if let Some(aliases) = &input.aliases {
        sqlx::query("DELETE FROM service_aliases WHERE service_id = $1")
            .bind(service.get())
            .execute(&mut *conn)
            .await?;
        for alias in aliases {
            attach_alias(conn, service, alias).await?;
        }
    }
    // The name is always an alias too.
    if let Ok(alias) = ServiceAlias::parse(name) {
        attach_alias(conn, service, &alias).await?;
    }
    if let Some(repos) = &input.repos {
        let mut touched: Vec<i64> =
            sqlx::query_scalar("SELECT repo_id FROM service_repos WHERE service_id = $1")
                .bind(service.get())
                .fetch_all(&mut *conn)
                .await?;
        touched.extend(repos.iter().map(|r| r.get()));
        touched.sort_unstable();
        touched.dedup();
        sqlx::query("DELETE FROM service_repos WHERE service_id = $1")
            .bind(service.get())
            .execute(&mut *conn)
            .await?;
        for repo in repos {
            sqlx::query(
                "INSERT INTO service_repos (service_id, repo_id) VALUES ($1, $2) \
                 ON CONFLICT (service_id, repo_id) DO NOTHING",
            )
            .bind(service.get())
            .bind(repo.get())
            .execute(&mut *conn)
            .await?;
        }
        // DevLake deploys find their service through their commits' repositories: those
        // recorded before the link get it now.
        for repo in repos {
            sqlx::query(
                "UPDATE ingested_deployments SET service_id = $1 \
                 WHERE service_id IS NULL AND service_alias_key IS NULL AND id IN \
                 (SELECT deployment_id FROM ingested_commits WHERE repo_id = $2)",
            )
            .bind(service.get())
            .bind(repo.get())
            .execute(&mut *conn)
            .await?;
        }
        sqlx::query(
            "UPDATE dora_deployments SET service_id = $1 WHERE service_id IS NULL \
             AND ingested_deployment_id IN \
             (SELECT id FROM ingested_deployments WHERE service_id = $1)",
        )
        .bind(service.get())
        .execute(&mut *conn)
        .await?;
        super::dora::sync_services(conn, None, &touched).await?;
    }
    Ok(())
}

/// Commits of the ingested deploys `ids`, by deploy id.
async fn load_commits(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<IngestedCommit>>> {
    let mut out: HashMap<i64, Vec<IngestedCommit>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT c.deployment_id, c.repo_url, c.sha, c.ref_name, c.message, c.name, \
                c.authored_at, c.author, r.owner AS repo_owner, r.name AS repo_name \
         FROM ingested_commits c LEFT JOIN repos r ON r.id = c.repo_id \
         WHERE c.deployment_id IN ({}) ORDER BY c.deployment_id, c.repo_url, c.sha",
        marks.join(", ")
    );
    let binds: Vec<Bind> = ids.iter().map(|i| Bind::I64(*i)).collect();
    let rows: Vec<CommitRow> = bind_all_as(&binds, sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?;
    for row in rows {
        let (id, commit) = row.into_commit()?;
        out.entry(id).or_default().push(commit);
    }
    Ok(out)
}

async fn load_ingested(
    conn: &mut AnyConnection,
    ids: &[i64],
) -> StoreResult<HashMap<i64, IngestedDeployment>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let marks: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {INGESTED_COLS} FROM {INGESTED_FROM} WHERE d.id IN ({})",
        marks.join(", ")
    );
    let binds: Vec<Bind> = ids.iter().map(|i| Bind::I64(*i)).collect();
    let rows: Vec<IngestedRow> = bind_all_as(&binds, sqlx::query_as(&sql))
        .fetch_all(&mut *conn)
        .await?;
    let mut commits = load_commits(conn, ids).await?;
    for row in rows {
        let id = row.id;
        let c = commits.remove(&id).unwrap_or_default();
        out.insert(id, row.into_deployment(c)?);
    }
    Ok(out)
}

/// The registered repository and its first service, for a commit's repository URL.
async fn repo_of_url(
    conn: &mut dyn Exec,
    url: &str,
) -> StoreResult<Option<(RepoId, RepoSlug, Option<i64>)>> {
    let Some(key) = repo_key_from_url(url) else {
        return Ok(None);
    };
    let row = conn
        .row(
            "SELECT r.id, r.owner, r.name, \
                    (SELECT MIN(sr.service_id) FROM service_repos sr WHERE sr.repo_id = r.id) \
             FROM repos r WHERE r.full_name_key = $1",
            &[(&key).into()],
        )
        .await?;
    row.map(|r| {
        let slug = RepoSlug::new(&r.text(1)?, &r.text(2)?)?;
        Ok((RepoId(r.int(0)?), slug, r.opt_int(3)?))
    })
    .transpose()
}

/// Deploys per transaction when a queued batch is written at once (see
/// [`IngestStore::queue_deployments`]).
const WRITE_CHUNK: usize = 1_000;

/// What [`ingest_rows`] did: done, or updated a deploy the caller reads back.
enum Step {
    Done(Box<Ingested>),
    Updated(i64),
}

/// Records one ingested deploy (written against [`Exec`]: on SQLite it runs on the writer's
/// direct connection). A re-posted DevLake deploy ([`OnRepeat::Update`]) ends as
/// [`Step::Updated`]: reading it back is [`ingest`]'s.
async fn ingest_rows(conn: &mut dyn Exec, mut new: NewIngestedDeployment) -> StoreResult<Step> {
    let now = Timestamp::now().unix();
    // The service: by alias (OpsLevel), else through the commits' repositories (DevLake).
    let alias_key = new.service_alias.as_ref().map(ServiceAlias::key);
    let (mut service, service_name) = match &alias_key {
        Some(key) => service_of_alias(conn, key).await?.unzip(),
        None => (None, None),
    };
    let mut repo_ids = Vec::with_capacity(new.commits.len());
    for commit in &mut new.commits {
        let found = repo_of_url(conn, &commit.repo_url).await?;
        match found {
            Some((id, slug, svc)) => {
                commit.repo = Some(slug);
                repo_ids.push(Some(id));
                if service.is_none() && new.service_alias.is_none() {
                    service = svc;
                }
            }
            None => {
                commit.repo = None;
                repo_ids.push(None);
            }
        }
    }

    let existing: Option<i64> = match (&new.external_key, new.on_repeat) {
        (Some(key), OnRepeat::Update) => {
            conn.opt_int(
                "SELECT id FROM ingested_deployments \
                 WHERE integration_id = $1 AND external_key = $2",
                &[new.integration_id.get().into(), key.into()],
            )
            .await?
        }
        _ => None,
    };
    // The deploy number: counted per service, or per alias until a service takes it. SQLite
    // has one writer, so a generated number is taken before the row is written (written once,
    // given back if the deploy is a duplicate); PostgreSQL takes it after the insert, for the
    // lock order in the module doc.
    let scope = counter_scope(service, alias_key.as_deref());
    let number_first = match &scope {
        Some(scope)
            if !conn.is_postgres() && new.deploy_number.is_none() && new.generate_number =>
        {
            new.deploy_number = Some(next_number(conn, scope).await?.to_string());
            Some(scope)
        }
        _ => None,
    };
    macro_rules! insert_deployment {
        ($conflict:literal) => {
            concat!(
                "INSERT INTO ingested_deployments (integration_id, source, external_key, \
                     service_id, service_alias, service_alias_key, deploy_number, environment, \
                     name, description, result, deployer_name, deployer_email, deployer_id, \
                     deploy_url, started_at, finished_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                     $17, $18, $18) ON CONFLICT (integration_id, external_key) ",
                $conflict,
                " RETURNING id"
            )
        };
    }
    let insert = match new.on_repeat {
        OnRepeat::KeepFirst => insert_deployment!("DO NOTHING"),
        OnRepeat::Update => insert_deployment!(
            "DO UPDATE SET service_id = COALESCE(excluded.service_id, ingested_deployments.service_id), \
             service_alias = excluded.service_alias, service_alias_key = excluded.service_alias_key, \
             deploy_number = excluded.deploy_number, environment = excluded.environment, \
             name = excluded.name, description = excluded.description, result = excluded.result, \
             deployer_name = excluded.deployer_name, deployer_email = excluded.deployer_email, \
             deployer_id = excluded.deployer_id, deploy_url = excluded.deploy_url, \
             started_at = excluded.started_at, finished_at = excluded.finished_at, \
             updated_at = excluded.updated_at"
        ),
    };
    let id = conn
        .opt_int(
            insert,
            &deployment_vals(&new, service, alias_key.as_deref(), now),
        )
        .await?;
    let Some(id) = id else {
        if let Some(scope) = number_first {
            conn.run(
                "UPDATE deploy_counters SET n = n - 1 WHERE scope = $1",
                &[scope.into()],
            )
            .await?;
        }
        return Ok(Step::Done(Box::new(Ingested::Duplicate)));
    };
    if let (Some(scope), None) = (&scope, number_first) {
        match new.deploy_number.as_deref() {
            None if new.generate_number => {
                let n = next_number(conn, scope).await?.to_string();
                conn.run(
                    "UPDATE ingested_deployments SET deploy_number = $1 WHERE id = $2",
                    &[(&n).into(), id.into()],
                )
                .await?;
                new.deploy_number = Some(n);
            }
            Some(given) => {
                if let Some(v) = deploy_number_value(given) {
                    raise_counter(conn, scope, v).await?;
                }
            }
            None => {}
        }
    }

    macro_rules! insert_commit {
        ($conflict:literal) => {
            concat!(
                "INSERT INTO ingested_commits (deployment_id, repo_url, sha, repo_id, ref_name, \
                     message, name, authored_at, author) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (deployment_id, repo_url, sha) ",
                $conflict
            )
        };
    }
    let insert_commit = match new.on_repeat {
        OnRepeat::KeepFirst => insert_commit!("DO NOTHING"),
        OnRepeat::Update => insert_commit!(
            "DO UPDATE SET repo_id = excluded.repo_id, ref_name = excluded.ref_name, \
             message = excluded.message, name = excluded.name, \
             authored_at = excluded.authored_at, author = excluded.author"
        ),
    };
    for (commit, repo_id) in new.commits.iter().zip(&repo_ids) {
        conn.run(
            insert_commit,
            &[
                id.into(),
                (&commit.repo_url).into(),
                (&commit.sha).into(),
                repo_id.map(RepoId::get).into(),
                commit.ref_name.as_deref().into(),
                commit.message.as_deref().into(),
                commit.name.as_deref().into(),
                commit.authored_at.map(Timestamp::unix).into(),
                commit.author.as_deref().into(),
            ],
        )
        .await?;
    }

    if new.result == DeployResult::Success {
        // A re-post keeps the commits it does not repeat: DORA sees all the deploy has.
        let commits: Vec<(String, String, Option<i64>, Option<i64>)> = if existing.is_some() {
            conn.rows(
                "SELECT repo_url, sha, repo_id, authored_at FROM ingested_commits \
                 WHERE deployment_id = $1 ORDER BY repo_url, sha",
                &[id.into()],
            )
            .await?
            .iter()
            .map(|r| Ok((r.text(0)?, r.text(1)?, r.opt_int(2)?, r.opt_int(3)?)))
            .collect::<StoreResult<_>>()?
        } else {
            new.commits
                .iter()
                .zip(&repo_ids)
                .map(|(c, r)| {
                    let at = c.authored_at.map(Timestamp::unix);
                    (c.repo_url.clone(), c.sha.clone(), r.map(RepoId::get), at)
                })
                .collect()
        };
        let heads = commits
            .into_iter()
            .map(|(url, sha, repo, authored)| super::dora::Head {
                repo_key: super::dora::ingested_repo_key(
                    repo,
                    &url,
                    service,
                    alias_key.as_deref(),
                    new.integration_id.get(),
                ),
                repo_id: repo,
                named: vec![(sha.clone(), authored)],
                sha,
            })
            .collect();
        let success = super::dora::Success {
            api: None,
            ingested: Some(id),
            service,
            integration: Some(new.integration_id.get()),
            production: super::dora::is_production_name(&new.environment),
            environment: new.environment.clone(),
            finished_at: new.finished_at.unix(),
            heads,
        };
        super::dora::record_ingested(conn, success, existing.is_some()).await?;
    } else if existing.is_some() {
        super::dora::forget(conn, super::dora::Source::Ingested(id)).await?;
    }

    if existing.is_some() {
        return Ok(Step::Updated(id));
    }

    let service_matched = service.is_some() || alias_key.is_none();
    if let (None, Some(key), Some(alias)) = (service, &alias_key, &new.service_alias) {
        conn.run(
            "INSERT INTO service_suggestions (alias_key, alias, integration_id, deploy_count, \
                 dismissed, first_seen, last_seen) VALUES ($1, $2, $3, 1, 0, $4, $4) \
             ON CONFLICT (alias_key) DO UPDATE SET \
                 deploy_count = service_suggestions.deploy_count + 1, last_seen = $4",
            &[
                key.into(),
                alias.as_str().into(),
                new.integration_id.get().into(),
                now.into(),
            ],
        )
        .await?;
    }
    // Found through a repository: the name is not known yet.
    let service_name: Option<String> = match (service, service_name) {
        (Some(s), None) => match conn
            .row("SELECT name FROM services WHERE id = $1", &[s.into()])
            .await?
        {
            Some(row) => Some(row.text(0)?),
            None => None,
        },
        (_, name) => name,
    };
    let deployment = new.recorded(
        IngestedDeploymentId(id),
        service.map(ServiceId),
        service_name,
        Timestamp::from_unix(now),
    );
    Ok(Step::Done(Box::new(Ingested::Created {
        deployment,
        service_matched,
    })))
}

/// An `ingested_deployments` row's values: its columns from `integration_id` to
/// `created_at`, in the order of the inserts here and in `bulk`.
pub(super) fn deployment_vals<'a>(
    new: &'a NewIngestedDeployment,
    service: Option<i64>,
    alias_key: Option<&'a str>,
    now: i64,
) -> [Val<'a>; 18] {
    [
        new.integration_id.get().into(),
        new.source.as_str().into(),
        new.external_key.as_deref().into(),
        service.into(),
        new.service_alias.as_ref().map(ServiceAlias::as_str).into(),
        alias_key.into(),
        new.deploy_number.as_deref().into(),
        (&new.environment).into(),
        new.name.as_deref().into(),
        new.description.as_deref().into(),
        new.result.as_str().into(),
        new.deployer_name.as_deref().into(),
        new.deployer_email.as_deref().into(),
        new.deployer_id.as_deref().into(),
        new.deploy_url.as_deref().into(),
        new.started_at.unix().into(),
        new.finished_at.unix().into(),
        now.into(),
    ]
}

/// [`ingest_rows`] with a re-posted deploy read back.
async fn ingest(conn: &mut AnyConnection, new: NewIngestedDeployment) -> StoreResult<Ingested> {
    match ingest_rows(conn, new).await? {
        Step::Done(done) => Ok(*done),
        Step::Updated(id) => {
            let mut loaded = load_ingested(conn, &[id]).await?;
            let deployment = loaded.remove(&id).ok_or(StoreError::NotFound)?;
            Ok(Ingested::Updated { deployment })
        }
    }
}

/// [`ingest_rows`] for deploys never updated in place ([`OnRepeat::KeepFirst`]): what the
/// direct connection runs.
pub(super) async fn ingest_new(
    conn: &mut dyn Exec,
    new: NewIngestedDeployment,
) -> StoreResult<Ingested> {
    match ingest_rows(conn, new).await? {
        Step::Done(done) => Ok(*done),
        Step::Updated(_) => Err(StoreError::Other(
            "an updating ingest ran where it cannot be read back".into(),
        )),
    }
}

async fn issue_by_key(
    conn: &mut AnyConnection,
    integration: IntegrationId,
    key: &str,
) -> StoreResult<Option<Issue>> {
    let row: Option<IssueRow> = sqlx::query_as(&format!(
        "SELECT {ISSUE_COLS} FROM {ISSUE_FROM} WHERE i.integration_id = $1 AND i.issue_key = $2"
    ))
    .bind(integration.get())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(IssueRow::into_issue).transpose()
}

/// Pages up to this deep are read as each table's newest keys merged in memory; deeper ones
/// as one ordered `UNION ALL`.
const MERGE_LIMIT: i64 = 10_000;

/// `WHERE` clauses of the all-sources filter over `deployments`.
fn api_clauses(filter: &AllDeploymentsFilter, p: &mut Params) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(r) = filter.repo_id {
        w.push(format!("repo_id = {}", p.add(Bind::I64(r.get()))));
    }
    if let Some(s) = filter.service_id {
        w.push(format!(
            "repo_id IN (SELECT repo_id FROM service_repos WHERE service_id = {})",
            p.add(Bind::I64(s.get()))
        ));
    }
    if let Some(e) = &filter.environment {
        w.push(format!("environment = {}", p.add(Bind::Text(e.clone()))));
    }
    if let Some(t) = filter.from {
        w.push(format!("created_at >= {}", p.add(Bind::I64(t.unix()))));
    }
    if let Some(t) = filter.to {
        w.push(format!("created_at < {}", p.add(Bind::I64(t.unix()))));
    }
    w
}

/// `WHERE` clauses of the all-sources filter over `ingested_deployments`.
fn ingested_clauses(filter: &AllDeploymentsFilter, p: &mut Params) -> Vec<String> {
    let mut w = Vec::new();
    if let Some(r) = filter.repo_id {
        w.push(format!(
            "EXISTS (SELECT 1 FROM ingested_commits c \
             WHERE c.deployment_id = ingested_deployments.id AND c.repo_id = {})",
            p.add(Bind::I64(r.get()))
        ));
    }
    if let Some(s) = filter.service_id {
        w.push(format!("service_id = {}", p.add(Bind::I64(s.get()))));
    }
    if let Some(e) = &filter.environment {
        w.push(format!(
            "LOWER(environment) = {}",
            p.add(Bind::Text(e.to_lowercase()))
        ));
    }
    if let Some(s) = filter.source.filter(|s| *s != DeploymentSource::Api) {
        w.push(format!(
            "source = {}",
            p.add(Bind::Text(s.as_str().to_owned()))
        ));
    }
    if let Some(t) = filter.from {
        w.push(format!("finished_at >= {}", p.add(Bind::I64(t.unix()))));
    }
    if let Some(t) = filter.to {
        w.push(format!("finished_at < {}", p.add(Bind::I64(t.unix()))));
    }
    w
}

/// The `(repository, environment)` an API filter reduces to, when its total can be read from
/// the trigger-kept `deployment_counts` instead of counted.
fn counted(filter: &AllDeploymentsFilter) -> Option<(RepoId, Option<&str>)> {
    let only_scope = filter.service_id.is_none() && filter.from.is_none() && filter.to.is_none();
    only_scope
        .then_some(filter.repo_id)
        .flatten()
        .map(|repo| (repo, filter.environment.as_deref()))
}

// ---- the trait --------------------------------------------------------------------------

#[async_trait]
impl IngestStore for SqlStore {
    async fn create_integration(&self, new: NewIntegration) -> StoreResult<Integration> {
        self.write(move |c| {
            Box::pin(async move {
                let row: IntegrationRow = sqlx::query_as(&format!(
                    "INSERT INTO integrations (kind, name, auth, secret_hash, dedup_scope, \
                         strict_deployer, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {INTEGRATION_COLS}"
                ))
                .bind(new.kind.as_str())
                .bind(&new.name)
                .bind(new.auth.map(DevLakeAuth::as_str))
                .bind(new.secret_hash.as_deref())
                .bind(new.dedup_scope.as_str())
                .bind(b(new.strict_deployer))
                .bind(Timestamp::now().unix())
                .fetch_one(&mut *c)
                .await?;
                row.into_integration()
            })
        })
        .await
    }

    async fn list_integrations(&self) -> StoreResult<Vec<Integration>> {
        let rows: Vec<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM integrations WHERE revoked_at IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(IntegrationRow::into_integration)
            .collect()
    }

    async fn integration(&self, id: IntegrationId) -> StoreResult<Option<Integration>> {
        let row: Option<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM integrations WHERE id = $1 AND revoked_at IS NULL"
        ))
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(IntegrationRow::into_integration).transpose()
    }

    async fn integration_by_secret(&self, secret_hash: &str) -> StoreResult<Option<Integration>> {
        let row: Option<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM integrations \
             WHERE secret_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(IntegrationRow::into_integration).transpose()
    }

    async fn integrations_by_name(&self, name: &str) -> StoreResult<Vec<Integration>> {
        let rows: Vec<IntegrationRow> = sqlx::query_as(&format!(
            "SELECT {INTEGRATION_COLS} FROM integrations \
             WHERE LOWER(name) = LOWER($1) AND revoked_at IS NULL ORDER BY id"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(IntegrationRow::into_integration)
            .collect()
    }

    async fn revoke_integration(&self, id: IntegrationId) -> StoreResult<()> {
        self.write(move |c| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE integrations SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                )
                .bind(Timestamp::now().unix())
                .bind(id.get())
                .execute(&mut *c)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn create_service(&self, input: ServiceInput) -> StoreResult<Service> {
        self.write(move |c| {
            Box::pin(async move {
                let name = input
                    .name
                    .clone()
                    .ok_or_else(|| StoreError::Other("a service needs a name".into()))?;
                let now = Timestamp::now().unix();
                let taken: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM services WHERE name_key = $1")
                        .bind(name.to_lowercase())
                        .fetch_optional(&mut *c)
                        .await?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "a service named {name:?} exists"
                    )));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO services (name, name_key, created_at, updated_at) \
                     VALUES ($1, $2, $3, $3) RETURNING id",
                )
                .bind(&name)
                .bind(name.to_lowercase())
                .bind(now)
                .fetch_one(&mut *c)
                .await?;
                apply_service_input(c, ServiceId(id), &name, &input).await?;
                load_service(c, ServiceId(id)).await
            })
        })
        .await
    }

    async fn list_services(&self) -> StoreResult<Vec<Service>> {
        let mut conn = self.pool.acquire().await?;
        load_services(&mut conn, None).await
    }

    async fn service_by_name(&self, name: &str) -> StoreResult<Option<Service>> {
        let key = name.trim().to_lowercase();
        let mut conn = self.pool.acquire().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM services WHERE name_key = $1 \
             UNION ALL SELECT service_id FROM service_aliases WHERE alias_key = $1",
        )
        .bind(&key)
        .fetch_optional(&mut *conn)
        .await?;
        match id {
            Some(id) => Ok(load_services(&mut conn, Some(&[id])).await?.pop()),
            None => Ok(None),
        }
    }

    async fn update_service(&self, id: ServiceId, input: ServiceInput) -> StoreResult<Service> {
        self.write(move |c| {
            Box::pin(async move {
                let current: Option<String> =
                    sqlx::query_scalar("SELECT name FROM services WHERE id = $1")
                        .bind(id.get())
                        .fetch_optional(&mut *c)
                        .await?;
                let current = current.ok_or(StoreError::NotFound)?;
                let name = input.name.clone().unwrap_or(current);
                let taken: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM services WHERE name_key = $1 AND id <> $2")
                        .bind(name.to_lowercase())
                        .bind(id.get())
                        .fetch_optional(&mut *c)
                        .await?;
                if taken.is_some() {
                    return Err(StoreError::Conflict(format!(
                        "a service named {name:?} exists"
                    )));
                }
                sqlx::query(
                    "UPDATE services SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(&name)
                .bind(name.to_lowercase())
                .bind(Timestamp::now().unix())
                .bind(id.get())
                .execute(&mut *c)
                .await?;
                apply_service_input(c, id, &name, &input).await?;
                load_service(c, id).await
            })
        })
        .await
    }

    async fn delete_service(&self, id: ServiceId) -> StoreResult<()> {
        self.write(move |c| {
            Box::pin(async move {
                // Explicit rather than relying on ON DELETE actions: SQLite enforces them
                // only with foreign keys on, which every ferry connection has, but the
                // statement order documents what a delete keeps.
                let repos: Vec<i64> =
                    sqlx::query_scalar("SELECT repo_id FROM service_repos WHERE service_id = $1")
                        .bind(id.get())
                        .fetch_all(&mut *c)
                        .await?;
                for sql in [
                    "UPDATE ingested_deployments SET service_id = NULL WHERE service_id = $1",
                    "UPDATE dora_deployments SET service_id = NULL WHERE service_id = $1",
                    "UPDATE issues SET service_id = NULL WHERE service_id = $1",
                    "DELETE FROM service_aliases WHERE service_id = $1",
                    "DELETE FROM service_repos WHERE service_id = $1",
                ] {
                    sqlx::query(sql).bind(id.get()).execute(&mut *c).await?;
                }
                super::dora::sync_services(c, None, &repos).await?;
                let done = sqlx::query("DELETE FROM services WHERE id = $1")
                    .bind(id.get())
                    .execute(&mut *c)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn list_suggestions(&self) -> StoreResult<Vec<Suggestion>> {
        let rows: Vec<SuggestionRow> = sqlx::query_as(&format!(
            "SELECT {SUGGESTION_COLS} FROM service_suggestions WHERE dismissed = 0 \
             ORDER BY deploy_count DESC, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(SuggestionRow::into_suggestion)
            .collect())
    }

    async fn accept_suggestion(&self, id: SuggestionId, into: AcceptInto) -> StoreResult<Service> {
        self.write(move |c| {
            Box::pin(async move {
                let row: Option<SuggestionRow> = sqlx::query_as(&format!(
                    "SELECT {SUGGESTION_COLS} FROM service_suggestions WHERE id = $1"
                ))
                .bind(id.get())
                .fetch_optional(&mut *c)
                .await?;
                let suggestion = row.ok_or(StoreError::NotFound)?.into_suggestion();
                let alias = ServiceAlias::parse(&suggestion.alias)?;
                let service = match into {
                    AcceptInto::Existing(s) => {
                        let exists: Option<i64> =
                            sqlx::query_scalar("SELECT id FROM services WHERE id = $1")
                                .bind(s.get())
                                .fetch_optional(&mut *c)
                                .await?;
                        ServiceId(exists.ok_or(StoreError::NotFound)?)
                    }
                    AcceptInto::New(name) => {
                        let now = Timestamp::now().unix();
                        let taken: Option<i64> =
                            sqlx::query_scalar("SELECT id FROM services WHERE name_key = $1")
                                .bind(name.to_lowercase())
                                .fetch_optional(&mut *c)
                                .await?;
                        if taken.is_some() {
                            return Err(StoreError::Conflict(format!(
                                "a service named {name:?} exists"
                            )));
                        }
                        let sid: i64 = sqlx::query_scalar(
                            "INSERT INTO services (name, name_key, created_at, updated_at) \
                             VALUES ($1, $2, $3, $3) RETURNING id",
                        )
                        .bind(&name)
                        .bind(name.to_lowercase())
                        .bind(now)
                        .fetch_one(&mut *c)
                        .await?;
                        let sid = ServiceId(sid);
                        if let Ok(name_alias) = ServiceAlias::parse(&name) {
                            if name_alias.key() != alias.key() {
                                attach_alias(c, sid, &name_alias).await?;
                            }
                        }
                        sid
                    }
                };
                attach_alias(c, service, &alias).await?;
                sqlx::query("UPDATE services SET updated_at = $1 WHERE id = $2")
                    .bind(Timestamp::now().unix())
                    .bind(service.get())
                    .execute(&mut *c)
                    .await?;
                load_service(c, service).await
            })
        })
        .await
    }

    async fn dismiss_suggestion(&self, id: SuggestionId) -> StoreResult<()> {
        self.write(move |c| {
            Box::pin(async move {
                let done = sqlx::query(
                    "UPDATE service_suggestions SET dismissed = 1 WHERE id = $1 AND dismissed = 0",
                )
                .bind(id.get())
                .execute(&mut *c)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
        })
        .await
    }

    async fn ingest_deployment(&self, new: NewIngestedDeployment) -> StoreResult<Ingested> {
        match new.on_repeat {
            OnRepeat::KeepFirst => {
                self.write_direct(move |c| Box::pin(ingest_new(c, new)))
                    .await
            }
            OnRepeat::Update => self.write(move |c| Box::pin(ingest(c, new))).await,
        }
    }

    async fn ingest_deployments(
        &self,
        batch: Vec<NewIngestedDeployment>,
    ) -> StoreResult<Vec<Ingested>> {
        if batch.iter().all(|n| n.on_repeat == OnRepeat::KeepFirst) {
            return self
                .write_direct(move |c| Box::pin(super::bulk::ingest_batch(c, batch)))
                .await;
        }
        self.write(move |c| {
            Box::pin(async move {
                let mut out = Vec::with_capacity(batch.len());
                for new in batch {
                    out.push(ingest(c, new).await?);
                }
                Ok(out)
            })
        })
        .await
    }

    async fn queue_deployments(
        &self,
        batch: Vec<NewIngestedDeployment>,
    ) -> StoreResult<Queued<Vec<Ingested>>> {
        if let Some(writer) = &self.writer {
            if batch.iter().all(|n| n.on_repeat == OnRepeat::KeepFirst) {
                return writer
                    .queue_direct(move |c| Box::pin(super::bulk::ingest_batch(c, batch)))
                    .await;
            }
        }
        // Written now, in transactions of [`WRITE_CHUNK`]: on PostgreSQL a transaction holds
        // the counter rows of its services against live posts until it ends.
        let mut done = Vec::with_capacity(batch.len());
        let mut rest = batch;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(WRITE_CHUNK));
            done.extend(self.ingest_deployments(rest).await?);
            rest = tail;
        }
        Ok(Box::pin(std::future::ready(Ok(done))))
    }

    async fn list_all_deployments(
        &self,
        filter: &AllDeploymentsFilter,
        page: Page,
    ) -> StoreResult<(Vec<AnyDeployment>, u64)> {
        let want_api = matches!(filter.source, None | Some(DeploymentSource::Api));
        let want_ingested = filter.source != Some(DeploymentSource::Api);
        let mut conn = self.pool.acquire().await?;
        let need = page.offset().saturating_add(page.limit());
        let (keys, total) = if need <= MERGE_LIMIT {
            // Each table's newest `need` keys through its own indexes (API deployments by
            // id, which follows their creation time), merged here.
            let mut keys: Vec<(i64, i64, i64)> = Vec::new();
            let mut total = 0i64;
            if want_api {
                let mut p = Params { binds: Vec::new() };
                let w = api_clauses(filter, &mut p);
                let sql = format!(
                    "SELECT created_at, id FROM deployments {} ORDER BY id DESC LIMIT {need}",
                    where_sql(&w)
                );
                let rows: Vec<(i64, i64)> = bind_all_as(&p.binds, sqlx::query_as(&sql))
                    .fetch_all(&mut *conn)
                    .await?;
                keys.extend(rows.into_iter().map(|(ts, id)| (ts, 0, id)));
                total += match counted(filter) {
                    Some((repo, environment)) => count_of(&mut *conn, repo, environment).await?,
                    None => {
                        let sql = format!("SELECT COUNT(*) FROM deployments {}", where_sql(&w));
                        bind_all_scalar(&p.binds, sqlx::query_scalar(&sql))
                            .fetch_one(&mut *conn)
                            .await?
                    }
                };
            }
            if want_ingested {
                let mut p = Params { binds: Vec::new() };
                let w = ingested_clauses(filter, &mut p);
                let sql = format!(
                    "SELECT finished_at, id FROM ingested_deployments {} \
                     ORDER BY finished_at DESC, id DESC LIMIT {need}",
                    where_sql(&w)
                );
                let rows: Vec<(i64, i64)> = bind_all_as(&p.binds, sqlx::query_as(&sql))
                    .fetch_all(&mut *conn)
                    .await?;
                keys.extend(rows.into_iter().map(|(ts, id)| (ts, 1, id)));
                let sql = format!(
                    "SELECT COUNT(*) FROM ingested_deployments {}",
                    where_sql(&w)
                );
                let n: i64 = bind_all_scalar(&p.binds, sqlx::query_scalar(&sql))
                    .fetch_one(&mut *conn)
                    .await?;
                total += n;
            }
            keys.sort_unstable_by(|a, b| b.cmp(a));
            let page_keys: Vec<(i64, i64)> = keys
                .into_iter()
                .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
                .take(usize::try_from(page.limit()).unwrap_or(0))
                .map(|(_, kind, id)| (kind, id))
                .collect();
            (page_keys, total)
        } else {
            // A deep page: one ordered UNION ALL in the database.
            let mut p = Params { binds: Vec::new() };
            let mut parts = Vec::new();
            if want_api {
                let w = api_clauses(filter, &mut p);
                parts.push(format!(
                    "SELECT CAST(0 AS BIGINT) AS kind, id, created_at AS ts FROM deployments {}",
                    where_sql(&w)
                ));
            }
            if want_ingested {
                let w = ingested_clauses(filter, &mut p);
                parts.push(format!(
                    "SELECT CAST(1 AS BIGINT) AS kind, id, finished_at AS ts \
                     FROM ingested_deployments {}",
                    where_sql(&w)
                ));
            }
            let union = parts.join(" UNION ALL ");
            let n = p.binds.len();
            let sql = format!(
                "SELECT kind, id FROM ({union}) u ORDER BY ts DESC, kind DESC, id DESC \
                 LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            );
            let keys: Vec<(i64, i64)> = bind_all_as(&p.binds, sqlx::query_as(&sql))
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(&mut *conn)
                .await?;
            let count_sql = format!("SELECT COUNT(*) FROM ({union}) u");
            let total: i64 = bind_all_scalar(&p.binds, sqlx::query_scalar(&count_sql))
                .fetch_one(&mut *conn)
                .await?;
            (keys, total)
        };

        let api_ids: Vec<i64> = keys.iter().filter(|k| k.0 == 0).map(|k| k.1).collect();
        let ing_ids: Vec<i64> = keys.iter().filter(|k| k.0 == 1).map(|k| k.1).collect();
        let mut api_rows: HashMap<i64, Deployment> = HashMap::new();
        if !api_ids.is_empty() {
            let marks: Vec<String> = (1..=api_ids.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {DEPLOYMENT_COLS} FROM deployments WHERE id IN ({})",
                marks.join(", ")
            );
            let binds: Vec<Bind> = api_ids.iter().map(|i| Bind::I64(*i)).collect();
            let rows: Vec<DeploymentRow> = bind_all_as(&binds, sqlx::query_as(&sql))
                .fetch_all(&mut *conn)
                .await?;
            for row in rows {
                let d = row.into_deployment()?;
                api_rows.insert(d.id.get(), d);
            }
        }
        let mut ing_rows = load_ingested(&mut conn, &ing_ids).await?;
        let mut items = Vec::with_capacity(keys.len());
        for (kind, id) in keys {
            if kind == 0 {
                if let Some(d) = api_rows.remove(&id) {
                    items.push(AnyDeployment::Api(d));
                }
            } else if let Some(d) = ing_rows.remove(&id) {
                items.push(AnyDeployment::Ingested(d));
            }
        }
        Ok((items, total.max(0) as u64))
    }

    async fn upsert_issue(&self, new: NewIssue) -> StoreResult<Issue> {
        self.write(move |c| {
            Box::pin(async move {
                let now = Timestamp::now().unix();
                let service: Option<i64> = match &new.component {
                    Some(comp) if !comp.trim().is_empty() => {
                        sqlx::query_scalar(
                            "SELECT service_id FROM service_aliases WHERE alias_key = $1",
                        )
                        .bind(comp.trim().to_lowercase())
                        .fetch_optional(&mut *c)
                        .await?
                    }
                    _ => None,
                };
                sqlx::query(
                    "INSERT INTO issues (integration_id, issue_key, title, status, original_status, \
                         issue_type, incident, service_id, url, description, priority, severity, \
                         component, created_date, updated_date, resolution_date, lead_time_minutes, \
                         fields, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                         $17, $18, $19, $19) \
                     ON CONFLICT (integration_id, issue_key) DO UPDATE SET title = excluded.title, \
                         status = excluded.status, original_status = excluded.original_status, \
                         issue_type = excluded.issue_type, incident = excluded.incident, \
                         service_id = excluded.service_id, url = excluded.url, \
                         description = excluded.description, priority = excluded.priority, \
                         severity = excluded.severity, component = excluded.component, \
                         created_date = excluded.created_date, updated_date = excluded.updated_date, \
                         resolution_date = excluded.resolution_date, \
                         lead_time_minutes = excluded.lead_time_minutes, fields = excluded.fields, \
                         updated_at = excluded.updated_at",
                )
                .bind(new.integration_id.get())
                .bind(&new.issue_key)
                .bind(&new.title)
                .bind(new.status.as_str())
                .bind(&new.original_status)
                .bind(new.issue_type.as_deref())
                .bind(b(new.incident))
                .bind(service)
                .bind(new.url.as_deref())
                .bind(new.description.as_deref())
                .bind(new.priority.as_deref())
                .bind(new.severity.as_deref())
                .bind(new.component.as_deref())
                .bind(new.created_date.unix())
                .bind(new.updated_date.map(Timestamp::unix))
                .bind(new.resolution_date.map(Timestamp::unix))
                .bind(new.lead_time_minutes)
                .bind(&new.fields)
                .bind(now)
                .execute(&mut *c)
                .await?;
                issue_by_key(c, new.integration_id, &new.issue_key)
                    .await?
                    .ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    async fn close_issue(
        &self,
        integration: IntegrationId,
        issue_key: &str,
        now: Timestamp,
    ) -> StoreResult<Issue> {
        let key = issue_key.to_owned();
        self.write(move |c| {
            Box::pin(async move {
                let issue = issue_by_key(c, integration, &key)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                if issue.status == IssueStatus::Done && issue.resolution_date.is_some() {
                    return Ok(issue);
                }
                let resolved = issue.resolution_date.unwrap_or(now);
                let lead = match issue.lead_time_minutes {
                    Some(m) if m > 0 => m,
                    _ => lead_time_minutes(issue.created_date, resolved),
                };
                sqlx::query(
                    "UPDATE issues SET status = 'DONE', resolution_date = $1, \
                     lead_time_minutes = $2, updated_at = $3 WHERE id = $4",
                )
                .bind(resolved.unix())
                .bind(lead)
                .bind(now.unix())
                .bind(issue.id.get())
                .execute(&mut *c)
                .await?;
                issue_by_key(c, integration, &key)
                    .await?
                    .ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: Page,
    ) -> StoreResult<(Vec<Issue>, u64)> {
        let mut p = Params { binds: Vec::new() };
        let mut w = vec!["i.incident = 1".to_owned()];
        if let Some(s) = filter.service_id {
            w.push(format!("i.service_id = {}", p.add(Bind::I64(s.get()))));
        }
        if let Some(s) = filter.status {
            w.push(format!(
                "i.status = {}",
                p.add(Bind::Text(s.as_str().to_owned()))
            ));
        }
        if let Some(t) = filter.from {
            w.push(format!("i.created_date >= {}", p.add(Bind::I64(t.unix()))));
        }
        if let Some(t) = filter.to {
            w.push(format!("i.created_date < {}", p.add(Bind::I64(t.unix()))));
        }
        let n = p.binds.len();
        let sql = format!(
            "SELECT {ISSUE_COLS} FROM {ISSUE_FROM} {} ORDER BY i.created_date DESC, i.id DESC \
             LIMIT ${} OFFSET ${}",
            where_sql(&w),
            n + 1,
            n + 2
        );
        let rows: Vec<IssueRow> = bind_all_as(&p.binds, sqlx::query_as(&sql))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        let count_sql = format!("SELECT COUNT(*) FROM issues i {}", where_sql(&w));
        let total: i64 = bind_all_scalar(&p.binds, sqlx::query_scalar(&count_sql))
            .fetch_one(&self.pool)
            .await?;
        let items = rows
            .into_iter()
            .map(IssueRow::into_issue)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total.max(0) as u64))
    }
}
