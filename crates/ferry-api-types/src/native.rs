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
    /// The GitHub-compatible URL of the deployment.
    pub url: String,
}

/// `GET /api/v1/healthz`-style readiness answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}
