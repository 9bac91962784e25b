//! The narrow store traits, one per aggregate. Consumers ask for the one they use; [`Store`]
//! is their union, which the server holds as `Arc<dyn Store>`.

use crate::model::*;
use crate::StoreResult;
use async_trait::async_trait;
use ferry_domain::{
    DeploymentId, EnvName, IntegrationId, IssueId, Page, RepoId, RepoSlug, ServiceId, Sha,
    StatusId, SuggestionId, Timestamp, TokenId,
};
use std::future::Future;
use std::pin::Pin;

/// Work handed to the store that finishes when awaited (see
/// [`IngestStore::queue_deployments`]).
pub type Queued<T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send>>;

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn create_token(&self, new: NewToken) -> StoreResult<Token>;
    async fn token_by_hash(&self, token_hash: &str) -> StoreResult<Option<Token>>;
    async fn list_tokens(&self) -> StoreResult<Vec<Token>>;
    async fn delete_token(&self, id: TokenId) -> StoreResult<()>;
    /// Creates the token unless one with the same hash exists (for `--admin-token`).
    async fn ensure_token(&self, new: NewToken) -> StoreResult<Token>;
    async fn count_admin_tokens(&self) -> StoreResult<u64>;
}

#[async_trait]
pub trait RepoStore: Send + Sync {
    /// `Conflict` when the name is taken (case-insensitively).
    async fn create_repo(&self, new: NewRepo) -> StoreResult<Repo>;
    async fn repo_by_slug(&self, slug: &RepoSlug) -> StoreResult<Option<Repo>>;
    async fn repo_by_id(&self, id: RepoId) -> StoreResult<Option<Repo>>;
    async fn list_repos(&self) -> StoreResult<Vec<Repo>>;
    /// `NotFound` for an unknown repository.
    async fn update_repo(&self, slug: &RepoSlug, patch: RepoPatch) -> StoreResult<Repo>;
}

#[async_trait]
pub trait DeploymentStore: Send + Sync {
    /// Checks required contexts, inserts the deployment and makes sure its environment
    /// exists, in one transaction.
    async fn create_deployment(&self, new: NewDeployment) -> StoreResult<Deployment>;
    async fn deployment(&self, repo: RepoId, id: DeploymentId) -> StoreResult<Option<Deployment>>;
    /// Newest first, with the total count for pagination links.
    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        page: Page,
    ) -> StoreResult<(Vec<Deployment>, u64)>;
    /// `NotFound`, `DeploymentActive`, or deleted with its statuses.
    async fn delete_deployment(&self, repo: RepoId, id: DeploymentId) -> StoreResult<()>;

    /// Inserts the status, updates the deployment's environment and latest state, and runs
    /// auto-inactivation, in one transaction. `NotFound` for an unknown deployment.
    async fn create_status(&self, repo: RepoId, new: NewStatus) -> StoreResult<StatusCreated>;
    async fn list_statuses(
        &self,
        deployment: DeploymentId,
        page: Page,
    ) -> StoreResult<(Vec<DeploymentStatus>, u64)>;
    async fn status(
        &self,
        deployment: DeploymentId,
        id: StatusId,
    ) -> StoreResult<Option<DeploymentStatus>>;
}

#[async_trait]
pub trait EnvironmentStore: Send + Sync {
    async fn list_environments(
        &self,
        repo: RepoId,
        page: Page,
    ) -> StoreResult<(Vec<Environment>, u64)>;
    async fn environment(&self, repo: RepoId, name: &EnvName) -> StoreResult<Option<Environment>>;
    async fn upsert_environment(
        &self,
        repo: RepoId,
        name: &EnvName,
        settings: EnvironmentSettings,
    ) -> StoreResult<Environment>;
    async fn delete_environment(&self, repo: RepoId, name: &EnvName) -> StoreResult<()>;
}

