//! Records the store returns and the inputs it takes. Plain data in domain types; the SQL row
//! types that produce them are private to [`crate::sql`].

use ferry_domain::ingest::{
    DedupScope, DeployResult, DevLakeAuth, IntegrationKind, IssueStatus, ServiceAlias,
};
use ferry_domain::{
    deployment::RequiredContexts, CommitState, CommitStatusId, DeploymentId, DeploymentSource,
    EnvName, EnvironmentId, IngestedDeploymentId, IntegrationId, IssueId, RepoId, RepoSlug, Scope,
    ServiceId, Sha, StatusId, StatusState, SuggestionId, Timestamp, TokenId,
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
    /// Inbound GitHub webhook secret (write-only on the API).
    pub github_webhook_secret: Option<String>,
    /// GitHub mirror mode: deployments and statuses are created on GitHub too.
    pub github_mirror: Option<GithubMirror>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewRepo {
    pub slug: RepoSlug,
    pub git_url: Option<String>,
    pub default_branch: String,
    pub github_webhook_secret: Option<String>,
}

/// `PATCH /api/v1/repos/{owner}/{repo}`: `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RepoPatch {
    pub default_branch: Option<String>,
    /// `Some(None)` clears the secret.
    pub github_webhook_secret: Option<Option<String>>,
    /// `Some(None)` turns mirror mode off.
    pub github_mirror: Option<Option<GithubMirror>>,
}

/// Where and as whom a repository is mirrored to GitHub (or GitHub Enterprise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubMirror {
    /// REST API base, e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`.
    pub api_url: String,
    pub auth: GithubAuth,
}

/// How ferry authenticates to GitHub (write-only on the API).
#[derive(Clone, PartialEq, Eq)]
pub enum GithubAuth {
    /// A token with `repo_deployment` scope.
    Token(String),
    /// A GitHub App installation: ferry signs a JWT with the app's key and exchanges it for
    /// an installation token.
    App {
        app_id: i64,
        installation_id: i64,
        /// PEM (PKCS#1 as GitHub hands it out, or PKCS#8).
        private_key: String,
    },
}

impl std::fmt::Debug for GithubAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GithubAuth::Token(_) => f.write_str("Token(***)"),
            GithubAuth::App {
                app_id,
                installation_id,
                ..
            } => write!(
                f,
                "App {{ app_id: {app_id}, installation_id: {installation_id} }}"
            ),
        }
    }
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

// ---- Ingestion (compat/ingest.md): integrations, services, ingested deploys, issues. ----

