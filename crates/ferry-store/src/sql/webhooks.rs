//! Outbound subscriptions and their outbox (`WebhookStore`), inbound GitHub deliveries and
//! auto-deploys (`GithubStore`). Times here are Unix milliseconds.
//!
//! [`enqueue`] is called by the transactions that create deployments and statuses: the event
//! rows commit or roll back with the change they announce.

use super::{b, SqlStore};
use crate::model::*;
use crate::traits::{GithubStore, RepoStore, WebhookStore};
use crate::{StoreError, StoreResult};
use async_trait::async_trait;
use ferry_domain::deployment::{check_required_contexts, RequiredContexts};
use ferry_domain::{
    CommitState, DeploymentId, EnvName, RepoId, RepoSlug, Sha, StatusId, Timestamp,
};
use sqlx::AnyConnection;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

fn now_ms() -> i64 {
    ferry_domain::Timestamp::now_millis()
}

/// Whether an event also goes to the repository's GitHub (mirror mode): not for a status that
/// came from GitHub itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mirror {
    Yes,
    No,
}

/// SQLite only: remembers whether any event target exists at all — an active subscription or
/// a repository in mirror mode — so that on a server with none, creating a deployment or a
/// status skips the target query (one statement more on the single writer costs a third of
/// its create rate). Exact, not a time-limited cache: SQLite has one writer, and every write
/// that changes the answer goes through [`SqlStore::write_targets`], which forgets it.
/// PostgreSQL instances share the database, so there every enqueue asks.
pub(crate) struct Targets {
    enabled: bool,
    /// [`UNKNOWN`], [`NONE`] or [`SOME`].
    state: AtomicU8,
}

const UNKNOWN: u8 = 0;
const NONE: u8 = 1;
const SOME: u8 = 2;

impl Targets {
    pub(crate) fn new(enabled: bool) -> Targets {
        Targets {
            enabled,
            state: AtomicU8::new(UNKNOWN),
        }
    }

    pub(crate) fn forget(&self) {
        self.state.store(UNKNOWN, Ordering::Release);
    }

    /// Whether an event may have somewhere to go (always, where nothing is remembered).
    async fn may_exist(&self, c: &mut AnyConnection) -> StoreResult<bool> {
        if !self.enabled {
            return Ok(true);
        }
        match self.state.load(Ordering::Acquire) {
            NONE => return Ok(false),
            SOME => return Ok(true),
            _ => {}
        }
        let some: bool = sqlx::query_scalar::<_, i64>(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM webhooks WHERE active = 1) \
                 OR EXISTS (SELECT 1 FROM repos WHERE github_mirror = 1) THEN 1 ELSE 0 END",
        )
        .fetch_one(&mut *c)
        .await?
            == 1;
        // A `forget` that ran meanwhile wins: only an unknown state is filled in.
        let _ = self.state.compare_exchange(
            UNKNOWN,
            if some { SOME } else { NONE },
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        Ok(some)
    }
}

/// Enqueues `event` for every active subscription that wants it for `repo`, and for GitHub
/// when the repository is mirrored there (target `github`, `webhook_id` 0).
pub(crate) async fn enqueue(
    c: &mut AnyConnection,
    known: &Targets,
    event: HookEvent,
    repo: RepoId,
    deployment: DeploymentId,
    status: Option<StatusId>,
    mirror: Mirror,
) -> StoreResult<Queued> {
    if !known.may_exist(c).await? {
        return Ok(Queued(false));
    }
    let targets: Vec<(i64, String)> = sqlx::query_as(
        "SELECT w.id, 'hook' FROM webhooks w WHERE w.active = 1 AND w.events LIKE $1 \
         AND (w.all_repos = 1 OR EXISTS \
              (SELECT 1 FROM webhook_repos r WHERE r.webhook_id = w.id AND r.repo_id = $2)) \
         UNION ALL SELECT 0, 'github' FROM repos \
             WHERE id = $2 AND github_mirror = 1 AND $3 = 1 \
         ORDER BY 1",
    )
    .bind(format!("%,{},%", event.as_str()))
    .bind(repo.get())
    .bind(b(mirror == Mirror::Yes))
    .fetch_all(&mut *c)
    .await?;
    if targets.is_empty() {
        return Ok(Queued(false));
    }
    let now = now_ms();
    for (hook, target) in targets {
        let d = NewRow {
            hook,
            target: if target == "github" { "github" } else { "hook" },
            event,
            repo: Some(repo),
            deployment: Some(deployment),
            status,
        };
        insert_delivery(c, d, now).await?;
    }
    wake_others(c).await?;
    Ok(Queued(true))
}

/// Whether a write queued deliveries: only then is the outbox worker woken, so writes with
/// no subscriber do not make it look for work (a claim is a write of its own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub(crate) struct Queued(pub bool);

impl std::ops::BitOrAssign for Queued {
    fn bitor_assign(&mut self, other: Queued) {
        self.0 |= other.0;
    }
}

