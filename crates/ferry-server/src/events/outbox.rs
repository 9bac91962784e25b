//! The outbox worker: claims due deliveries, sends them, records every attempt.
//!
//! Deliveries are rows written by the transaction that made the event (see
//! `ferry_store::WebhookStore`), so nothing committed is lost: a delivery is retried until a
//! `2xx` (at-least-once; the `X-GitHub-Delivery` guid is the receiver's idempotency key) or
//! until `max_attempts` failures make it `dead`. Backoff doubles from `retry_base` up to
//! `retry_cap`. Claims are leased: if this process dies mid-send, another worker (or this one
//! after a restart) sends again once the lease ends.
//!
//! Wake-ups: the store's signal after each commit that enqueued something (on PostgreSQL, any
//! instance's commit through `LISTEN/NOTIFY`), else the next due retry, else a 1 s poll.

use super::github;
use super::payloads;
use super::signature::sign;
use crate::cache::Recent;
use crate::urls::Urls;
use ferry_domain::RepoId;
use ferry_store::model::{AttemptOutcome, ClaimedDelivery, DeliveryTarget, HookEvent, Repo};
use ferry_store::Store;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Delivery settings (`[webhooks]` of ferry.toml, `FERRY_WEBHOOK_*`).
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    pub retry_base: Duration,
    pub retry_cap: Duration,
    pub max_attempts: i64,
    pub timeout: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(600),
            max_attempts: 10,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Most deliveries claimed by one query.
const BATCH: u32 = 256;

/// Most deliveries being sent at once.
const MAX_IN_FLIGHT: usize = 512;

pub struct Outbox {
    store: Arc<dyn Store>,
    urls: Arc<Urls>,
    client: reqwest::Client,
    settings: OutboxSettings,
    /// Repositories by id for one second: every payload embeds one.
    repos: Recent<RepoId, Repo>,
    /// Mirror mode as a GitHub App: installation tokens.
    github_tokens: github::InstallationTokens,
}

