//! Records the store returns and the inputs it takes. Plain data in domain types; the SQL row
//! types that produce them are private to [`crate::sql`].

use ferry_domain::{
    deployment::RequiredContexts, CommitState, CommitStatusId, DeploymentId, DeploymentSource,
    EnvName, EnvironmentId, RepoId, RepoSlug, Scope, Sha, StatusId, StatusState, Timestamp,
    TokenId,
};

/// Who did something: the token that made the request, shown as a GitHub user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: i64,
    pub login: String,
    /// Service tokens appear as `Bot`s, admin tokens as `User`s.
    pub bot: bool,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub id: TokenId,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
}

impl Token {
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id.get(),
            login: self.name.clone(),
            bot: !self.scopes.contains(&Scope::Admin),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// SHA-256 of the secret, hex; the secret itself never reaches the store.
    pub token_hash: String,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: RepoId,
    pub slug: RepoSlug,
    pub git_url: Option<String>,
    pub default_branch: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewRepo {
    pub slug: RepoSlug,
    pub git_url: Option<String>,
    pub default_branch: String,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: DeploymentId,
    pub repo_id: RepoId,
    pub source: DeploymentSource,
    pub sha: Sha,
    /// The ref as the client sent it.
    pub git_ref: String,
    pub task: String,
    /// The payload's JSON text, verbatim (an object or a string).
    pub payload: String,
    /// Current environment: the deployment's, or the latest status's (decision D2).
    pub environment: EnvName,
    pub original_environment: EnvName,
    pub description: Option<String>,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub creator: Actor,
    pub latest_state: Option<StatusState>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewDeployment {
    pub repo_id: RepoId,
    pub source: DeploymentSource,
    pub sha: Sha,
    pub git_ref: String,
    pub task: String,
    pub payload: String,
    pub environment: EnvName,
    pub description: Option<String>,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub creator: Actor,
    /// Checked inside the creating transaction against the commit's statuses.
    pub required_contexts: RequiredContexts,
}

/// Filters of a deployment listing; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct DeploymentFilter {
    pub repo_id: Option<RepoId>,
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    pub task: Option<String>,
    pub environment: Option<String>,
    pub source: Option<DeploymentSource>,
    /// Created at or after.
    pub from: Option<Timestamp>,
    /// Created before.
    pub to: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct DeploymentStatus {
    pub id: StatusId,
    pub deployment_id: DeploymentId,
    pub state: StatusState,
    pub description: String,
    pub environment: EnvName,
    pub target_url: String,
    pub log_url: String,
    pub environment_url: String,
    pub creator: Actor,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewStatus {
    pub deployment_id: DeploymentId,
    pub state: StatusState,
    pub description: String,
    /// `None` inherits (compat/github.md §3.3).
    pub environment: Option<EnvName>,
    pub target_url: String,
    pub log_url: String,
    pub environment_url: String,
    pub auto_inactive: bool,
    pub creator: Actor,
}

/// What creating a status did.
#[derive(Debug, Clone)]
pub struct StatusCreated {
    pub status: DeploymentStatus,
    /// `inactive` statuses added to earlier deployments by auto-inactivation.
    pub inactivated: Vec<DeploymentStatus>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    pub id: EnvironmentId,
    pub repo_id: RepoId,
    pub name: EnvName,
    pub wait_timer: i64,
    pub prevent_self_review: bool,
    /// JSON array of `{type, id}`, as sent.
    pub reviewers: String,
    /// JSON object, or `None` for `null`.
    pub branch_policy: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct EnvironmentSettings {
    pub wait_timer: i64,
    pub prevent_self_review: bool,
    pub reviewers: String,
    pub branch_policy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CommitStatus {
    pub id: CommitStatusId,
    pub repo_id: RepoId,
    pub sha: Sha,
    pub context: String,
    pub state: CommitState,
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub creator: Actor,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewCommitStatus {
    pub repo_id: RepoId,
    pub sha: Sha,
    pub context: String,
    pub state: CommitState,
    pub target_url: Option<String>,
    pub description: Option<String>,
    pub creator: Actor,
}

/// GitHub caps statuses per sha and context.
pub const MAX_STATUSES_PER_CONTEXT: i64 = 1000;