/// One outbox row to write.
struct NewRow {
    hook: i64,
    target: &'static str,
    event: HookEvent,
    repo: Option<RepoId>,
    deployment: Option<DeploymentId>,
    status: Option<StatusId>,
}

async fn insert_delivery(c: &mut AnyConnection, d: NewRow, now: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO webhook_deliveries (webhook_id, target, guid, event, repo_id, \
             deployment_id, status_id, state, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $8)",
    )
    .bind(d.hook)
    .bind(d.target)
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(d.event.as_str())
    .bind(d.repo.map(|r| r.get()))
    .bind(d.deployment.map(|d| d.get()))
    .bind(d.status.map(|s| s.get()))
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// PostgreSQL: tells every instance's `LISTEN ferry_outbox` at commit. SQLite has one
/// instance, woken by the store itself.
async fn wake_others(c: &mut AnyConnection) -> StoreResult<()> {
    if c.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify('ferry_outbox', '')")
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

fn events_text(events: &[HookEvent]) -> String {
    let mut s = String::from(",");
    for e in events {
        s.push_str(e.as_str());
        s.push(',');
    }
    s
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    url: String,
    secret: String,
    events: String,
    all_repos: i64,
    active: i64,
    created_at: i64,
    updated_at: i64,
}

const WEBHOOK_COLS: &str = "id, url, secret, events, all_repos, active, created_at, updated_at";

async fn load_webhook(c: &mut AnyConnection, id: i64) -> StoreResult<Option<Webhook>> {
    let row: Option<WebhookRow> = sqlx::query_as(&format!(
        "SELECT {WEBHOOK_COLS} FROM webhooks WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let repos: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.owner, r.name FROM webhook_repos w JOIN repos r ON r.id = w.repo_id \
         WHERE w.webhook_id = $1 ORDER BY r.full_name_key",
    )
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    let events = row
        .events
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|e| e.parse::<HookEvent>().map_err(StoreError::Corrupt))
        .collect::<StoreResult<Vec<_>>>()?;
    let repos = repos
        .into_iter()
        .map(|(o, n)| RepoSlug::new(&o, &n).map_err(StoreError::from))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Some(Webhook {
        id: row.id,
        url: row.url,
        secret: row.secret,
        events,
        repos: if row.all_repos == 1 {
            Vec::new()
        } else {
            repos
        },
        active: row.active == 1,
        created_at: Timestamp::from_unix(row.created_at / 1000),
        updated_at: Timestamp::from_unix(row.updated_at / 1000),
    }))
}