/// An OpsLevel endpoint or a DevLake connection. Revoked ones are never returned.
#[derive(Debug, Clone)]
pub struct Integration {
    pub id: IntegrationId,
    pub kind: IntegrationKind,
    pub name: String,
    /// DevLake only.
    pub auth: Option<DevLakeAuth>,
    /// SHA-256 (hex) of the secret: the OpsLevel uuid (lower-case) or the DevLake key.
    pub secret_hash: Option<String>,
    /// OpsLevel: what identifies a deploy.
    pub dedup_scope: DedupScope,
    /// OpsLevel: refuse deploys without deployer e-mail or name.
    pub strict_deployer: bool,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub kind: IntegrationKind,
    pub name: String,
    pub auth: Option<DevLakeAuth>,
    pub secret_hash: Option<String>,
    pub dedup_scope: DedupScope,
    pub strict_deployer: bool,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub id: ServiceId,
    pub name: String,
    pub aliases: Vec<ServiceAlias>,
    pub repos: Vec<RepoSlug>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A service to create, or the new values of one (`None` keeps the current value).
#[derive(Debug, Clone, Default)]
pub struct ServiceInput {
    pub name: Option<String>,
    /// Replaces the aliases. The name is always an alias too.
    pub aliases: Option<Vec<ServiceAlias>>,
    /// Replaces the linked repositories.
    pub repos: Option<Vec<RepoId>>,
}

#[derive(Debug, Clone)]
pub struct Suggestion {
    pub id: SuggestionId,
    pub alias: String,
    pub integration_id: IntegrationId,
    pub deploy_count: i64,
    pub dismissed: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// What accepting a suggestion does with its alias.
#[derive(Debug, Clone)]
pub enum AcceptInto {
    /// Adds the alias to this service.
    Existing(ServiceId),
    /// Creates a service with this name and the alias.
    New(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestedCommit {
    pub repo_url: String,
    pub sha: String,
    pub ref_name: Option<String>,
    pub message: Option<String>,
    pub name: Option<String>,
    pub authored_at: Option<Timestamp>,
    pub author: Option<String>,
    /// The registered repository `repo_url` names (filled by the store).
    pub repo: Option<RepoSlug>,
}

/// How a repeated `external_key` is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRepeat {
    /// OpsLevel: the first deploy wins; a repeat creates nothing.
    KeepFirst,
    /// DevLake: a repeat overwrites the deploy; commits are upserted by (repo_url, sha) and
    /// those absent from the repeat are kept.
    Update,
}

#[derive(Debug, Clone)]
pub struct NewIngestedDeployment {
    pub integration_id: IntegrationId,
    pub source: DeploymentSource,
    pub external_key: Option<String>,
    pub on_repeat: OnRepeat,
    /// The alias the sender named (OpsLevel). DevLake deploys find their service through
    /// their commits' repositories.
    pub service_alias: Option<ServiceAlias>,
    /// As sent; generated per service when `None` and `generate_number` is set.
    pub deploy_number: Option<String>,
    pub generate_number: bool,
    pub environment: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub result: DeployResult,
    pub deployer_name: Option<String>,
    pub deployer_email: Option<String>,
    pub deployer_id: Option<String>,
    pub deploy_url: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub commits: Vec<IngestedCommit>,
}

impl NewIngestedDeployment {
    /// The deploy as recorded under `id` at `now`, with the service it matched.
    pub(crate) fn recorded(
        self,
        id: IngestedDeploymentId,
        service_id: Option<ServiceId>,
        service_name: Option<String>,
        now: Timestamp,
    ) -> IngestedDeployment {
        IngestedDeployment {
            id,
            integration_id: self.integration_id,
            source: self.source,
            external_key: self.external_key,
            service_id,
            service_name,
            service_alias: self.service_alias.map(|a| a.as_str().to_owned()),
            deploy_number: self.deploy_number,
            environment: self.environment,
            name: self.name,
            description: self.description,
            result: self.result,
            deployer_name: self.deployer_name,
            deployer_email: self.deployer_email,
            deployer_id: self.deployer_id,
            deploy_url: self.deploy_url,
            started_at: self.started_at,
            finished_at: self.finished_at,
            commits: self.commits,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IngestedDeployment {
    pub id: IngestedDeploymentId,
    pub integration_id: IntegrationId,
    pub source: DeploymentSource,
    pub external_key: Option<String>,
    pub service_id: Option<ServiceId>,
    pub service_name: Option<String>,
    pub service_alias: Option<String>,
    pub deploy_number: Option<String>,
    pub environment: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub result: DeployResult,
    pub deployer_name: Option<String>,
    pub deployer_email: Option<String>,
    pub deployer_id: Option<String>,
    pub deploy_url: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub commits: Vec<IngestedCommit>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an ingestion post did.
#[derive(Debug, Clone)]
pub enum Ingested {
    /// A new deploy; `service_matched` is false when its alias matched no service (a
    /// suggestion was recorded).
    Created {
        deployment: IngestedDeployment,
        service_matched: bool,
    },
    /// An existing deploy was overwritten (`OnRepeat::Update`).
    Updated { deployment: IngestedDeployment },
    /// The key was seen before (`OnRepeat::KeepFirst`): nothing was written.
    Duplicate,
}

/// A deployment of any source.
#[derive(Debug, Clone)]
pub enum AnyDeployment {
    Api(Deployment),
    Ingested(IngestedDeployment),
}

/// Filters of the all-sources listing; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct AllDeploymentsFilter {
    pub repo_id: Option<RepoId>,
    /// API deploys of the service's repositories, ingested deploys of the service.
    pub service_id: Option<ServiceId>,
    /// Exact for API deploys; case-insensitive for ingested ones (`Production` = `production`).
    pub environment: Option<String>,
    pub source: Option<DeploymentSource>,
    /// At or after (API: creation; ingested: when the deploy finished).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct NewIssue {
    pub integration_id: IntegrationId,
    pub issue_key: String,
    pub title: String,
    pub status: IssueStatus,
    pub original_status: String,
    pub issue_type: Option<String>,
    pub incident: bool,
    pub url: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub severity: Option<String>,
    /// Matched to a service alias.
    pub component: Option<String>,
    pub created_date: Timestamp,
    pub updated_date: Option<Timestamp>,
    pub resolution_date: Option<Timestamp>,
    pub lead_time_minutes: Option<i64>,
    /// The other fields as a JSON object text.
    pub fields: String,
}

#[derive(Debug, Clone)]
pub struct Issue {
    pub id: IssueId,
    /// `None` for an incident of ferry's own API.
    pub integration_id: Option<IntegrationId>,
    pub issue_key: String,
    pub title: String,
    pub status: IssueStatus,
    pub original_status: String,
    pub issue_type: Option<String>,
    pub incident: bool,
    pub service_id: Option<ServiceId>,
    pub service_name: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub severity: Option<String>,
    pub component: Option<String>,
    pub created_date: Timestamp,
    pub updated_date: Option<Timestamp>,
    pub resolution_date: Option<Timestamp>,
    pub lead_time_minutes: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The deployment the incident names explicitly (ferry's incident API).
    pub deployment: Option<DeploymentRef>,
}

#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub service_id: Option<ServiceId>,
    pub status: Option<IssueStatus>,
    /// Created (in the tracker) at or after / before.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

// ---- DORA (issue 4) ---------------------------------------------------------------------------

/// What one DORA report reads (see [`crate::DoraStore::dora_facts`]).
#[derive(Debug, Clone)]
pub struct DoraQuery {
    /// Deployments finishing in `[from, until)`.
    pub from: Timestamp,
    pub until: Timestamp,
    /// Empty = every service (and deployments of no service).
    pub services: Vec<ServiceId>,
    /// Lower-cased environment name; `None` = every production-class environment.
    pub environment: Option<String>,
    /// Lower-cased names that make an ingested deploy production-class besides
    /// production/prod/prd (`dora.production_environments`).
    pub extra_production: Vec<String>,
    /// The tiles the caller grades (`ferry_domain::dora::tally::tiles`): with no service
    /// selected, the facts come back counted ([`DoraFacts::tally`]) instead of as every
    /// deployment and change of the range. `None`, or services selected: the lists.
    pub lead_tiles: Option<Vec<(i64, i64)>>,
}

/// The facts of one report, in the DORA engine's terms.
#[derive(Debug, Clone, Default)]
pub struct DoraFacts {
    pub deployments: Vec<ferry_domain::dora::DeploymentFact>,
    pub changes: Vec<ferry_domain::dora::ChangeFact>,
    /// With [`DoraQuery::lead_tiles`] and no service selected: the same facts counted (one
    /// lead-time tally per tile), and the three lists above left empty.
    pub tally: Option<ferry_domain::dora::Tallied>,
    pub incidents: Vec<ferry_domain::dora::IncidentFact>,
    pub any_deployment_ever: bool,
}

/// A successful deployment whose new commits are still to be read from a git mirror.
#[derive(Debug, Clone)]
pub struct PendingDora {
    pub dora_id: i64,
    pub heads: Vec<PendingHead>,
}

/// One repository of a [`PendingDora`]: walk `prev..sha` (or just `sha` without `prev`).
#[derive(Debug, Clone)]
pub struct PendingHead {
    pub repo_key: String,
    pub repo_id: RepoId,
    pub slug: RepoSlug,
    pub git_url: String,
    pub sha: String,
    /// The sha of the previous successful deployment of the repository and environment.
    pub prev: Option<String>,
}

/// A commit read from a mirror: its sha and author time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkedCommit {
    pub sha: String,
    pub authored_at: Option<Timestamp>,
}

/// `POST /api/v1/repos/{owner}/{repo}/pulls`.
#[derive(Debug, Clone)]
pub struct NewPullRequest {
    pub repo_id: RepoId,
    pub number: i64,
    pub title: String,
    pub created_at: Timestamp,
    pub merged_at: Option<Timestamp>,
    pub merge_commit_sha: Option<String>,
    /// The PR's commits (not the merge commit), with author times when known.
    pub commits: Vec<WalkedCommit>,
}

#[derive(Debug, Clone)]
pub struct PullRequest {
    pub repo_id: RepoId,
    pub number: i64,
    pub title: String,
    pub created_at: Timestamp,
    pub merged_at: Option<Timestamp>,
    pub merge_commit_sha: Option<String>,
    pub started_at: Timestamp,
    pub commits: Vec<String>,
}

/// Which deployment an incident names explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentRef {
    Api(DeploymentId),
    Ingested(IngestedDeploymentId),
}

/// `POST /api/v1/incidents`.
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub service_id: ServiceId,
    pub title: String,
    pub created_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub deployment: Option<DeploymentRef>,
    pub url: Option<String>,
    pub description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Outbound webhooks (subscriptions and their outbox) and inbound GitHub deliveries.

/// The events a subscription may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookEvent {
    Ping,
    Deployment,
    DeploymentStatus,
}

impl HookEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::Ping => "ping",
            HookEvent::Deployment => "deployment",
            HookEvent::DeploymentStatus => "deployment_status",
        }
    }
}

impl std::str::FromStr for HookEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ping" => Ok(HookEvent::Ping),
            "deployment" => Ok(HookEvent::Deployment),
            "deployment_status" => Ok(HookEvent::DeploymentStatus),
            other => Err(format!("unknown event {other:?}")),
        }
    }
}