fn now_ms() -> i64 {
    ferry_domain::Timestamp::now_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The wait before attempt `n + 1` after `n` failed ones: base · 2^(n−1), capped.
pub fn backoff(settings: &OutboxSettings, failed: i64) -> Duration {
    let exp = u32::try_from(failed.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    settings
        .retry_base
        .saturating_mul(2u32.saturating_pow(exp))
        .min(settings.retry_cap)
}

impl Outbox {
    pub fn new(store: Arc<dyn Store>, urls: Arc<Urls>, settings: OutboxSettings) -> Arc<Outbox> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        Arc::new(Outbox {
            store,
            urls,
            client,
            settings,
            repos: Recent::default(),
            github_tokens: github::InstallationTokens::default(),
        })
    }

    pub fn spawn(self: &Arc<Self>) {
        let me = Arc::clone(self);
        tokio::spawn(async move { me.run().await });
    }

    /// The delivery loop: a pipeline, not rounds. Sends run as tasks; each one's result is
    /// recorded as soon as it (and any others done by then) finishes, and free slots are
    /// refilled at once — so a receiver that hangs holds one slot until its timeout, never
    /// the deliveries of other subscriptions.
    async fn run(self: Arc<Self>) {
        let signal = self.store.outbox_signal();
        // A lease outlives any attempt: the HTTP timeout plus slack for the database.
        let lease = millis(self.settings.timeout) + 30_000;
        let mut sends: JoinSet<AttemptOutcome> = JoinSet::new();
        let mut want_claim = true;
        loop {
            let room = MAX_IN_FLIGHT.saturating_sub(sends.len());
            if want_claim && room > 0 {
                let ask = room.min(BATCH as usize);
                let ask32 = u32::try_from(ask).unwrap_or(BATCH);
                match self.store.claim_deliveries(now_ms(), ask32, lease).await {
                    Ok(claimed) => {
                        // A short batch: nothing more is due now.
                        want_claim = claimed.len() == ask;
                        for d in claimed {
                            let me = Arc::clone(&self);
                            sends.spawn(async move { me.attempt(d).await });
                        }
                        if want_claim && sends.len() < MAX_IN_FLIGHT {
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error.cause = %e, "outbox: claim failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let wait = if want_claim {
                // Full: wait for a slot (a send finishing wakes the loop first).
                1000
            } else {
                let due = self.store.next_delivery_due().await.ok().flatten();
                due.map_or(1000, |t| (t - now_ms()).clamp(0, 1000))
            };
            let sleep = tokio::time::sleep(Duration::from_millis(wait as u64));
            tokio::select! {
                Some(done) = sends.join_next(), if !sends.is_empty() => {
                    let mut outcomes = Vec::new();
                    let mut record = |done: Result<AttemptOutcome, tokio::task::JoinError>| {
                        match done {
                            Ok(o) => outcomes.push(o),
                            // A panicked send: its lease ends and it is tried again.
                            Err(e) => tracing::error!(error.cause = %e, "outbox: send task failed"),
                        }
                    };
                    record(done);
                    while let Some(more) = sends.try_join_next() {
                        record(more);
                    }
                    if let Err(e) = self.store.finish_deliveries(outcomes).await {
                        // Leases end and the deliveries are sent again: at-least-once.
                        tracing::warn!(error.cause = %e, "outbox: recording attempts failed");
                    }
                    // A finished event may unblock the next of its deployment.
                    want_claim = true;
                }
                _ = signal.notified() => want_claim = true,
                _ = sleep => want_claim = true,
            }
        }
    }

    /// One attempt of one delivery.
    async fn attempt(&self, d: ClaimedDelivery) -> AttemptOutcome {
        let at_ms = now_ms();
        let started = Instant::now();
        if let DeliveryTarget::Github { mirror, repo } = &d.target {
            let sent = github::send(
                &self.store,
                &self.client,
                &self.github_tokens,
                mirror,
                repo,
                &d,
            )
            .await;
            return self.settle(&d, at_ms, started, sent);
        }
        let (status_code, error) = match self.render(&d).await {
            Ok(Some(body)) => self.post(&d, body).await,
            Ok(None) => {
                // What it announced is gone (deployment deleted): nothing will ever render.
                return AttemptOutcome {
                    delivery_id: d.id,
                    at_ms,
                    status_code: None,
                    duration_ms: 0,
                    error: Some("the deployment or status no longer exists".into()),
                    retry_at_ms: None,
                    dead: true,
                    github_id: None,
                };
            }
            Err(e) => (None, Some(format!("could not build the payload: {e}"))),
        };
        let sent = github::Sent {
            status_code,
            error,
            github_id: None,
            retryable: true,
        };
        self.settle(&d, at_ms, started, sent)
    }

    /// The outcome of an attempt: delivered on 2xx, else retried with backoff until the budget
    /// is spent (or at once dead when retrying cannot help).
    fn settle(
        &self,
        d: &ClaimedDelivery,
        at_ms: i64,
        started: Instant,
        sent: github::Sent,
    ) -> AttemptOutcome {
        let github::Sent {
            status_code,
            error,
            github_id,
            retryable,
        } = sent;
        let duration_ms = millis(started.elapsed());
        let delivered = status_code.is_some_and(|c| (200..300).contains(&c)) && error.is_none();
        let (retry_at_ms, dead) = if delivered {
            (None, false)
        } else if !retryable || d.round_attempts >= self.settings.max_attempts {
            (None, true)
        } else {
            let wait = backoff(&self.settings, d.round_attempts);
            (Some(now_ms() + millis(wait)), false)
        };
        if !delivered {
            tracing::info!(delivery = d.id, webhook = d.webhook_id, attempt = d.attempts,
                status = ?status_code, error = ?error, dead, "webhook delivery failed");
        }
        AttemptOutcome {
            delivery_id: d.id,
            at_ms,
            status_code,
            duration_ms,
            error,
            retry_at_ms,
            dead,
            github_id,
        }
    }

    async fn post(&self, d: &ClaimedDelivery, body: Vec<u8>) -> (Option<i64>, Option<String>) {
        let DeliveryTarget::Hook { url, secret } = &d.target else {
            return (None, Some("not a webhook delivery".into()));
        };
        let mut req = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "GitHub-Hookshot/ferry")
            .header("x-github-event", d.event.as_str())
            .header("x-github-delivery", &d.guid)
            .header("x-hub-signature-256", sign(secret.as_bytes(), &body))
            .header("x-github-hook-id", d.webhook_id.to_string())
            .header("x-github-hook-installation-target-type", "repository");
        if let Some(r) = d.repo_id {
            req = req.header("x-github-hook-installation-target-id", r.get().to_string());
        }
        match req.body(body).send().await {
            Ok(res) => {
                let code = i64::from(res.status().as_u16());
                // Drain so the connection goes back to the pool.
                let _ = res.bytes().await;
                (Some(code), None)
            }
            Err(e) => (None, Some(describe(&e))),
        }
    }

    /// The body, or `None` when what it announces no longer exists.
    async fn render(&self, d: &ClaimedDelivery) -> anyhow::Result<Option<Vec<u8>>> {
        let repo = match d.repo_id {
            Some(r) => match self.repos.get(&r) {
                Some(repo) => Some(repo),
                None => match self.store.repo_by_id(r).await? {
                    Some(repo) => {
                        self.repos.put(r, repo.clone());
                        Some(repo)
                    }
                    None => return Ok(None),
                },
            },
            None => None,
        };
        let body: Value = match d.event {
            HookEvent::Ping => {
                let Some(hook) = self.store.webhook(d.webhook_id).await? else {
                    return Ok(None);
                };
                payloads::ping(&self.urls, &hook, repo.as_ref())
            }
            HookEvent::Deployment | HookEvent::DeploymentStatus => {
                let (Some(repo), Some(dep_id)) = (repo, d.deployment_id) else {
                    return Ok(None);
                };
                let Some(dep) = self.store.deployment(repo.id, dep_id).await? else {
                    return Ok(None);
                };
                if d.event == HookEvent::Deployment {
                    payloads::deployment_created(&self.urls, &repo, &dep)
                } else {
                    let Some(status_id) = d.status_id else {
                        return Ok(None);
                    };
                    let Some(status) = self.store.status(dep.id, status_id).await? else {
                        return Ok(None);
                    };
                    payloads::status_created(&self.urls, &repo, &dep, &status)
                }
            }
        };
        Ok(Some(serde_json::to_vec(&body)?))
    }
}

/// A transport error in a few words (no URL credentials: reqwest's Display may carry the URL).
pub(crate) fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else if e.is_request() {
        "request failed".into()
    } else {
        "transport error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let s = OutboxSettings {
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_millis(1000),
            ..OutboxSettings::default()
        };
        assert_eq!(backoff(&s, 1), Duration::from_millis(100));
        assert_eq!(backoff(&s, 2), Duration::from_millis(200));
        assert_eq!(backoff(&s, 4), Duration::from_millis(800));
        assert_eq!(backoff(&s, 5), Duration::from_millis(1000));
        assert_eq!(backoff(&s, 60), Duration::from_millis(1000));
    }
}
