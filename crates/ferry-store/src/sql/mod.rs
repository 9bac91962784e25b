//! [`SqlStore`]: every store trait, implemented once over sqlx's `Any` driver.
//!
//! Queries use only what SQLite and PostgreSQL share. Row types are private and turned into
//! domain records by `into_*` functions that parse every state and value, so a bad row
//! surfaces as [`StoreError::Corrupt`] instead of a panic.

mod bulk;
mod dora;
mod exec;
mod ingest;
mod postgres;
mod rows;
mod sqlite;
mod webhooks;

use crate::model::*;
use crate::traits::*;
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use ferry_domain::deployment::{
    check_required_contexts, should_auto_inactivate, InactivationCandidate, RequiredContexts,
};
use ferry_domain::{
    deployment::may_delete, CommitState, DeploymentId, EnvName, Page, RepoId, RepoSlug, Scope, Sha,
    StatusId, StatusState, Timestamp, TokenId,
};
use rows::*;
use sqlx::any::AnyArguments;
use sqlx::query::{QueryAs, QueryScalar};
use sqlx::Any;
use sqlx::AnyConnection;
use sqlx::AnyPool;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Once};
use tokio::sync::Notify;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL store. Cheap to share behind an `Arc`.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the group-commit writer every write goes through (see `sql/sqlite.rs`).
    writer: Option<sqlite::GroupCommit>,
    /// SQLite with a file only: direct read connections for reads of many rows.
    readers: Option<Arc<sqlite::Readers>>,
    /// Woken after commits that enqueued webhook deliveries (`WebhookStore::outbox_signal`).
    outbox: Arc<Notify>,
    /// PostgreSQL only: where `LISTEN ferry_outbox` connects, once asked for.
    listen_url: Option<String>,
    listening: std::sync::Once,
    /// PostgreSQL only: batches inbound GitHub delivery records (`sql/webhooks.rs`).
    recorder: std::sync::OnceLock<webhooks::Recorder>,
    /// SQLite only: whether any event target exists at all (`webhooks::Targets`).
    targets: Arc<webhooks::Targets>,
}

/// A unit of writing: runs on a connection inside a transaction the caller does not see.
/// Boxed futures because jobs travel to SQLite's writer thread.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Opens the database named by `url` (`sqlite://PATH` or `postgres://…`). Does not migrate.
pub async fn connect(url: &str) -> StoreResult<SqlStore> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let (backend, pool, file) = if url.starts_with("sqlite:") {
        let (pool, file) = sqlite::connect(url).await?;
        (Backend::Sqlite, pool, file)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (Backend::Postgres, postgres::connect(url).await?, None)
    } else {
        return Err(StoreError::Other(
            "unsupported database URL: use sqlite://PATH or postgres://…".into(),
        ));
    };
    let writer = match backend {
        Backend::Sqlite => Some(sqlite::GroupCommit::start(&pool, file.as_deref()).await?),
        Backend::Postgres => None,
    };
    Ok(SqlStore {
        pool,
        backend,
        writer,
        readers: file.as_deref().map(sqlite::Readers::new),
        outbox: Arc::new(Notify::new()),
        listen_url: (backend == Backend::Postgres).then(|| url.to_owned()),
        listening: std::sync::Once::new(),
        recorder: std::sync::OnceLock::new(),
        targets: Arc::new(webhooks::Targets::new(backend == Backend::Sqlite)),
    })
}

/// Applies pending migrations of the store's backend.
pub async fn migrate(store: &SqlStore) -> StoreResult<()> {
    let migrator = match store.backend {
        Backend::Sqlite => &sqlite::MIGRATOR,
        Backend::Postgres => &postgres::MIGRATOR,
    };
    migrator
        .run(&store.pool)
        .await
        .map_err(|e| StoreError::Other(format!("migration failed: {e}")))
}

