//! Keeps DORA change data current and builds reports.
//!
//! The store records what a successful deployment carried in the transaction that makes it a
//! success; only the walk of a git mirror (`git log prev..sha`) is done here, after the commit.
//! [`DoraKeeper::drain`] walks every pending deployment: the background task runs it when
//! kicked (a success status, an ingest) and every few seconds (what a crash left), and every
//! report runs it first, so a report always reflects every `2xx` answered before it.

use crate::git::Mirrors;
use ferry_domain::dora::{self, DoraInput, DoraRange};
use ferry_domain::{ServiceId, Timestamp};
use ferry_store::model::{DoraQuery, WalkedCommit};
use ferry_store::{Store, StoreResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

/// Most commits one deployment carries from a walk (a force-push can make `prev` unrelated).
const WALK_CAP: usize = 10_000;

/// How often the background task looks for pending walks without being kicked.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

pub struct DoraKeeper {
    store: Arc<dyn Store>,
    mirrors: Arc<Mirrors>,
    /// `dora.production_environments`, lower-cased.
    pub extra_production: Vec<String>,
    wake: Notify,
    /// One drain at a time per instance (walks are idempotent, so instances may overlap).
    draining: Mutex<()>,
}

/// What a report covers.
pub struct ReportScope {
    pub range: DoraRange,
    pub benchmark: dora::Benchmark,
    pub services: Vec<ServiceId>,
    pub environment: Option<String>,
}

impl DoraKeeper {
    pub fn new(
        store: Arc<dyn Store>,
        mirrors: Arc<Mirrors>,
        extra_production: Vec<String>,
    ) -> Arc<DoraKeeper> {
        Arc::new(DoraKeeper {
            store,
            mirrors,
            extra_production,
            wake: Notify::new(),
            draining: Mutex::new(()),
        })
    }

    /// Starts the background walker.
    pub fn spawn(self: &Arc<Self>) {
        let keeper = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                if let Err(e) = keeper.drain().await {
                    tracing::warn!(error.cause = %e, "DORA change data: walk failed; will retry");
                }
                if let Err(e) = keeper.store.fold_dora_counts().await {
                    tracing::warn!(error.cause = %e, "DORA counts: fold failed; will retry");
                }
                let _ = tokio::time::timeout(SWEEP_EVERY, keeper.wake.notified()).await;
            }
        });
    }

    /// Asks the background walker to run soon.
    pub fn kick(&self) {
        self.wake.notify_one();
    }

    /// Walks every pending deployment. A mirror that cannot be read leaves the deployment
    /// with the commits its payload named (logged), so one bad remote cannot stall reports.
    pub async fn drain(&self) -> StoreResult<()> {
        let _one = self.draining.lock().await;
        loop {
            let pending = self.store.pending_dora(64).await?;
            if pending.is_empty() {
                return Ok(());
            }
            for p in pending {
                let mut walked = Vec::with_capacity(p.heads.len());
                for head in &p.heads {
                    let commits = match self
                        .mirrors
                        .get(head.repo_id, &head.slug.key(), &head.git_url)
                        .await
                    {
                        Ok(mirror) => mirror.walk(head.prev.as_deref(), &head.sha, WALK_CAP).await,
                        Err(e) => Err(e),
                    };
                    match commits {
                        Ok(list) => walked.push((
                            head.repo_key.clone(),
                            list.into_iter()
                                .map(|(sha, at)| WalkedCommit {
                                    sha: sha.as_str().to_owned(),
                                    authored_at: Some(Timestamp::from_unix(at)),
                                })
                                .collect(),
                        )),
                        Err(e) => tracing::warn!(repo = %head.slug.full_name(),
                            sha = %head.sha, error.cause = %e,
                            "DORA change data: git walk failed; keeping the named commit only"),
                    }
                }
                self.store.complete_dora(p.dora_id, walked).await?;
            }
        }
    }

    /// The facts of `scope` for a report (`bucket: None`) or a series, after walking what is
    /// pending.
    pub async fn input(
        &self,
        scope: &ReportScope,
        bucket: Option<dora::Bucket>,
    ) -> StoreResult<DoraInput> {
        self.drain().await?;
        let facts = self
            .store
            .dora_facts(&DoraQuery {
                from: scope.range.start(),
                until: scope.range.end_exclusive(),
                services: scope.services.clone(),
                environment: scope.environment.clone(),
                extra_production: self.extra_production.clone(),
                lead_tiles: Some(dora::tally::tiles(scope.range, bucket)),
            })
            .await?;
        Ok(DoraInput {
            range: scope.range,
            benchmark: scope.benchmark,
            deployments: facts.deployments,
            changes: facts.changes,
            tally: facts.tally,
            incidents: facts.incidents,
            any_deployment_ever: facts.any_deployment_ever,
        })
    }
}
