//! ferry's own `/api/v1` wire types. Errors are `{"error": {"code", "message"}}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The error body of every `/api/v1` failure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable snake_case code, e.g. `not_found`, `invalid_field`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateToken {
    pub name: String,
    /// Any of `admin`, `write`, `read`, `ingest`.
    pub scopes: Vec<String>,
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
}

/// The answer to a token creation: the secret appears here once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedToken {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub token: String,
}

/// `POST /api/v1/repos`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateRepo {
    /// `owner/name`.
    pub full_name: String,
    /// A local path or URL of a git repository to mirror; omit for ingest-only repositories.
    #[serde(default)]
    pub git_url: Option<String>,
    /// Defaults to `main`.
    #[serde(default)]
    pub default_branch: Option<String>,
    /// GitHub settings (secrets are write-only).
    #[serde(default)]
    pub github: Option<GithubSettings>,
}

/// The `github` object of a repository, as written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct GithubSettings {
    /// Secret of inbound `POST /webhooks/github` deliveries for this repository; `""` clears it.
    #[serde(default)]
    pub webhook_secret: Option<String>,
    /// GitHub mirror mode: create each deployment and status on GitHub too (needs `token`).
    #[serde(default)]
    pub mirror: Option<bool>,
    /// REST API base of the GitHub holding the repository (default `https://api.github.com`;
    /// GitHub Enterprise: `https://HOST/api/v3`).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Token with `repo_deployment` scope for mirror mode; write-only.
    #[serde(default)]
    pub token: Option<String>,
    /// Mirror mode as a GitHub App instead of a token: the app's id, …
    #[serde(default)]
    pub app_id: Option<i64>,
    /// … the installation on the repository's account, …
    #[serde(default)]
    pub installation_id: Option<i64>,
    /// … and the app's private key (PEM); write-only.
    #[serde(default)]
    pub private_key: Option<String>,
}

/// `PATCH /api/v1/repos/{owner}/{repo}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PatchRepo {
    #[serde(default)]
    pub git_url: Option<String>,
    #[serde(default)]
    pub default_branch: Option<String>,
    #[serde(default)]
    pub github: Option<GithubSettings>,
}

/// The `github` object of a repository, as read: never the secrets themselves.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GithubInfo {
    pub webhook_secret_set: bool,
    pub mirror: bool,
    /// The GitHub API mirror mode writes to, when on.
    pub api_url: Option<String>,
    /// How mirror mode authenticates: `token` or `app`.
    pub auth: Option<String>,
    /// The GitHub App and installation, for `app`.
    pub app_id: Option<i64>,
    pub installation_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RepoInfo {
    pub id: i64,
    pub full_name: String,
    pub owner: String,
    pub name: String,
    pub git_url: Option<String>,
    pub default_branch: String,
    /// The GitHub-compatible API URL of the repository.
    pub api_url: String,
    pub github: GithubInfo,
    pub created_at: String,
    pub updated_at: String,
}

/// A deployment of any source, as `/api/v1/deployments` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeploymentInfo {
    pub id: i64,
    /// Where the deployment came from: `api`, later `opslevel`, `devlake`, …
    pub source: String,
    pub repository: String,
    pub environment: String,
    pub original_environment: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub sha: String,
    pub task: String,
    pub description: Option<String>,
    /// Latest status state, or `null` before the first status.
    pub state: Option<String>,
    pub creator: String,
    pub created_at: String,
    pub updated_at: String,
    /// The GitHub-compatible URL of the deployment; for an ingested deploy its `deploy_url`
    /// (or `""`).
    pub url: String,
    /// The service the deploy belongs to (ingested: matched by alias or repository; API: the
    /// first service linked to the repository), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Ingested deploys only: the integration that received it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<i64>,
    /// Ingested deploys only: the alias the sender named (OpsLevel `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_alias: Option<String>,
    /// Ingested deploys only: as sent, or generated per service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy_number: Option<String>,
    /// Ingested deploys only: `SUCCESS`, `FAILURE`, `ABORT` or `MANUAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Ingested deploys only: the sender's dedup id or DevLake identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Ingested deploys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployer: Option<DeployerInfo>,
    /// Ingested deploys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// Ingested deploys only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Ingested deploys only: every commit (DevLake `deploymentCommits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Vec<CommitInfo>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeployerInfo {
    pub name: Option<String>,
    pub email: Option<String>,
    pub id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommitInfo {
    pub repo_url: String,
    pub sha: String,
    /// The registered repository `repo_url` names, if any.
    pub repository: Option<String>,
    #[serde(rename = "ref")]
    pub git_ref: Option<String>,
    pub message: Option<String>,
}

