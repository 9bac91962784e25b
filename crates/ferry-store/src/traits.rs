//! The narrow store traits, one per aggregate. Consumers ask for the one they use; [`Store`]
//! is their union, which the server holds as `Arc<dyn Store>`.

use crate::model::*;
use crate::StoreResult;
use async_trait::async_trait;
use ferry_domain::{DeploymentId, EnvName, Page, RepoId, RepoSlug, Sha, StatusId, TokenId};

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
    async fn list_repos(&self) -> StoreResult<Vec<Repo>>;
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

/// The whole store: every aggregate plus health.
#[async_trait]
pub trait Store:
    TokenStore + RepoStore + DeploymentStore + EnvironmentStore + CommitStatusStore
{
    /// Cheap round trip, for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
    /// Which backend this is (`sqlite` or `postgres`), for logs and benchmarks.
    fn backend(&self) -> &'static str;
}