#[async_trait]
pub trait CommitStatusStore: Send + Sync {
    /// `LimitReached` past [`MAX_STATUSES_PER_CONTEXT`].
    async fn create_commit_status(&self, new: NewCommitStatus) -> StoreResult<CommitStatus>;
    /// All statuses of a commit, newest first.
    async fn list_commit_statuses(
        &self,
        repo: RepoId,
        sha: &Sha,
        page: Page,
    ) -> StoreResult<(Vec<CommitStatus>, u64)>;
    /// The latest status of each context, newest first.
    async fn latest_commit_statuses(
        &self,
        repo: RepoId,
        sha: &Sha,
    ) -> StoreResult<Vec<CommitStatus>>;
}

/// Ingestion (compat/ingest.md): integrations, the service catalog, ingested deploys and
/// issues. Every write is one transaction: a refused post leaves nothing behind.
#[async_trait]
pub trait IngestStore: Send + Sync {
    async fn create_integration(&self, new: NewIntegration) -> StoreResult<Integration>;
    /// Integrations not revoked, by id.
    async fn list_integrations(&self) -> StoreResult<Vec<Integration>>;
    async fn integration(&self, id: IntegrationId) -> StoreResult<Option<Integration>>;
    async fn integration_by_secret(&self, secret_hash: &str) -> StoreResult<Option<Integration>>;
    /// DevLake connections by name (case-insensitive), oldest first.
    async fn integrations_by_name(&self, name: &str) -> StoreResult<Vec<Integration>>;
    /// Revokes: the integration stops accepting posts; its deploys stay. `NotFound` if unknown
    /// or already revoked.
    async fn revoke_integration(&self, id: IntegrationId) -> StoreResult<()>;

    /// `Conflict` when the name or an alias is taken. `input.name` is required.
    async fn create_service(&self, input: ServiceInput) -> StoreResult<Service>;
    async fn list_services(&self) -> StoreResult<Vec<Service>>;
    /// By name or alias, case-insensitively.
    async fn service_by_name(&self, name: &str) -> StoreResult<Option<Service>>;
    async fn update_service(&self, id: ServiceId, input: ServiceInput) -> StoreResult<Service>;
    /// Its deploys and incidents stay, without a service.
    async fn delete_service(&self, id: ServiceId) -> StoreResult<()>;

    /// Open (not dismissed) suggestions, most deploys first.
    async fn list_suggestions(&self) -> StoreResult<Vec<Suggestion>>;
    /// Adds the alias to a service (creating it if asked), re-links the deploys recorded under
    /// the alias, and removes the suggestion.
    async fn accept_suggestion(&self, id: SuggestionId, into: AcceptInto) -> StoreResult<Service>;
    async fn dismiss_suggestion(&self, id: SuggestionId) -> StoreResult<()>;

    /// Records one deploy: matches its service, allocates its deploy number, records a
    /// suggestion for an unknown alias, all in one transaction.
    async fn ingest_deployment(&self, new: NewIngestedDeployment) -> StoreResult<Ingested>;
    /// [`ingest_deployment`](IngestStore::ingest_deployment) for each, in order, in one
    /// transaction (bulk import): all are recorded or none.
    async fn ingest_deployments(
        &self,
        batch: Vec<NewIngestedDeployment>,
    ) -> StoreResult<Vec<Ingested>>;
    /// [`ingest_deployments`](IngestStore::ingest_deployments) in two steps, for a caller
    /// that prepares its next batch while one is written: returns once the batch is queued
    /// behind every batch queued before it (batches queued one after the other are written
    /// in that order, each in its own transaction); awaiting what it returns gives the
    /// outcome once committed. Where writers do not queue (PostgreSQL, or a batch that
    /// updates deploys in place) the batch is written before this returns, in transactions
    /// of 1,000 deploys.
    async fn queue_deployments(
        &self,
        batch: Vec<NewIngestedDeployment>,
    ) -> StoreResult<Queued<Vec<Ingested>>>;
    /// API and ingested deploys, newest first, with the total.
    async fn list_all_deployments(
        &self,
        filter: &AllDeploymentsFilter,
        page: Page,
    ) -> StoreResult<(Vec<AnyDeployment>, u64)>;