/// `POST /api/v1/integrations`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateIntegration {
    /// `opslevel` or `devlake`.
    pub kind: String,
    pub name: String,
    /// DevLake only: `bearer` (default), `basic` or `none`.
    #[serde(default)]
    pub auth: Option<String>,
    /// OpsLevel only: `dedup_id` (default) or `dedup_id+deploy_number`.
    #[serde(default)]
    pub dedup_scope: Option<String>,
    /// OpsLevel only: refuse deploys without deployer e-mail or name (default false).
    #[serde(default)]
    pub strict_deployer: Option<bool>,
}

/// An integration as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IntegrationInfo {
    /// For DevLake, the connection id of its URLs.
    pub id: i64,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// DevLake: the connection's base URL. OpsLevel: absent (the URL holds the secret and is
    /// shown once, at creation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// OpsLevel only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_scope: Option<String>,
    /// OpsLevel only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_deployer: Option<bool>,
    pub created_at: String,
}

/// The answer to an integration creation: the URL (OpsLevel) or key (DevLake) appears here
/// once and never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedIntegration {
    pub id: i64,
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// OpsLevel: `…/integrations/deploy/<uuid>`; DevLake: `…/api/rest/plugins/webhook/<id>`.
    pub url: String,
    /// DevLake `bearer`/`basic`: the key (Bearer token, or Basic password). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// OpsLevel only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_scope: Option<String>,
    /// OpsLevel only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_deployer: Option<bool>,
    pub created_at: String,
}

/// `POST /api/v1/services`; `PATCH /api/v1/services/{name}` (absent fields are kept).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ServiceBody {
    #[serde(default)]
    pub name: Option<String>,
    /// Aliases matched (case-insensitively) against ingested `service` values. The name is
    /// always an alias too.
    #[serde(default)]
    pub aliases: Option<Vec<String>>,
    /// `owner/name` of registered repositories.
    #[serde(default)]
    pub repos: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceInfo {
    pub id: i64,
    pub name: String,
    pub aliases: Vec<String>,
    pub repos: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// An alias deploys arrived with that no service has.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuggestionInfo {
    pub id: i64,
    pub alias: String,
    pub integration_id: i64,
    pub deploy_count: i64,
    pub first_seen: String,
    pub last_seen: String,
}

/// `POST /api/v1/services/suggestions/{id}/accept`: `service` names an existing service to
/// extend; otherwise a service called `name` (default: the alias) is created.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct AcceptSuggestion {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// An incident: a DevLake issue of type `INCIDENT`, or one of ferry's incident API.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IncidentInfo {
    pub id: i64,
    /// The DevLake connection that sent it; `null` for an incident of ferry's API.
    pub integration_id: Option<i64>,
    pub key: String,
    pub title: String,
    /// `TODO`, `IN_PROGRESS` or `DONE`.
    pub status: String,
    pub original_status: String,
    pub service: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
    pub priority: Option<String>,
    pub severity: Option<String>,
    pub component: Option<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
    pub resolved_at: Option<String>,
    pub lead_time_minutes: Option<i64>,
    /// The deployment the incident names explicitly, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<i64>,
    /// `api` or `ingested`: which id space `deployment_id` is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_source: Option<String>,
}

