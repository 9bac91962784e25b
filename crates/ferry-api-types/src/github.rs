//! GitHub-compatible objects, field for field as GitHub's OpenAPI description requires them
//! (API version 2022-11-28). Absolute URLs are filled in by the server from its external URL.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// JSON text that is written out as is (a deployment's payload, echoed verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(pub String);

impl Serialize for RawJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// `simple-user`: every one of its 18 required fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimpleUser {
    pub login: String,
    pub id: i64,
    pub node_id: String,
    pub avatar_url: String,
    pub gravatar_id: String,
    pub url: String,
    pub html_url: String,
    pub followers_url: String,
    pub following_url: String,
    pub gists_url: String,
    pub starred_url: String,
    pub subscriptions_url: String,
    pub organizations_url: String,
    pub repos_url: String,
    pub events_url: String,
    pub received_events_url: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub site_admin: bool,
}

/// `deployment`.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub url: String,
    pub id: i64,
    pub node_id: String,
    pub sha: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub task: String,
    /// Echoed verbatim: an object stays an object, a string a string.
    pub payload: RawJson,
    pub original_environment: String,
    pub environment: String,
    pub description: Option<String>,
    pub creator: SimpleUser,
    pub created_at: String,
    pub updated_at: String,
    pub statuses_url: String,
    pub repository_url: String,
    pub transient_environment: bool,
    pub production_environment: bool,
    pub performed_via_github_app: Option<()>,
}

/// `deployment-status`.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentStatus {
    pub url: String,
    pub id: i64,
    pub node_id: String,
    pub state: String,
    pub creator: SimpleUser,
    pub description: String,
    pub environment: String,
    pub target_url: String,
    pub created_at: String,
    pub updated_at: String,
    pub deployment_url: String,
    pub repository_url: String,
    pub environment_url: String,
    pub log_url: String,
    pub performed_via_github_app: Option<()>,
}

/// `environment`.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub id: i64,
    pub node_id: String,
    pub name: String,
    pub url: String,
    pub html_url: String,
    pub created_at: String,
    pub updated_at: String,
    pub protection_rules: Vec<serde_json::Value>,
    pub deployment_branch_policy: Option<serde_json::Value>,
}

/// The body of `GET R/environments`.
#[derive(Debug, Clone, Serialize)]
pub struct EnvironmentList {
    pub total_count: u64,
    pub environments: Vec<Environment>,
}

/// `status` (a commit status).
#[derive(Debug, Clone, Serialize)]
pub struct CommitStatus {
    pub url: String,
    pub avatar_url: Option<String>,
    pub id: i64,
    pub node_id: String,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub context: String,
    pub created_at: String,
    pub updated_at: String,
    pub creator: SimpleUser,
}

/// `simple-commit-status`, as listed inside the combined status.
#[derive(Debug, Clone, Serialize)]
pub struct SimpleCommitStatus {
    pub description: Option<String>,
    pub id: i64,
    pub node_id: String,
    pub state: String,
    pub context: String,
    pub target_url: Option<String>,
    pub avatar_url: Option<String>,
    pub url: String,
    pub created_at: String,
    pub updated_at: String,
}

/// `combined-commit-status`. `repository` is a `minimal-repository`, built by the server.
#[derive(Debug, Clone, Serialize)]
pub struct CombinedStatus {
    pub state: String,
    pub statuses: Vec<SimpleCommitStatus>,
    pub sha: String,
    pub total_count: u64,
    pub repository: serde_json::Value,
    pub commit_url: String,
    pub url: String,
}

/// One entry of a validation error's `errors`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FieldError {
    pub resource: String,
    pub field: String,
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A context with its state, in the 409 of failing required contexts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContextState {
    pub context: String,
    pub state: String,
}

/// The `errors` entry of a 409 for failing required contexts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContextsError {
    pub contexts: Vec<ContextState>,
    pub resource: String,
    pub field: String,
    pub code: String,
}

/// GitHub's error body: `message`, `documentation_url`, `status`, and sometimes `errors`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<serde_json::Value>,
    pub documentation_url: String,
    pub status: String,
}