    /// Creates or replaces the issue `(integration, issue_key)`.
    async fn upsert_issue(&self, new: NewIssue) -> StoreResult<Issue>;
    /// Sets `DONE`, and the resolution date to `now` if unset. `NotFound` if unknown.
    async fn close_issue(
        &self,
        integration: IntegrationId,
        issue_key: &str,
        now: ferry_domain::Timestamp,
    ) -> StoreResult<Issue>;
    /// Incidents (issues of type `INCIDENT`), newest first.
    async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        page: Page,
    ) -> StoreResult<(Vec<Issue>, u64)>;
}

/// DORA (spec/dora.md): the change data kept beside deployments, pull requests, incidents of
/// ferry's own API, and the facts one report reads. The rows DORA needs are written in the
/// transaction of the deployment, status or ingest that makes them; only the walk of a git
/// mirror happens after (see [`pending_dora`](DoraStore::pending_dora)).
#[async_trait]
pub trait DoraStore: Send + Sync {
    /// The deployments, changes and incidents a report over `q` needs (see
    /// `ferry_domain::dora::DoraInput` for what "needs" means).
    async fn dora_facts(&self, q: &DoraQuery) -> StoreResult<DoraFacts>;
    /// Folds what writers logged into the per-day DORA counts (PostgreSQL; nothing to do on
    /// SQLite). Reports read the logs too; this only keeps them short.
    async fn fold_dora_counts(&self) -> StoreResult<()>;
    /// Successful deployments whose new commits must still be read from a git mirror, oldest
    /// first.
    async fn pending_dora(&self, limit: u32) -> StoreResult<Vec<PendingDora>>;
    /// Records the commits walked for a pending deployment (per `repo_key`) and clears its
    /// pending mark. Idempotent: walking twice records nothing twice.
    async fn complete_dora(
        &self,
        dora_id: i64,
        walked: Vec<(String, Vec<WalkedCommit>)>,
    ) -> StoreResult<()>;
    /// Creates or replaces a pull request and re-keys the changes of its commits.
    async fn upsert_pull_request(&self, new: NewPullRequest) -> StoreResult<PullRequest>;
    /// `NotFound` when the explicit deployment does not exist.
    async fn create_incident(&self, new: NewIncident) -> StoreResult<Issue>;
    /// Any incident (API or DevLake) by id.
    async fn incident(&self, id: IssueId) -> StoreResult<Option<Issue>>;
    /// Sets `DONE` and the resolution time. `NotFound` if unknown.
    async fn resolve_incident(&self, id: IssueId, at: Timestamp) -> StoreResult<Issue>;
}

/// Outbound webhooks: subscriptions and the transactional outbox of their deliveries.
///
/// Deliveries are enqueued by the transactions that create deployments and statuses (one row
/// per matching subscription); a worker claims due ones, sends them, and records each attempt.
/// Claims lease their rows, so a worker that dies hands its claims back when the lease ends;
/// on PostgreSQL several instances claim with `FOR UPDATE SKIP LOCKED`.
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Creates the subscription and enqueues its `ping`, in one transaction.
    async fn create_webhook(&self, new: NewWebhook) -> StoreResult<Webhook>;
    async fn list_webhooks(&self) -> StoreResult<Vec<Webhook>>;
    async fn webhook(&self, id: i64) -> StoreResult<Option<Webhook>>;
    async fn update_webhook(&self, id: i64, patch: WebhookPatch) -> StoreResult<Webhook>;
    /// Deletes the subscription with its deliveries and their log.
    async fn delete_webhook(&self, id: i64) -> StoreResult<()>;
    /// Newest first.
    async fn list_deliveries(&self, webhook: i64, limit: u32) -> StoreResult<Vec<Delivery>>;
    async fn delivery(
        &self,
        webhook: i64,
        id: i64,
    ) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>>;
    /// Sends the delivery again (same guid) as soon as possible, with a fresh attempt budget.
    async fn redeliver(&self, webhook: i64, id: i64, now_ms: i64) -> StoreResult<()>;
    /// Claims up to `limit` due deliveries for `lease_ms`. Of the undelivered deliveries of
    /// one deployment for one subscription only the oldest is ever claimable: events arrive in
    /// creation order.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
        lease_ms: i64,
    ) -> StoreResult<Vec<ClaimedDelivery>>;
    /// Records attempts and moves each delivery on (delivered, retry later, or dead).
    async fn finish_deliveries(&self, outcomes: Vec<AttemptOutcome>) -> StoreResult<()>;
    /// When the next pending delivery falls due (ms), if any.
    async fn next_delivery_due(&self) -> StoreResult<Option<i64>>;
    /// Woken after a commit that enqueued deliveries (on PostgreSQL also by other instances,
    /// through `LISTEN ferry_outbox`).
    fn outbox_signal(&self) -> std::sync::Arc<tokio::sync::Notify>;
}

