//! ferry's domain: the vocabulary every other crate speaks, with no I/O.
//!
//! Map:
//! - [`ids`]: integer identifier newtypes (`RepoId`, `DeploymentId`, …) so ids can't be swapped.
//! - [`values`]: parsed values (`Sha`, `RepoSlug`, `EnvName`, `Timestamp`); if one exists it is valid.
//! - [`deployment`]: deployment and commit status states and the rules of GitHub's
//!   Deployments model (auto-inactivation, delete rule, environment inheritance, combined state).
//! - [`token`]: API token scopes and what each one allows.
//! - [`ingest`]: deploy and incident ingestion: integration kinds, DevLake auth modes, deploy
//!   results, issue states, service aliases, the lenient time formats of real senders.
//! - [`page`]: GitHub-style pagination parameters.
//! - [`autodeploy`]: continuous delivery rules of `.ferry.yml` (merge, push, tag, presets).
//! - [`dora`]: the DORA metric engine: range, attribution, the four metrics, levels, series.
//! - [`error`]: [`DomainError`], returned when a value or a transition is refused.
//!
//! What does not live here: SQL (ferry-store), HTTP and wire formats (ferry-server,
//! ferry-api-types).

pub mod autodeploy;
pub mod deployment;
pub mod dora;
pub mod error;
pub mod ids;
pub mod ingest;
pub mod page;
pub mod token;
pub mod values;

pub use deployment::{CommitState, DeploymentSource, StatusState};
pub use error::DomainError;
pub use ids::{
    CommitStatusId, DeploymentId, EnvironmentId, IngestedDeploymentId, IntegrationId, IssueId,
    RepoId, ServiceId, StatusId, SuggestionId, TokenId,
};
pub use page::Page;
pub use token::Scope;
pub use values::{EnvName, RepoSlug, Sha, Timestamp};