async fn set_repos(c: &mut AnyConnection, id: i64, repos: &[RepoId]) -> StoreResult<()> {
    sqlx::query("DELETE FROM webhook_repos WHERE webhook_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    for r in repos {
        sqlx::query(
            "INSERT INTO webhook_repos (webhook_id, repo_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(r.get())
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    guid: String,
    event: String,
    state: String,
    attempts: i64,
    last_status_code: Option<i64>,
    created_at: i64,
    delivered_at: Option<i64>,
    next_attempt_at: i64,
}

const DELIVERY_COLS: &str = "id, webhook_id, guid, event, state, attempts, last_status_code, \
    created_at, delivered_at, next_attempt_at";

impl DeliveryRow {
    fn into_delivery(self) -> StoreResult<Delivery> {
        Ok(Delivery {
            id: self.id,
            webhook_id: self.webhook_id,
            guid: self.guid,
            event: self.event.parse().map_err(StoreError::Corrupt)?,
            state: self.state.parse().map_err(StoreError::Corrupt)?,
            attempts: self.attempts,
            last_status_code: self.last_status_code,
            created_at_ms: self.created_at,
            delivered_at_ms: self.delivered_at,
            next_attempt_at_ms: self.next_attempt_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    webhook_id: i64,
    target: String,
    guid: String,
    event: String,
    repo_id: Option<i64>,
    deployment_id: Option<i64>,
    status_id: Option<i64>,
    attempts: i64,
    round_attempts: i64,
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook(&self, new: NewWebhook) -> StoreResult<Webhook> {
        let hook = self
            .write_targets(move |c| {
                Box::pin(async move {
                    let now = now_ms();
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO webhooks (url, secret, events, all_repos, active, created_at, \
                             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                    )
                    .bind(&new.url)
                    .bind(&new.secret)
                    .bind(events_text(&new.events))
                    .bind(b(new.repos.is_empty()))
                    .bind(b(new.active))
                    .bind(now)
                    .fetch_one(&mut *c)
                    .await?;
                    set_repos(c, id, &new.repos).await?;
                    if new.active {
                        let ping = NewRow {
                            hook: id,
                            target: "hook",
                            event: HookEvent::Ping,
                            repo: new.repos.first().copied(),
                            deployment: None,
                            status: None,
                        };
                        insert_delivery(c, ping, now).await?;
                        wake_others(c).await?;
                    }
                    load_webhook(c, id).await?.ok_or(StoreError::NotFound)
                })
            })
            .await?;
        self.outbox.notify_one();
        Ok(hook)
    }

    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>> {
        let mut c = self.pool.acquire().await?;
        let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM webhooks ORDER BY id")
            .fetch_all(&mut *c)
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id,) in ids {
            if let Some(h) = load_webhook(&mut c, id).await? {
                out.push(h);
            }
        }
        Ok(out)
    }

    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>> {
        let mut c = self.pool.acquire().await?;
        load_webhook(&mut c, id).await
    }

    async fn update_webhook(&self, id: i64, patch: WebhookPatch) -> StoreResult<Webhook> {
        self.write_targets(move |c| {
            Box::pin(async move {
                let old = load_webhook(c, id).await?.ok_or(StoreError::NotFound)?;
                let events = patch.events.unwrap_or(old.events);
                let all_repos = match &patch.repos {
                    Some(r) => r.is_empty(),
                    None => old.repos.is_empty(),
                };
                sqlx::query(
                    "UPDATE webhooks SET url = $1, secret = $2, events = $3, all_repos = $4, \
                         active = $5, updated_at = $6 WHERE id = $7",
                )
                .bind(patch.url.unwrap_or(old.url))
                .bind(patch.secret.unwrap_or(old.secret))
                .bind(events_text(&events))
                .bind(b(all_repos))
                .bind(b(patch.active.unwrap_or(old.active)))
                .bind(now_ms())
                .bind(id)
                .execute(&mut *c)
                .await?;
                if let Some(repos) = &patch.repos {
                    set_repos(c, id, repos).await?;
                }
                load_webhook(c, id).await?.ok_or(StoreError::NotFound)
            })
        })
        .await
    }

    async fn delete_webhook(&self, id: i64) -> StoreResult<()> {
        self.write_targets(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "DELETE FROM webhook_attempts WHERE delivery_id IN \
                     (SELECT id FROM webhook_deliveries WHERE webhook_id = $1)",
                )
                .bind(id)
                .execute(&mut *c)
                .await?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM webhook_repos WHERE webhook_id = $1")
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
                    .bind(id)
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

    async fn list_deliveries(&self, webhook: i64, limit: u32) -> StoreResult<Vec<Delivery>> {
        let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY id DESC LIMIT $2"
        ))
        .bind(webhook)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(DeliveryRow::into_delivery).collect()
    }

    async fn delivery(
        &self,
        webhook: i64,
        id: i64,
    ) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>> {
        let row: Option<DeliveryRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
        ))
        .bind(webhook)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let attempts: Vec<(i64, Option<i64>, i64, Option<String>)> = sqlx::query_as(
            "SELECT at, status_code, duration_ms, error FROM webhook_attempts \
             WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let log = attempts
            .into_iter()
            .map(|(at_ms, status_code, duration_ms, error)| DeliveryAttempt {
                at_ms,
                status_code,
                duration_ms,
                error,
            })
            .collect();
        Ok(Some((row.into_delivery()?, log)))
    }

    async fn redeliver(&self, webhook: i64, id: i64, now_ms: i64) -> StoreResult<()> {
        self.write(move |c| {
            Box::pin(async move {
                // A delivery being sent right now keeps its lease; it is sent again after.
                let done = sqlx::query(
                    "UPDATE webhook_deliveries SET state = CASE WHEN state = 'sending' \
                         THEN 'sending' ELSE 'pending' END, round_attempts = 0, \
                         next_attempt_at = $1 WHERE webhook_id = $2 AND id = $3",
                )
                .bind(now_ms)
                .bind(webhook)
                .bind(id)
                .execute(&mut *c)
                .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                wake_others(c).await
            })
        })
        .await?;
        self.outbox.notify_one();
        Ok(())
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
        lease_ms: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>> {
        let pg = self.is_postgres();
        let rows: Vec<ClaimRow> = self
            .write(move |c| {
                Box::pin(async move {
                    // Only the oldest undelivered event of a deployment for a subscription is
                    // claimable (creation order); SKIP LOCKED lets instances claim side by side.
                    let lock = if pg { "FOR UPDATE SKIP LOCKED" } else { "" };
                    let sql = format!(
                        "UPDATE webhook_deliveries SET state = 'sending', lease_until = $1, \
                             attempts = attempts + 1, round_attempts = round_attempts + 1 \
                         WHERE id IN (SELECT d.id FROM webhook_deliveries d \
                             WHERE d.state IN ('pending', 'sending') AND d.next_attempt_at <= $2 \
                               AND (d.state = 'pending' OR d.lease_until < $2) \
                               AND (d.deployment_id IS NULL OR NOT EXISTS (SELECT 1 \
                                   FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id \
                                   AND e.deployment_id = d.deployment_id AND e.id < d.id \
                                   AND e.state IN ('pending', 'sending'))) \
                             ORDER BY d.next_attempt_at, d.id LIMIT $3 {lock}) \
                         RETURNING id, webhook_id, target, guid, event, repo_id, deployment_id, \
                             status_id, attempts, round_attempts"
                    );
                    let rows: Vec<ClaimRow> = sqlx::query_as(&sql)
                        .bind(now_ms + lease_ms)
                        .bind(now_ms)
                        .bind(i64::from(limit))
                        .fetch_all(&mut *c)
                        .await?;
                    Ok(rows)
                })
            })
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mut hooks: std::collections::HashMap<i64, (String, String)> = Default::default();
        let mut mirrors: std::collections::HashMap<i64, (GithubMirror, RepoSlug)> =
            Default::default();
        let mut out = Vec::with_capacity(rows.len());
        // Claimed but with nowhere to go (mirror mode turned off, subscription deleted):
        // dead at once rather than leased and re-claimed forever.
        let mut orphans = Vec::new();
        for r in rows {
            let target = if r.target == "github" {
                let Some(repo_id) = r.repo_id else {
                    orphans.push(r.id);
                    continue;
                };
                if let std::collections::hash_map::Entry::Vacant(slot) = mirrors.entry(repo_id) {
                    // Mirror mode turned off meanwhile: nothing to send.
                    let Some(repo) = self.repo_by_id(RepoId(repo_id)).await? else {
                        orphans.push(r.id);
                        continue;
                    };
                    let Some(m) = repo.github_mirror else {
                        orphans.push(r.id);
                        continue;
                    };
                    slot.insert((m, repo.slug));
                }
                let Some((mirror, repo)) = mirrors.get(&repo_id).cloned() else {
                    orphans.push(r.id);
                    continue;
                };
                DeliveryTarget::Github { mirror, repo }
            } else {
                if let std::collections::hash_map::Entry::Vacant(slot) = hooks.entry(r.webhook_id) {
                    let h: Option<(String, String)> =
                        sqlx::query_as("SELECT url, secret FROM webhooks WHERE id = $1")
                            .bind(r.webhook_id)
                            .fetch_optional(&self.pool)
                            .await?;
                    // Deleted meanwhile: its deliveries went with it; nothing to send.
                    let Some(h) = h else {
                        orphans.push(r.id);
                        continue;
                    };
                    slot.insert(h);
                }
                let Some((url, secret)) = hooks.get(&r.webhook_id).cloned() else {
                    orphans.push(r.id);
                    continue;
                };
                DeliveryTarget::Hook { url, secret }
            };
            out.push(ClaimedDelivery {
                id: r.id,
                webhook_id: r.webhook_id,
                guid: r.guid,
                event: r.event.parse().map_err(StoreError::Corrupt)?,
                target,
                repo_id: r.repo_id.map(RepoId),
                deployment_id: r.deployment_id.map(DeploymentId),
                status_id: r.status_id.map(StatusId),
                attempts: r.attempts,
                round_attempts: r.round_attempts,
            });
        }
        if !orphans.is_empty() {
            self.write(move |c| {
                Box::pin(async move {
                    for id in orphans {
                        sqlx::query(
                            "UPDATE webhook_deliveries SET state = 'dead', lease_until = NULL \
                             WHERE id = $1 AND state = 'sending'",
                        )
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                    }
                    Ok(())
                })
            })
            .await?;
        }
        // Oldest first, as enqueued.
        out.sort_by_key(|d| d.id);
        Ok(out)
    }

    async fn finish_deliveries(&self, outcomes: Vec<AttemptOutcome>) -> StoreResult<()> {
        if outcomes.is_empty() {
            return Ok(());
        }
        self.write(move |c| {
            Box::pin(async move {
                // The log first, many rows per statement.
                for chunk in outcomes.chunks(FINISH_CHUNK) {
                    let mut sql = String::from(
                        "INSERT INTO webhook_attempts (delivery_id, at, status_code, duration_ms, \
                             error) VALUES ",
                    );
                    for i in 0..chunk.len() {
                        let n = i * 5;
                        if i > 0 {
                            sql.push_str(", ");
                        }
                        sql.push_str(&format!(
                            "(${}, ${}, ${}, ${}, ${})",
                            n + 1,
                            n + 2,
                            n + 3,
                            n + 4,
                            n + 5
                        ));
                    }
                    let mut q = sqlx::query(&sql);
                    for o in chunk {
                        q = q
                            .bind(o.delivery_id)
                            .bind(o.at_ms)
                            .bind(o.status_code)
                            .bind(o.duration_ms)
                            .bind(o.error.as_deref());
                    }
                    q.execute(&mut *c).await?;
                }
                // Plain deliveries (the bulk) in one statement per status code.
                let mut plain: std::collections::BTreeMap<Option<i64>, Vec<&AttemptOutcome>> =
                    Default::default();
                for o in &outcomes {
                    if o.retry_at_ms.is_none() && !o.dead && o.github_id.is_none() {
                        plain.entry(o.status_code).or_default().push(o);
                    }
                }
                for (code, group) in plain {
                    for chunk in group.chunks(FINISH_CHUNK) {
                        let at = chunk.iter().map(|o| o.at_ms).max().unwrap_or_default();
                        let ids: Vec<String> =
                            (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
                        // A redelivery asked for while the attempt ran wins over "delivered".
                        let sql = format!(
                            "UPDATE webhook_deliveries SET \
                                 state = CASE WHEN round_attempts = 0 THEN 'pending' \
                                     ELSE 'delivered' END, \
                                 delivered_at = CASE WHEN round_attempts = 0 THEN delivered_at \
                                     ELSE $2 END, \
                                 lease_until = NULL, last_status_code = $1 \
                             WHERE id IN ({})",
                            ids.join(", ")
                        );
                        let mut q = sqlx::query(&sql).bind(code).bind(at);
                        for o in chunk {
                            q = q.bind(o.delivery_id);
                        }
                        q.execute(&mut *c).await?;
                    }
                }
                // Retries, dead letters and mirror deliveries one by one.
                for o in &outcomes {
                    let (state, next) = match (o.retry_at_ms, o.dead) {
                        (_, true) => ("dead", o.at_ms),
                        (None, false) if o.github_id.is_none() => continue,
                        (None, false) => ("delivered", o.at_ms),
                        (Some(t), false) => ("pending", t),
                    };
                    sqlx::query(
                        "UPDATE webhook_deliveries SET \
                             state = CASE WHEN round_attempts = 0 THEN 'pending' ELSE $1 END, \
                             next_attempt_at = CASE WHEN round_attempts = 0 THEN next_attempt_at \
                                 ELSE $2 END, \
                             lease_until = NULL, last_status_code = $3, \
                             delivered_at = CASE WHEN $1 = 'delivered' THEN $4 ELSE delivered_at END \
                         WHERE id = $5",
                    )
                    .bind(state)
                    .bind(next)
                    .bind(o.status_code)
                    .bind(o.at_ms)
                    .bind(o.delivery_id)
                    .execute(&mut *c)
                    .await?;
                    if let Some(github_id) = o.github_id {
                        remember_github_id(c, o.delivery_id, github_id).await?;
                    }
                }
                // Later events of a deployment wait for these: other instances may now claim
                // them.
                wake_others(c).await
            })
        })
        .await
    }

    async fn next_delivery_due(&self) -> StoreResult<Option<i64>> {
        let (t,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state IN ('pending', 'sending')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(t)
    }

    fn outbox_signal(&self) -> Arc<Notify> {
        self.start_listener();
        Arc::clone(&self.outbox)
    }
}

/// Mirror mode: what GitHub called the deployment or status a delivery created.
async fn remember_github_id(
    c: &mut AnyConnection,
    delivery: i64,
    github_id: i64,
) -> StoreResult<()> {
    /// event, repo_id, deployment_id, status_id
    type Subject = (String, Option<i64>, Option<i64>, Option<i64>);
    let row: Option<Subject> = sqlx::query_as(
        "SELECT event, repo_id, deployment_id, status_id FROM webhook_deliveries WHERE id = $1",
    )
    .bind(delivery)
    .fetch_optional(&mut *c)
    .await?;
    match row {
        Some((event, Some(repo), Some(dep), _)) if event == "deployment" => {
            sqlx::query(
                "INSERT INTO github_mirror_deployments (deployment_id, repo_id, github_id) \
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(dep)
            .bind(repo)
            .bind(github_id)
            .execute(&mut *c)
            .await?;
        }
        Some((event, _, _, Some(status))) if event == "deployment_status" => {
            sqlx::query(
                "INSERT INTO github_mirror_statuses (github_id, status_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(github_id)
            .bind(status)
            .execute(&mut *c)
            .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Rows per multi-row statement when recording attempts (5 parameters each: well under
/// both engines' parameter limits).
const FINISH_CHUNK: usize = 200;

/// Records deliveries by guid, many per statement; for each, whether it is fresh: not
/// recorded before, or recorded but abandoned unfinished (its process died while handling it:
/// the redelivery takes it over instead of being answered "duplicate"). A guid repeated
/// within the batch is fresh once.
async fn record_batch(c: &mut AnyConnection, batch: &[GithubDelivery]) -> StoreResult<Vec<bool>> {
    let mut first_of: std::collections::HashMap<&str, usize> = Default::default();
    for (i, d) in batch.iter().enumerate() {
        first_of.entry(d.guid.as_str()).or_insert(i);
    }
    let unique: Vec<&GithubDelivery> = batch
        .iter()
        .enumerate()
        .filter(|(i, d)| first_of.get(d.guid.as_str()) == Some(i))
        .map(|(_, d)| d)
        .collect();
    let mut inserted: std::collections::HashSet<String> = Default::default();
    for chunk in unique.chunks(FINISH_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO github_deliveries (guid, event, action, repository, outcome, detail, \
                 received_at) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 7;
            if i > 0 {
                sql.push_str(", ");
            }
            let params: Vec<String> = (1..=7).map(|k| format!("${}", n + k)).collect();
            sql.push_str(&format!("({})", params.join(", ")));
        }
        sql.push_str(" ON CONFLICT (guid) DO NOTHING RETURNING guid");
        let mut q = sqlx::query_as::<_, (String,)>(&sql);
        for d in chunk {
            q = q
                .bind(&d.guid)
                .bind(&d.event)
                .bind(d.action.as_deref())
                .bind(d.repository.as_deref())
                .bind(&d.outcome)
                .bind(&d.detail)
                .bind(d.received_at_ms);
        }
        for (guid,) in q.fetch_all(&mut *c).await? {
            inserted.insert(guid);
        }
    }
    let mut fresh: std::collections::HashSet<String> = inserted.clone();
    for d in &unique {
        if inserted.contains(&d.guid) {
            continue;
        }
        let taken = sqlx::query(
            "UPDATE github_deliveries SET received_at = $1 \
             WHERE guid = $2 AND outcome = 'received' AND received_at < $3",
        )
        .bind(d.received_at_ms)
        .bind(&d.guid)
        .bind(d.received_at_ms - ABANDONED_AFTER_MS)
        .execute(&mut *c)
        .await?;
        if taken.rows_affected() == 1 {
            fresh.insert(d.guid.clone());
        }
    }
    Ok(batch
        .iter()
        .enumerate()
        .map(|(i, d)| first_of.get(d.guid.as_str()) == Some(&i) && fresh.contains(&d.guid))
        .collect())
}

type RecordReply = tokio::sync::oneshot::Sender<Result<bool, String>>;

/// PostgreSQL: records inbound deliveries of concurrent requests in one transaction — each
/// committed transaction costs a WAL flush, and a flood of GitHub deliveries is mostly these
/// one-row inserts. Alone, a record commits at once; under load, whatever queued meanwhile
/// (up to 256) goes in the next transaction.
pub(crate) struct Recorder {
    tx: tokio::sync::mpsc::UnboundedSender<(GithubDelivery, RecordReply)>,
}

impl Recorder {
    fn start(pool: sqlx::AnyPool) -> Recorder {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(GithubDelivery, RecordReply)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 256 {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let records: Vec<GithubDelivery> = batch.iter().map(|(d, _)| d.clone()).collect();
                let result: StoreResult<Vec<bool>> = async {
                    let mut tx = pool.begin().await?;
                    let fresh = record_batch(&mut tx, &records).await?;
                    tx.commit().await?;
                    Ok(fresh)
                }
                .await;
                match result {
                    Ok(fresh) => {
                        for ((_, reply), f) in batch.into_iter().zip(fresh) {
                            let _ = reply.send(Ok(f));
                        }
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for (_, reply) in batch {
                            let _ = reply.send(Err(msg.clone()));
                        }
                    }
                }
            }
        });
        Recorder { tx }
    }

    async fn record(&self, d: GithubDelivery) -> StoreResult<bool> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.tx
            .send((d, reply))
            .map_err(|_| StoreError::Unavailable("the delivery recorder stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the delivery recorder stopped".into()))?
            .map_err(StoreError::Unavailable)
    }
}

/// A delivery still `received` this long after it arrived was abandoned by a process that
/// died handling it (handling takes milliseconds; GitHub waits 10 s for an answer).
const ABANDONED_AFTER_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct GithubDeliveryRow {
    guid: String,
    event: String,
    action: Option<String>,
    repository: Option<String>,
    outcome: String,
    detail: String,
    received_at: i64,
}

#[derive(sqlx::FromRow)]
struct AutoDeployRow {
    id: i64,
    repo_id: i64,
    environment: String,
    sha: String,
    #[sqlx(rename = "ref")]
    git_ref: String,
    trigger: String,
    required_contexts: Option<String>,
    production: i64,
    state: String,
    deployment_id: Option<i64>,
    detail: String,
    created_at: i64,
    updated_at: i64,
}

const AUTO_COLS: &str = "id, repo_id, environment, sha, ref, trigger, required_contexts, \
    production, state, deployment_id, detail, created_at, updated_at";

impl AutoDeployRow {
    fn into_auto(self) -> StoreResult<AutoDeploy> {
        Ok(AutoDeploy {
            id: self.id,
            repo_id: RepoId(self.repo_id),
            environment: EnvName::parse(&self.environment)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            sha: Sha::parse(&self.sha).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            git_ref: self.git_ref,
            trigger: match self.trigger.as_str() {
                "merge" => AutoTrigger::Merge,
                "push" => AutoTrigger::Push,
                "tag" => AutoTrigger::Tag,
                "pull_request" => AutoTrigger::PullRequest,
                other => return Err(StoreError::Corrupt(format!("trigger {other:?}"))),
            },
            required_contexts: contexts_from_text(self.required_contexts.as_deref()),
            production: self.production == 1,
            state: match self.state.as_str() {
                "waiting" => AutoDeployState::Waiting,
                "created" => AutoDeployState::Created,
                "failed" => AutoDeployState::Failed,
                other => return Err(StoreError::Corrupt(format!("auto-deploy state {other:?}"))),
            },
            deployment_id: self.deployment_id.map(DeploymentId),
            detail: self.detail,
            created_at_ms: self.created_at,
            updated_at_ms: self.updated_at,
        })
    }
}

/// The `required_contexts` column: NULL = every reported context, `''` = none, else the
/// names one per line (names never hold a newline).
fn contexts_to_text(r: &RequiredContexts) -> Option<String> {
    match r {
        RequiredContexts::AllReported => None,
        RequiredContexts::Skip => Some(String::new()),
        RequiredContexts::Listed(names) => Some(names.join("\n")),
    }
}

fn contexts_from_text(s: Option<&str>) -> RequiredContexts {
    match s {
        None => RequiredContexts::AllReported,
        Some("") => RequiredContexts::Skip,
        Some(s) => RequiredContexts::Listed(
            s.split('\n')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
    }
}

async fn load_auto(c: &mut AnyConnection, id: i64) -> StoreResult<AutoDeploy> {
    let row: AutoDeployRow = sqlx::query_as(&format!(
        "SELECT {AUTO_COLS} FROM auto_deploys WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await?
    .ok_or(StoreError::NotFound)?;
    row.into_auto()
}

async fn settle_auto(
    c: &mut AnyConnection,
    id: i64,
    state: AutoDeployState,
    deployment: Option<DeploymentId>,
    detail: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE auto_deploys SET state = $1, deployment_id = $2, detail = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(state.as_str())
    .bind(deployment.map(|d| d.get()))
    .bind(detail)
    .bind(now_ms())
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[async_trait]
impl GithubStore for SqlStore {
    async fn record_github_delivery(&self, d: GithubDelivery) -> StoreResult<bool> {
        if self.is_postgres() {
            // Concurrent deliveries share one transaction (see `Recorder`).
            let recorder = self
                .recorder
                .get_or_init(|| Recorder::start(self.pool.clone()));
            return recorder.record(d).await;
        }
        // SQLite: the group-commit writer batches already.
        self.write(move |c| {
            Box::pin(async move {
                let fresh = record_batch(c, std::slice::from_ref(&d)).await?;
                Ok(fresh.first().copied().unwrap_or(false))
            })
        })
        .await
    }

    async fn finish_github_delivery(
        &self,
        guid: &str,
        outcome: &str,
        detail: &str,
    ) -> StoreResult<()> {
        let (guid, outcome, detail) = (guid.to_owned(), outcome.to_owned(), detail.to_owned());
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "UPDATE github_deliveries SET outcome = $1, detail = $2 WHERE guid = $3",
                )
                .bind(&outcome)
                .bind(&detail)
                .bind(&guid)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn forget_github_delivery(&self, guid: &str) -> StoreResult<()> {
        let guid = guid.to_owned();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query("DELETE FROM github_deliveries WHERE guid = $1")
                    .bind(&guid)
                    .execute(&mut *c)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn list_github_deliveries(&self, limit: u32) -> StoreResult<Vec<GithubDelivery>> {
        let rows: Vec<GithubDeliveryRow> = sqlx::query_as(
            "SELECT guid, event, action, repository, outcome, detail, received_at \
             FROM github_deliveries ORDER BY received_at DESC, guid LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| GithubDelivery {
                guid: r.guid,
                event: r.event,
                action: r.action,
                repository: r.repository,
                outcome: r.outcome,
                detail: r.detail,
                received_at_ms: r.received_at,
            })
            .collect())
    }

    async fn add_auto_deploy(&self, new: NewAutoDeploy) -> StoreResult<AutoDeploy> {
        self.write(move |c| {
            Box::pin(async move {
                let now = now_ms();
                sqlx::query(
                    "INSERT INTO auto_deploys (repo_id, environment, sha, ref, trigger, \
                         required_contexts, production, state, detail, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', 'waiting for CI', $8, $8) \
                     ON CONFLICT (repo_id, environment, sha) DO NOTHING",
                )
                .bind(new.repo_id.get())
                .bind(new.environment.as_str())
                .bind(new.sha.as_str())
                .bind(&new.git_ref)
                .bind(new.trigger.as_str())
                .bind(contexts_to_text(&new.required_contexts))
                .bind(b(new.production))
                .bind(now)
                .execute(&mut *c)
                .await?;
                let row: AutoDeployRow = sqlx::query_as(&format!(
                    "SELECT {AUTO_COLS} FROM auto_deploys \
                     WHERE repo_id = $1 AND environment = $2 AND sha = $3"
                ))
                .bind(new.repo_id.get())
                .bind(new.environment.as_str())
                .bind(new.sha.as_str())
                .fetch_one(&mut *c)
                .await?;
                row.into_auto()
            })
        })
        .await
    }

    async fn list_auto_deploys(&self, repo: RepoId, limit: u32) -> StoreResult<Vec<AutoDeploy>> {
        let rows: Vec<AutoDeployRow> = sqlx::query_as(&format!(
            "SELECT {AUTO_COLS} FROM auto_deploys WHERE repo_id = $1 ORDER BY id DESC LIMIT $2"
        ))
        .bind(repo.get())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AutoDeployRow::into_auto).collect()
    }

    async fn waiting_auto_deploys(&self, repo: RepoId, sha: &Sha) -> StoreResult<Vec<AutoDeploy>> {
        let rows: Vec<AutoDeployRow> = sqlx::query_as(&format!(
            "SELECT {AUTO_COLS} FROM auto_deploys WHERE repo_id = $1 AND sha = $2 \
             AND state = 'waiting' ORDER BY id"
        ))
        .bind(repo.get())
        .bind(sha.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(AutoDeployRow::into_auto).collect()
    }

    async fn advance_auto_deploy(
        &self,
        id: i64,
        deployment: NewDeployment,
    ) -> StoreResult<AutoDeploy> {
        let pg = self.is_postgres();
        let targets = Arc::clone(&self.targets);
        let (advanced, queued) = self
            .write(move |c| {
                Box::pin(async move {
                    if pg {
                        // Two instances advancing one auto-deploy: the second waits, then
                        // sees it created.
                        sqlx::query("SELECT id FROM auto_deploys WHERE id = $1 FOR UPDATE")
                            .bind(id)
                            .execute(&mut *c)
                            .await?;
                    }
                    let auto = load_auto(c, id).await?;
                    if auto.state != AutoDeployState::Waiting {
                        return Ok((auto, Queued(false)));
                    }
                    let latest = super::latest_contexts(&mut *c, auto.repo_id, &auto.sha).await?;
                    let latest: Vec<(String, CommitState)> =
                        latest.into_iter().map(|c| (c.context, c.state)).collect();
                    // `wait_for_ci` without a list: CI must have reported something first
                    // (GitHub's rule alone would pass a commit nothing has reported on yet).
                    if latest.is_empty()
                        && matches!(deployment.required_contexts, RequiredContexts::AllReported)
                    {
                        let detail = "waiting for CI: no status or check reported yet";
                        settle_auto(c, id, AutoDeployState::Waiting, None, detail).await?;
                        return Ok((load_auto(c, id).await?, Queued(false)));
                    }
                    if let Err(checked) =
                        check_required_contexts(&deployment.required_contexts, &latest)
                    {
                        let failed: Vec<String> = checked
                            .iter()
                            .filter(|(_, s)| matches!(s, CommitState::Failure | CommitState::Error))
                            .map(|(n, s)| format!("{n} is {}", s.as_str()))
                            .collect();
                        if failed.is_empty() {
                            let waiting: Vec<String> = checked
                                .iter()
                                .filter(|(_, s)| *s == CommitState::Pending)
                                .map(|(n, _)| n.clone())
                                .collect();
                            let detail = format!("waiting for CI: {}", waiting.join(", "));
                            settle_auto(c, id, AutoDeployState::Waiting, None, &detail).await?;
                        } else {
                            let detail = format!(
                                "required_contexts_failed: Conflict: Commit status checks failed \
                                 for {}: {}",
                                auto.git_ref,
                                failed.join(", ")
                            );
                            settle_auto(c, id, AutoDeployState::Failed, None, &detail).await?;
                        }
                        return Ok((load_auto(c, id).await?, Queued(false)));
                    }
                    let created = super::insert_deployment(c, &deployment).await?;
                    let queued = enqueue(
                        c,
                        &targets,
                        HookEvent::Deployment,
                        created.repo_id,
                        created.id,
                        None,
                        Mirror::Yes,
                    )
                    .await?;
                    settle_auto(
                        c,
                        id,
                        AutoDeployState::Created,
                        Some(created.id),
                        &format!("deployment {} created", created.id.get()),
                    )
                    .await?;
                    Ok((load_auto(c, id).await?, queued))
                })
            })
            .await?;
        self.wake_outbox(queued);
        Ok(advanced)
    }

    async fn github_deployment_id(&self, deployment: DeploymentId) -> StoreResult<Option<i64>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT github_id FROM github_mirror_deployments WHERE deployment_id = $1",
        )
        .bind(deployment.get())
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.0))
    }

    async fn mirrored_deployment(
        &self,
        repo: RepoId,
        github_id: i64,
    ) -> StoreResult<Option<DeploymentId>> {
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT deployment_id FROM github_mirror_deployments \
             WHERE repo_id = $1 AND github_id = $2",
        )
        .bind(repo.get())
        .bind(github_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| DeploymentId(r.0)))
    }

    async fn create_status_from_github(
        &self,
        repo: RepoId,
        github_status_id: i64,
        new: NewStatus,
    ) -> StoreResult<Option<StatusCreated>> {
        let known: Option<(i64,)> =
            sqlx::query_as("SELECT status_id FROM github_mirror_statuses WHERE github_id = $1")
                .bind(github_status_id)
                .fetch_optional(&self.pool)
                .await?;
        if known.is_some() {
            return Ok(None);
        }
        let created = self.create_status_as(repo, new, Mirror::No).await?;
        let status_id = created.status.id.get();
        self.write(move |c| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO github_mirror_statuses (github_id, status_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(github_status_id)
                .bind(status_id)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await?;
        Ok(Some(created))
    }
}