/// Inbound GitHub deliveries and the auto-deploys they decide.
#[async_trait]
pub trait GithubStore: Send + Sync {
    /// Records a delivery by its guid; `false` when that guid was recorded before — unless
    /// that record was abandoned unfinished (its process died): then it is taken over.
    async fn record_github_delivery(&self, d: GithubDelivery) -> StoreResult<bool>;
    async fn finish_github_delivery(
        &self,
        guid: &str,
        outcome: &str,
        detail: &str,
    ) -> StoreResult<()>;
    /// Forgets a delivery whose processing failed, so that GitHub's redelivery is processed.
    async fn forget_github_delivery(&self, guid: &str) -> StoreResult<()>;
    /// Newest first.
    async fn list_github_deliveries(&self, limit: u32) -> StoreResult<Vec<GithubDelivery>>;
    /// Records an auto-deploy, or returns the one already recorded for its (repository,
    /// environment, sha).
    async fn add_auto_deploy(&self, new: NewAutoDeploy) -> StoreResult<AutoDeploy>;
    /// A repository's auto-deploys, newest first.
    async fn list_auto_deploys(&self, repo: RepoId, limit: u32) -> StoreResult<Vec<AutoDeploy>>;
    /// Auto-deploys of a commit still waiting for CI.
    async fn waiting_auto_deploys(&self, repo: RepoId, sha: &Sha) -> StoreResult<Vec<AutoDeploy>>;
    /// Re-checks a waiting auto-deploy's contexts in one transaction: all green → creates
    /// `deployment` and marks it created; one failed → marks it failed; otherwise it stays
    /// waiting. Anything not waiting is returned as it is.
    async fn advance_auto_deploy(
        &self,
        id: i64,
        deployment: NewDeployment,
    ) -> StoreResult<AutoDeploy>;
    /// Mirror mode: the GitHub id of a ferry deployment, once its creation was delivered.
    async fn github_deployment_id(&self, deployment: DeploymentId) -> StoreResult<Option<i64>>;
    /// Mirror mode: the ferry deployment GitHub's deployment `github_id` mirrors.
    async fn mirrored_deployment(
        &self,
        repo: RepoId,
        github_id: i64,
    ) -> StoreResult<Option<DeploymentId>>;
    /// Mirror mode: takes in a status GitHub reported (its `deployment_status` event) unless it
    /// is one ferry created there, or was taken in before (`None` then). It is not sent back.
    async fn create_status_from_github(
        &self,
        repo: RepoId,
        github_status_id: i64,
        new: NewStatus,
    ) -> StoreResult<Option<StatusCreated>>;
}

/// The whole store: every aggregate plus health.
#[async_trait]
pub trait Store:
    TokenStore
    + RepoStore
    + DeploymentStore
    + EnvironmentStore
    + CommitStatusStore
    + IngestStore
    + DoraStore
    + WebhookStore
    + GithubStore
{
    /// Cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Which backend this is (`sqlite` or `postgres`), for logs and benchmarks.
    fn backend(&self) -> &'static str;
}