impl SqlStore {
    /// `create_status`; `mirror` says whether its events also go to the repository's GitHub
    /// (not for a status that came from there).
    pub(crate) async fn create_status_as(
        &self,
        repo: RepoId,
        new: NewStatus,
        mirror: webhooks::Mirror,
    ) -> StoreResult<StatusCreated> {
        let targets = Arc::clone(&self.targets);
        let (created, queued) = self
            .write(move |c| {
                Box::pin(async move {
                    let dep: Option<DeploymentRow> = sqlx::query_as(&format!(
                        "SELECT {DEPLOYMENT_COLS} FROM deployments WHERE id = $1 AND repo_id = $2"
                    ))
                    .bind(new.deployment_id.get())
                    .bind(repo.get())
                    .fetch_optional(&mut *c)
                    .await?;
                    let dep = dep.ok_or(StoreError::NotFound)?.into_deployment()?;
                    // The deployment's environment always equals its latest status's (decision D2), so
                    // inheriting it is inheriting "the previous status's, else the deployment's".
                    let environment = new.environment.clone().unwrap_or(dep.environment.clone());
                    let now = Timestamp::now().unix();
                    let (status, mut queued) = insert_status(
                        c,
                        repo,
                        dep.id,
                        new.state,
                        &new.description,
                        &environment,
                        (&new.target_url, &new.log_url, &new.environment_url),
                        &new.creator,
                        now,
                        mirror,
                        &targets,
                    )
                    .await?;
                    ensure_environment(c, repo, &environment, now).await?;
                    match new.state {
                        StatusState::Success => {
                            dora::record_api_success(
                                c,
                                dep.id.get(),
                                environment.as_str(),
                                dep.production_environment,
                                now,
                            )
                            .await?
                        }
                        StatusState::Failure | StatusState::Error => {
                            dora::forget(c, dora::Source::Api(dep.id.get())).await?
                        }
                        _ => {}
                    }

                    let mut inactivated = Vec::new();
                    if new.state == StatusState::Success && new.auto_inactive {
                        // Narrowed in SQL for the index; the rule itself is the domain's.
                        let candidates: Vec<DeploymentRow> = sqlx::query_as(&format!(
                            "SELECT {DEPLOYMENT_COLS} FROM deployments \
                 WHERE repo_id = $1 AND environment = $2 AND id < $3 AND latest_state = 'success'"
                        ))
                        .bind(repo.get())
                        .bind(environment.as_str())
                        .bind(dep.id.get())
                        .fetch_all(&mut *c)
                        .await?;
                        for candidate in candidates {
                            let d = candidate.into_deployment()?;
                            let candidate = InactivationCandidate {
                                environment: d.environment.as_str(),
                                transient: d.transient_environment,
                                production: d.production_environment,
                                latest_state: d.latest_state,
                            };
                            if should_auto_inactivate(environment.as_str(), &candidate) {
                                let (s, q) = insert_status(
                                    c,
                                    repo,
                                    d.id,
                                    StatusState::Inactive,
                                    "",
                                    &d.environment,
                                    ("", "", ""),
                                    &new.creator,
                                    now,
                                    mirror,
                                    &targets,
                                )
                                .await?;
                                queued |= q;
                                inactivated.push(s);
                            }
                        }
                    }
                    Ok((
                        StatusCreated {
                            status,
                            inactivated,
                        },
                        queued,
                    ))
                })
            })
            .await?;
        self.wake_outbox(queued);
        Ok(created)
    }

    fn is_postgres(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// PostgreSQL: forwards `NOTIFY ferry_outbox` (sent by any instance's commit) to the
    /// outbox signal. Reconnects after a lost connection, waking the worker once so it rescans.
    fn start_listener(&self) {
        let Some(url) = self.listen_url.clone() else {
            return;
        };
        let signal = Arc::clone(&self.outbox);
        self.listening.call_once(move || {
            tokio::spawn(postgres::listen_outbox(url, signal));
        });
    }

    /// Runs `job` in a write transaction and returns its result once committed.
    ///
    /// On SQLite the job joins the group-commit writer's next batch; on PostgreSQL it gets a
    /// transaction of its own. Either way a job that fails leaves nothing behind, and `Ok`
    /// means the change is durable.
    async fn write<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        if let Some(writer) = &self.writer {
            return writer.run(job).await;
        }
        let mut tx = self.pool.begin().await?;
        let result = job(&mut tx).await;
        if result.is_ok() {
            tx.commit().await?;
        }
        result
    }

