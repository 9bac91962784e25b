//! Identifier newtypes. Every row id is a positive `i64` (GitHub's ids are int64); wrapping
//! them keeps a `DeploymentId` from being passed where a `RepoId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A repository known to ferry.
    RepoId,
    /// A deployment, unique across all repositories (as on GitHub).
    DeploymentId,
    /// A deployment status.
    StatusId,
    /// An API token.
    TokenId,
    /// An environment resource of a repository.
    EnvironmentId,
    /// A commit status.
    CommitStatusId,
    /// An ingestion integration (OpsLevel endpoint or DevLake connection; the DevLake
    /// connection id is this id).
    IntegrationId,
    /// A service of the catalog.
    ServiceId,
    /// A suggestion for an alias no service has.
    SuggestionId,
    /// A deployment ingested from a pipeline (numbered apart from API deployments).
    IngestedDeploymentId,
    /// An issue or incident ingested from a tracker.
    IssueId,
);