/// `POST /api/v1/incidents`. Times are RFC 3339 (no zone = UTC); `created_at` defaults to now.
/// `deployment_id` names an API deployment, or an ingested one with
/// `"deployment_source": "ingested"`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreateIncident {
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub resolved_at: Option<String>,
    #[serde(default)]
    pub deployment_id: Option<i64>,
    #[serde(default)]
    pub deployment_source: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `PATCH /api/v1/incidents/{id}`: resolves the incident at `resolved_at` (default: now).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ResolveIncident {
    #[serde(default)]
    pub resolved_at: Option<String>,
    /// Optional; only `DONE` / `resolved` (any case) is accepted.
    #[serde(default)]
    pub status: Option<String>,
}

/// `POST /api/v1/repos/{owner}/{repo}/pulls`: a pull request, so DORA counts its lead time
/// from its first commit. Commit author times come from the git mirror when not given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct CreatePull {
    #[serde(default)]
    pub number: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub merged_at: Option<String>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub commits: Vec<PullCommit>,
}

/// A commit of a pull request: a sha, or `{"sha", "authored_at"}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum PullCommit {
    Sha(String),
    Full {
        sha: String,
        #[serde(default)]
        authored_at: Option<String>,
    },
}

/// A pull request as ferry knows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PullInfo {
    pub repository: String,
    pub number: i64,
    pub title: String,
    pub created_at: String,
    pub merged_at: Option<String>,
    pub merge_commit_sha: Option<String>,
    /// When its first commit was authored (its creation time when no commit time is known).
    pub started_at: String,
    pub commits: Vec<String>,
}

/// `GET /api/v1/healthz`-style readiness answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// The answer to `POST /api/v1/integrations/{id}/import` (one NDJSON batch).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ImportResult {
    /// Non-blank lines read.
    pub lines: u64,
    /// New deploys (or issues) recorded.
    pub created: u64,
    /// DevLake deploys (or issues) that existed and were overwritten.
    pub updated: u64,
    /// Deploys already recorded (same `dedup_id`, or the same line imported before).
    pub duplicates: u64,
    /// Lines refused; nothing of them was written.
    pub errors: Vec<ImportError>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportError {
    /// 1-based, within the request body.
    pub line: u64,
    pub message: String,
}

/// `POST /api/v1/webhooks`: a subscription to deployment events.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// `http://` or `https://` URL deliveries are POSTed to.
    pub url: String,
    /// Signs every delivery (`X-Hub-Signature-256`); write-only.
    pub secret: String,
    /// `deployment`, `deployment_status`; default both.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// `owner/name` of the repositories to hear about; absent or empty = all.
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// `PATCH /api/v1/webhooks/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PatchWebhook {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookInfo {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    /// Empty = every repository.
    pub repositories: Vec<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// One event for one subscription (`GET /api/v1/webhooks/{id}/deliveries`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryInfo {
    pub id: i64,
    /// `X-GitHub-Delivery`, the same on every attempt.
    pub guid: String,
    pub event: String,
    /// `pending`, `sending`, `delivered` or `dead`.
    pub state: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub created_at: String,
    pub delivered_at: Option<String>,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<String>,
    /// Every attempt, oldest first (only on `GET …/deliveries/{delivery_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<Vec<AttemptInfo>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AttemptInfo {
    pub at: String,
    pub status_code: Option<i64>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// An inbound GitHub delivery (`GET /api/v1/webhooks/github/deliveries`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GithubDeliveryInfo {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub repository: Option<String>,
    /// `processed`, `ignored`, `waiting`, `failed`, `invalid` (answered 400).
    pub outcome: String,
    pub detail: String,
    pub received_at: String,
}

/// An auto-deploy decided from `.ferry.yml` (`GET /api/v1/repos/{owner}/{repo}/auto-deploys`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AutoDeployInfo {
    pub id: i64,
    pub environment: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    /// `merge`, `push`, `tag` or `pull_request`.
    pub trigger: String,
    /// `waiting` (for CI), `created` or `failed`.
    pub state: String,
    /// The contexts it waits for; `null` = every reported one; `[]` = none.
    pub required_contexts: Option<Vec<String>>,
    pub deployment_id: Option<i64>,
    pub detail: String,
    pub created_at: String,
    pub updated_at: String,
}