/// A subscription. The secret signs deliveries and never leaves the server.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub events: Vec<HookEvent>,
    /// Empty = every repository.
    pub repos: Vec<RepoSlug>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub events: Vec<HookEvent>,
    pub repos: Vec<RepoId>,
    pub active: bool,
}

/// `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub events: Option<Vec<HookEvent>>,
    pub repos: Option<Vec<RepoId>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Sending,
    Delivered,
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryState::Pending),
            "sending" => Ok(DeliveryState::Sending),
            "delivered" => Ok(DeliveryState::Delivered),
            "dead" => Ok(DeliveryState::Dead),
            other => Err(format!("unknown delivery state {other:?}")),
        }
    }
}

/// One event for one subscription, as the delivery log shows it. Times in Unix milliseconds.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub guid: String,
    pub event: HookEvent,
    pub state: DeliveryState,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub created_at_ms: i64,
    pub delivered_at_ms: Option<i64>,
    pub next_attempt_at_ms: i64,
}

/// One attempt of a delivery.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub at_ms: i64,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// Where a delivery goes.
#[derive(Debug, Clone)]
pub enum DeliveryTarget {
    /// A subscription: a signed webhook POST.
    Hook { url: String, secret: String },
    /// GitHub mirror mode: the same event as REST calls on the repository's GitHub.
    Github {
        mirror: GithubMirror,
        repo: RepoSlug,
    },
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: i64,
    pub guid: String,
    pub event: HookEvent,
    pub target: DeliveryTarget,
    pub repo_id: Option<RepoId>,
    pub deployment_id: Option<DeploymentId>,
    pub status_id: Option<StatusId>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// Attempts since it was enqueued or last redelivered, this one included.
    pub round_attempts: i64,
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub delivery_id: i64,
    pub at_ms: i64,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// `None` = delivered; `Some(t)` = try again at `t` (ms); dead when `dead` is set.
    pub retry_at_ms: Option<i64>,
    pub dead: bool,
    /// Mirror mode: the id GitHub gave the deployment or status this delivery created.
    pub github_id: Option<i64>,
}