    /// [`write`](Self::write) for a job written against [`exec::Exec`]: on SQLite it runs on
    /// the writer's direct connection (no thread hand-off per statement).
    async fn write_direct<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut dyn exec::Exec) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run_direct(job).await,
            None => self.write(move |c| job(c)).await,
        }
    }

    /// Wakes the outbox worker after a commit that queued deliveries (and only then: a claim
    /// is a write of its own).
    fn wake_outbox(&self, queued: webhooks::Queued) {
        if queued.0 {
            self.outbox.notify_one();
        }
    }

    /// [`write`](Self::write) for a change to what events are delivered to (subscriptions,
    /// mirror mode): what [`webhooks::Targets`] remembers is forgotten inside the job, so the
    /// writer's next enqueue reads it again, and once more after the outcome is known.
    async fn write_targets<T, F>(&self, job: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut AnyConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
    {
        let targets = Arc::clone(&self.targets);
        let result = self
            .write(move |c| {
                targets.forget();
                job(c)
            })
            .await;
        self.targets.forget();
        result
    }

    /// Closes the pool (tests drop their database afterwards).
    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.stop().await;
        }
        self.pool.close().await;
    }
}

fn b(v: bool) -> i64 {
    i64::from(v)
}

/// A value bound to a dynamically built query.
enum Bind {
    I64(i64),
    Text(String),
}

/// Builds `WHERE` clauses with `$N` placeholders numbered in order.
#[derive(Default)]
struct Where {
    clauses: Vec<String>,
    binds: Vec<Bind>,
}

impl Where {
    fn push(&mut self, column: &str, op: &str, value: Bind) {
        self.binds.push(value);
        self.clauses
            .push(format!("{column} {op} ${}", self.binds.len()));
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    fn next_param(&self) -> usize {
        self.binds.len() + 1
    }

    fn bind_as<'q, O>(
        &'q self,
        mut q: QueryAs<'q, Any, O, AnyArguments<'q>>,
    ) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
        for v in &self.binds {
            q = match v {
                Bind::I64(x) => q.bind(*x),
                Bind::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }

    fn bind_scalar<'q, O>(
        &'q self,
        mut q: QueryScalar<'q, Any, O, AnyArguments<'q>>,
    ) -> QueryScalar<'q, Any, O, AnyArguments<'q>> {
        for v in &self.binds {
            q = match v {
                Bind::I64(x) => q.bind(*x),
                Bind::Text(s) => q.bind(s.as_str()),
            };
        }
        q
    }
}

fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, new: NewToken) -> StoreResult<Token> {
        self.write(move |c| {
            Box::pin(async move {
                let now = Timestamp::now().unix();
                let row: TokenRow = sqlx::query_as(
            "INSERT INTO tokens (name, scopes, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, name, scopes, created_at",
        )
        .bind(&new.name)
        .bind(scopes_to_text(&new.scopes))
        .bind(&new.token_hash)
        .bind(now)
        .fetch_one(&mut *c)
        .await?;
                row.into_token()
            })
        })
        .await
    }

    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<Token>> {
        let row: Option<TokenRow> =
            sqlx::query_as("SELECT id, name, scopes, created_at FROM tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(TokenRow::into_token).transpose()
    }

    async fn list_tokens(&self) -> StoreResult<Vec<Token>> {
        let rows: Vec<TokenRow> =
            sqlx::query_as("SELECT id, name, scopes, created_at FROM tokens ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(TokenRow::into_token).collect()
    }

    async fn delete_token(&self, id: TokenId) -> StoreResult<()> {
        self.write(move |c| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM tokens WHERE id = $1")
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

    async fn ensure_token(&self, new: NewToken) -> StoreResult<Token> {
        if let Some(t) = self.token_by_hash(&new.token_hash).await? {
            return Ok(t);
        }
        match self.create_token(new.clone()).await {
            // Another instance inserted it first.
            Err(StoreError::Conflict(_)) => self
                .token_by_hash(&new.token_hash)
                .await?
                .ok_or(StoreError::NotFound),
            other => other,
        }
    }

    async fn count_admin_tokens(&self) -> StoreResult<u64> {
        let rows: Vec<TokenRow> = sqlx::query_as("SELECT id, name, scopes, created_at FROM tokens")
            .fetch_all(&self.pool)
            .await?;
        let mut n = 0;
        for r in rows {
            if r.into_token()?.scopes.contains(&Scope::Admin) {
                n += 1;
            }
        }
        Ok(n)
    }
}

const REPO_COLS: &str =
    "id, owner, name, git_url, default_branch, github_webhook_secret, github_api_url, \
     github_token, github_mirror, github_app_id, github_installation_id, github_private_key, \
     created_at, updated_at";

#[async_trait]
impl RepoStore for SqlStore {
    async fn create_repo(&self, new: NewRepo) -> StoreResult<Repo> {
        self.write(move |c| {
            Box::pin(async move {
                let now = Timestamp::now().unix();
                let row: RepoRow = sqlx::query_as(&format!(
                    "INSERT INTO repos (owner, name, full_name_key, git_url, default_branch, \
                 github_webhook_secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {REPO_COLS}"
                ))
                .bind(new.slug.owner())
                .bind(new.slug.name())
                .bind(new.slug.key())
                .bind(new.git_url.as_deref())
                .bind(&new.default_branch)
                .bind(new.github_webhook_secret.as_deref())
                .bind(now)
                .fetch_one(&mut *c)
                .await?;
                row.into_repo()
            })
        })
        .await
    }

    async fn repo_by_slug(&self, slug: &RepoSlug) -> StoreResult<Option<Repo>> {
        let row: Option<RepoRow> = sqlx::query_as(&format!(
            "SELECT {REPO_COLS} FROM repos WHERE full_name_key = $1"
        ))
        .bind(slug.key())
        .fetch_optional(&self.pool)
        .await?;
        row.map(RepoRow::into_repo).transpose()
    }

    async fn repo_by_id(&self, id: RepoId) -> StoreResult<Option<Repo>> {
        let row: Option<RepoRow> =
            sqlx::query_as(&format!("SELECT {REPO_COLS} FROM repos WHERE id = $1"))
                .bind(id.get())
                .fetch_optional(&self.pool)
                .await?;
        row.map(RepoRow::into_repo).transpose()
    }

    async fn update_repo(&self, slug: &RepoSlug, patch: RepoPatch) -> StoreResult<Repo> {
        let key = slug.key();
        self.write_targets(move |c| {
            Box::pin(async move {
                let old: RepoRow = sqlx::query_as(&format!(
                    "SELECT {REPO_COLS} FROM repos WHERE full_name_key = $1"
                ))
                .bind(&key)
                .fetch_optional(&mut *c)
                .await?
                .ok_or(StoreError::NotFound)?;
                let old = old.into_repo()?;
                let mirror = patch.github_mirror.unwrap_or(old.github_mirror);
                let row: RepoRow = sqlx::query_as(&format!(
                    "UPDATE repos SET default_branch = $1, \
                         github_webhook_secret = $2, updated_at = $3, github_api_url = $5, \
                         github_token = $6, github_mirror = $7, github_app_id = $8, \
                         github_installation_id = $9, github_private_key = $10 WHERE id = $4 \
                     RETURNING {REPO_COLS}"
                ))
                .bind(patch.default_branch.unwrap_or(old.default_branch))
                .bind(
                    patch
                        .github_webhook_secret
                        .unwrap_or(old.github_webhook_secret),
                )
                .bind(Timestamp::now().unix())
                .bind(old.id.get())
                .bind(mirror.as_ref().map(|m| m.api_url.clone()))
                .bind(mirror.as_ref().and_then(|m| match &m.auth {
                    GithubAuth::Token(t) => Some(t.clone()),
                    GithubAuth::App { .. } => None,
                }))
                .bind(b(mirror.is_some()))
                .bind(mirror.as_ref().and_then(|m| match &m.auth {
                    GithubAuth::App { app_id, .. } => Some(*app_id),
                    GithubAuth::Token(_) => None,
                }))
                .bind(mirror.as_ref().and_then(|m| match &m.auth {
                    GithubAuth::App {
                        installation_id, ..
                    } => Some(*installation_id),
                    GithubAuth::Token(_) => None,
                }))
                .bind(mirror.as_ref().and_then(|m| match &m.auth {
                    GithubAuth::App { private_key, .. } => Some(private_key.clone()),
                    GithubAuth::Token(_) => None,
                }))
                .fetch_one(&mut *c)
                .await?;
                row.into_repo()
            })
        })
        .await
    }

    async fn list_repos(&self) -> StoreResult<Vec<Repo>> {
        let rows: Vec<RepoRow> = sqlx::query_as(&format!(
            "SELECT {REPO_COLS} FROM repos ORDER BY full_name_key"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(RepoRow::into_repo).collect()
    }
}

const DEPLOYMENT_COLS: &str = "id, repo_id, source, sha, ref, task, payload, environment, \
    original_environment, description, transient_environment, production_environment, \
    creator_id, creator_login, creator_bot, latest_state, created_at, updated_at";

const STATUS_COLS: &str = "id, deployment_id, state, description, environment, target_url, \
    log_url, environment_url, creator_id, creator_login, creator_bot, created_at";

/// Makes sure an environment resource exists (decision D4: created with its first deployment).
async fn ensure_environment(
    conn: &mut AnyConnection,
    repo: RepoId,
    name: &EnvName,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO environments (repo_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (repo_id, name) DO NOTHING",
    )
    .bind(repo.get())
    .bind(name.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The `(repository, environment)` a filter reduces to, when its total can be read from
/// `deployment_counts` instead of counted.
fn counted_scope(filter: &DeploymentFilter) -> Option<(RepoId, Option<&String>)> {
    let only_scope = filter.sha.is_none()
        && filter.git_ref.is_none()
        && filter.task.is_none()
        && filter.source.is_none()
        && filter.from.is_none()
        && filter.to.is_none();
    only_scope
        .then_some(filter.repo_id)
        .flatten()
        .map(|repo| (repo, filter.environment.as_ref()))
}

/// Deployments of `repo` (in `environment`, if given), from the trigger-kept counts.
async fn count_of<'e, E>(executor: E, repo: RepoId, environment: Option<&str>) -> StoreResult<i64>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    macro_rules! sum {
        ($filter:literal) => {
            concat!(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM deployment_counts WHERE ",
                $filter
            )
        };
    }
    let total: i64 = match environment {
        Some(env) => {
            sqlx::query_scalar(sum!("repo_id = $1 AND environment = $2"))
                .bind(repo.get())
                .bind(env)
                .fetch_one(executor)
                .await?
        }
        None => {
            sqlx::query_scalar(sum!("repo_id = $1"))
                .bind(repo.get())
                .fetch_one(executor)
                .await?
        }
    };
    Ok(total)
}

async fn latest_contexts(
    exec: impl sqlx::Executor<'_, Database = Any>,
    repo: RepoId,
    sha: &Sha,
) -> StoreResult<Vec<CommitStatus>> {
    let rows: Vec<CommitStatusRow> = sqlx::query_as(
        "SELECT c.id, c.repo_id, c.sha, c.context, c.state, c.target_url, c.description, \
                c.creator_id, c.creator_login, c.creator_bot, c.created_at \
         FROM commit_statuses c \
         WHERE c.repo_id = $1 AND c.sha = $2 AND c.id = ( \
             SELECT MAX(l.id) FROM commit_statuses l \
             WHERE l.repo_id = c.repo_id AND l.sha = c.sha AND l.context_key = c.context_key) \
         ORDER BY c.id DESC",
    )
    .bind(repo.get())
    .bind(sha.as_str())
    .fetch_all(exec)
    .await?;
    rows.into_iter().map(CommitStatusRow::into_status).collect()
}

#[allow(clippy::too_many_arguments)]
async fn insert_status(
    conn: &mut AnyConnection,
    repo: RepoId,
    deployment: DeploymentId,
    state: StatusState,
    description: &str,
    environment: &EnvName,
    urls: (&str, &str, &str),
    creator: &Actor,
    now: i64,
    mirror: webhooks::Mirror,
    targets: &webhooks::Targets,
) -> StoreResult<(DeploymentStatus, webhooks::Queued)> {
    let row: StatusRow = sqlx::query_as(&format!(
        "INSERT INTO deployment_statuses (deployment_id, state, description, environment, \
             target_url, log_url, environment_url, creator_id, creator_login, creator_bot, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {STATUS_COLS}"
    ))
    .bind(deployment.get())
    .bind(state.as_str())
    .bind(description)
    .bind(environment.as_str())
    .bind(urls.0)
    .bind(urls.1)
    .bind(urls.2)
    .bind(creator.id)
    .bind(creator.login.as_str())
    .bind(b(creator.bot))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE deployments SET latest_state = $1, environment = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(environment.as_str())
    .bind(now)
    .bind(deployment.get())
    .execute(&mut *conn)
    .await?;
    let status = row.into_status()?;
    // Decision D8: auto-added `inactive` statuses are announced too.
    let queued = webhooks::enqueue(
        conn,
        targets,
        HookEvent::DeploymentStatus,
        repo,
        deployment,
        Some(status.id),
        mirror,
    )
    .await?;
    Ok((status, queued))
}

/// Inserts a deployment (its environment row and counts are the insert trigger's, migration
/// 0002). Shared by `create_deployment` and auto-deploys.
pub(crate) async fn insert_deployment(
    c: &mut AnyConnection,
    new: &NewDeployment,
) -> StoreResult<Deployment> {
    let now = Timestamp::now().unix();
    let row: DeploymentRow = sqlx::query_as(&format!(
        "INSERT INTO deployments (repo_id, source, sha, ref, task, payload, environment, \
     original_environment, description, transient_environment, production_environment, \
     creator_id, creator_login, creator_bot, latest_state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, NULL, $14, $14) \
             RETURNING {DEPLOYMENT_COLS}"
    ))
    .bind(new.repo_id.get())
    .bind(new.source.as_str())
    .bind(new.sha.as_str())
    .bind(&new.git_ref)
    .bind(&new.task)
    .bind(&new.payload)
    .bind(new.environment.as_str())
    .bind(new.description.as_deref())
    .bind(b(new.transient_environment))
    .bind(b(new.production_environment))
    .bind(new.creator.id)
    .bind(new.creator.login.as_str())
    .bind(b(new.creator.bot))
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    // The environment row and the counts are the insert trigger's (migration 0002).
    row.into_deployment()
}

fn deployment_where(filter: &DeploymentFilter) -> Where {
    let mut w = Where::default();
    if let Some(r) = filter.repo_id {
        w.push("repo_id", "=", Bind::I64(r.get()));
    }
    if let Some(s) = &filter.sha {
        w.push("sha", "=", Bind::Text(s.clone()));
    }
    if let Some(s) = &filter.git_ref {
        w.push("ref", "=", Bind::Text(s.clone()));
    }
    if let Some(s) = &filter.task {
        w.push("task", "=", Bind::Text(s.clone()));
    }
    if let Some(s) = &filter.environment {
        w.push("environment", "=", Bind::Text(s.clone()));
    }
    if let Some(s) = filter.source {
        w.push("source", "=", Bind::Text(s.as_str().to_owned()));
    }
    if let Some(t) = filter.from {
        w.push("created_at", ">=", Bind::I64(t.unix()));
    }
    if let Some(t) = filter.to {
        w.push("created_at", "<", Bind::I64(t.unix()));
    }
    w
}

#[async_trait]
impl DeploymentStore for SqlStore {
    async fn create_deployment(&self, new: NewDeployment) -> StoreResult<Deployment> {
        let targets = Arc::clone(&self.targets);
        let (created, queued) = self
            .write(move |c| {
                Box::pin(async move {
                    // `[]` checks nothing: skip the read, it is most of a deploy bot's creates.
                    if !matches!(new.required_contexts, RequiredContexts::Skip) {
                        let latest = latest_contexts(&mut *c, new.repo_id, &new.sha).await?;
                        let latest: Vec<(String, CommitState)> =
                            latest.into_iter().map(|c| (c.context, c.state)).collect();
                        check_required_contexts(&new.required_contexts, &latest)
                            .map_err(StoreError::ContextsFailed)?;
                    }
                    let d = insert_deployment(c, &new).await?;
                    let mirror = webhooks::Mirror::Yes;
                    let queued = webhooks::enqueue(
                        c,
                        &targets,
                        HookEvent::Deployment,
                        d.repo_id,
                        d.id,
                        None,
                        mirror,
                    )
                    .await?;
                    Ok((d, queued))
                })
            })
            .await?;
        self.wake_outbox(queued);
        Ok(created)
    }

    async fn deployment(&self, repo: RepoId, id: DeploymentId) -> StoreResult<Option<Deployment>> {
        let row: Option<DeploymentRow> = sqlx::query_as(&format!(
            "SELECT {DEPLOYMENT_COLS} FROM deployments WHERE id = $1 AND repo_id = $2"
        ))
        .bind(id.get())
        .bind(repo.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(DeploymentRow::into_deployment).transpose()
    }

    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        page: Page,
    ) -> StoreResult<(Vec<Deployment>, u64)> {
        let w = deployment_where(filter);
        let n = w.next_param();
        let sql = format!(
            "SELECT {DEPLOYMENT_COLS} FROM deployments {} ORDER BY id DESC LIMIT ${n} OFFSET ${}",
            w.sql(),
            n + 1
        );
        let rows: Vec<DeploymentRow> = w
            .bind_as(sqlx::query_as(&sql))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        let total = match counted_scope(filter) {
            Some((repo, environment)) => {
                count_of(&self.pool, repo, environment.map(String::as_str)).await?
            }
            None => {
                // The other filters are selective (sha, ref) or rare: counting rows is fine.
                let count_sql = format!("SELECT COUNT(*) FROM deployments {}", w.sql());
                w.bind_scalar(sqlx::query_scalar(&count_sql))
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        let items = rows
            .into_iter()
            .map(DeploymentRow::into_deployment)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total.max(0) as u64))
    }

    async fn delete_deployment(&self, repo: RepoId, id: DeploymentId) -> StoreResult<()> {
        self.write(move |c| {
            Box::pin(async move {
                let latest: Option<(Option<String>,)> = sqlx::query_as(
                    "SELECT latest_state FROM deployments WHERE id = $1 AND repo_id = $2",
                )
                .bind(id.get())
                .bind(repo.get())
                .fetch_optional(&mut *c)
                .await?;
                let Some((latest,)) = latest else {
                    return Err(StoreError::NotFound);
                };
                let latest = latest.map(|s| s.parse::<StatusState>()).transpose()?;
                let count = count_of(&mut *c, repo, None).await?;
                if !may_delete(count.max(0) as u64, latest) {
                    return Err(StoreError::DeploymentActive);
                }
                // DORA rows first, under their lock (see `dora::lock_repos`), not by cascade.
                dora::forget(c, dora::Source::Api(id.get())).await?;
                sqlx::query("DELETE FROM deployment_statuses WHERE deployment_id = $1")
                    .bind(id.get())
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM deployments WHERE id = $1")
                    .bind(id.get())
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn create_status(&self, repo: RepoId, new: NewStatus) -> StoreResult<StatusCreated> {
        self.create_status_as(repo, new, webhooks::Mirror::Yes)
            .await
    }

    async fn list_statuses(
        &self,
        deployment: DeploymentId,
        page: Page,
    ) -> StoreResult<(Vec<DeploymentStatus>, u64)> {
        let rows: Vec<StatusRow> = sqlx::query_as(&format!(
            "SELECT {STATUS_COLS} FROM deployment_statuses WHERE deployment_id = $1 \
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(deployment.get())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM deployment_statuses WHERE deployment_id = $1")
                .bind(deployment.get())
                .fetch_one(&self.pool)
                .await?;
        let items = rows
            .into_iter()
            .map(StatusRow::into_status)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total.max(0) as u64))
    }

    async fn status(
        &self,
        deployment: DeploymentId,
        id: StatusId,
    ) -> StoreResult<Option<DeploymentStatus>> {
        let row: Option<StatusRow> = sqlx::query_as(&format!(
            "SELECT {STATUS_COLS} FROM deployment_statuses WHERE id = $1 AND deployment_id = $2"
        ))
        .bind(id.get())
        .bind(deployment.get())
        .fetch_optional(&self.pool)
        .await?;
        row.map(StatusRow::into_status).transpose()
    }
}

const ENV_COLS: &str = "id, repo_id, name, wait_timer, prevent_self_review, reviewers, \
    branch_policy, created_at, updated_at";

#[async_trait]
impl EnvironmentStore for SqlStore {
    async fn list_environments(
        &self,
        repo: RepoId,
        page: Page,
    ) -> StoreResult<(Vec<Environment>, u64)> {
        let rows: Vec<EnvironmentRow> = sqlx::query_as(&format!(
            "SELECT {ENV_COLS} FROM environments WHERE repo_id = $1 ORDER BY name LIMIT $2 OFFSET $3"
        ))
        .bind(repo.get())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM environments WHERE repo_id = $1")
            .bind(repo.get())
            .fetch_one(&self.pool)
            .await?;
        let items = rows
            .into_iter()
            .map(EnvironmentRow::into_environment)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total.max(0) as u64))
    }

    async fn environment(&self, repo: RepoId, name: &EnvName) -> StoreResult<Option<Environment>> {
        let row: Option<EnvironmentRow> = sqlx::query_as(&format!(
            "SELECT {ENV_COLS} FROM environments WHERE repo_id = $1 AND name = $2"
        ))
        .bind(repo.get())
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(EnvironmentRow::into_environment).transpose()
    }

    async fn upsert_environment(
        &self,
        repo: RepoId,
        name: &EnvName,
        settings: EnvironmentSettings,
    ) -> StoreResult<Environment> {
        let name = name.clone();
        self.write(move |c| {
            Box::pin(async move {
                let now = Timestamp::now().unix();
                let row: EnvironmentRow = sqlx::query_as(&format!(
            "INSERT INTO environments (repo_id, name, wait_timer, prevent_self_review, reviewers, \
                 branch_policy, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (repo_id, name) DO UPDATE SET wait_timer = $3, \
                 prevent_self_review = $4, reviewers = $5, branch_policy = $6, updated_at = $7 \
             RETURNING {ENV_COLS}"
        ))
                .bind(repo.get())
                .bind(name.as_str())
                .bind(settings.wait_timer)
                .bind(b(settings.prevent_self_review))
                .bind(&settings.reviewers)
                .bind(settings.branch_policy.as_deref())
                .bind(now)
                .fetch_one(&mut *c)
                .await?;
                row.into_environment()
            })
        })
        .await
    }

    async fn delete_environment(&self, repo: RepoId, name: &EnvName) -> StoreResult<()> {
        let name = name.clone();
        self.write(move |c| {
            Box::pin(async move {
                let done = sqlx::query("DELETE FROM environments WHERE repo_id = $1 AND name = $2")
                    .bind(repo.get())
                    .bind(name.as_str())
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
}

const COMMIT_STATUS_COLS: &str = "id, repo_id, sha, context, state, target_url, description, \
    creator_id, creator_login, creator_bot, created_at";

#[async_trait]
impl CommitStatusStore for SqlStore {
    async fn create_commit_status(&self, new: NewCommitStatus) -> StoreResult<CommitStatus> {
        self.write(move |c| {
            Box::pin(async move {
        let key = new.context.to_lowercase();
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM commit_statuses WHERE repo_id = $1 AND sha = $2 AND context_key = $3",
        )
        .bind(new.repo_id.get())
        .bind(new.sha.as_str())
        .bind(&key)
        .fetch_one(&mut *c)
        .await?;
        if count >= MAX_STATUSES_PER_CONTEXT {
            return Err(StoreError::LimitReached(format!(
                "This SHA and context has reached the maximum number of statuses ({MAX_STATUSES_PER_CONTEXT})."
            )));
        }
        let row: CommitStatusRow = sqlx::query_as(&format!(
            "INSERT INTO commit_statuses (repo_id, sha, context, context_key, state, target_url, \
                 description, creator_id, creator_login, creator_bot, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COMMIT_STATUS_COLS}"
        ))
        .bind(new.repo_id.get())
        .bind(new.sha.as_str())
        .bind(&new.context)
        .bind(&key)
        .bind(new.state.as_str())
        .bind(new.target_url.as_deref())
        .bind(new.description.as_deref())
        .bind(new.creator.id)
        .bind(new.creator.login.as_str())
        .bind(b(new.creator.bot))
        .bind(Timestamp::now().unix())
        .fetch_one(&mut *c)
        .await?;
        row.into_status()
            })
        })
        .await
    }

    async fn list_commit_statuses(
        &self,
        repo: RepoId,
        sha: &Sha,
        page: Page,
    ) -> StoreResult<(Vec<CommitStatus>, u64)> {
        let rows: Vec<CommitStatusRow> = sqlx::query_as(&format!(
            "SELECT {COMMIT_STATUS_COLS} FROM commit_statuses WHERE repo_id = $1 AND sha = $2 \
             ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(repo.get())
        .bind(sha.as_str())
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM commit_statuses WHERE repo_id = $1 AND sha = $2",
        )
        .bind(repo.get())
        .bind(sha.as_str())
        .fetch_one(&self.pool)
        .await?;
        let items = rows
            .into_iter()
            .map(CommitStatusRow::into_status)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total.max(0) as u64))
    }

    async fn latest_commit_statuses(
        &self,
        repo: RepoId,
        sha: &Sha,
    ) -> StoreResult<Vec<CommitStatus>> {
        latest_contexts(&self.pool, repo, sha).await
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        let _: i64 = sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl SqlStore {
    /// Runs one statement outside any transaction (test database creation and the like).
    pub async fn execute_raw(&self, sql: &str) -> StoreResult<()> {
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }
}