/// An inbound GitHub delivery as recorded.
#[derive(Debug, Clone)]
pub struct GithubDelivery {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub repository: Option<String>,
    pub outcome: String,
    pub detail: String,
    pub received_at_ms: i64,
}

/// How an auto-deploy was triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoTrigger {
    Merge,
    Push,
    Tag,
    /// A pull request opened or updated (Deploybot's `pr<N>` environments).
    PullRequest,
}

impl AutoTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoTrigger::Merge => "merge",
            AutoTrigger::Push => "push",
            AutoTrigger::Tag => "tag",
            AutoTrigger::PullRequest => "pull_request",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoDeployState {
    /// Waiting for its required contexts.
    Waiting,
    Created,
    Failed,
}

impl AutoDeployState {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoDeployState::Waiting => "waiting",
            AutoDeployState::Created => "created",
            AutoDeployState::Failed => "failed",
        }
    }
}

/// An auto-deploy decided from `.ferry.yml`.
#[derive(Debug, Clone)]
pub struct NewAutoDeploy {
    pub repo_id: RepoId,
    pub environment: EnvName,
    pub sha: Sha,
    pub git_ref: String,
    pub trigger: AutoTrigger,
    /// The CI gate the deployment is created with once it is green.
    pub required_contexts: RequiredContexts,
    pub production: bool,
}

#[derive(Debug, Clone)]
pub struct AutoDeploy {
    pub id: i64,
    pub repo_id: RepoId,
    pub environment: EnvName,
    pub sha: Sha,
    pub git_ref: String,
    pub trigger: AutoTrigger,
    pub required_contexts: RequiredContexts,
    pub production: bool,
    pub state: AutoDeployState,
    pub deployment_id: Option<DeploymentId>,
    pub detail: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}
