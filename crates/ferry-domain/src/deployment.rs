//! The GitHub Deployments model: states and the rules that tie deployments, their statuses
//! and commit statuses together. Each rule is a pure function the store and the server call,
//! so it is written (and tested) once.

use crate::DomainError;
use std::{fmt, str::FromStr};

/// State of a deployment status (GitHub's full REST enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusState {
    Error,
    Failure,
    Inactive,
    InProgress,
    Queued,
    Pending,
    Success,
}

impl StatusState {
    pub const ALL: [StatusState; 7] = [
        StatusState::Error,
        StatusState::Failure,
        StatusState::Inactive,
        StatusState::InProgress,
        StatusState::Queued,
        StatusState::Pending,
        StatusState::Success,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Error => "error",
            StatusState::Failure => "failure",
            StatusState::Inactive => "inactive",
            StatusState::InProgress => "in_progress",
            StatusState::Queued => "queued",
            StatusState::Pending => "pending",
            StatusState::Success => "success",
        }
    }
}

/// State of a commit status (the `required_contexts` source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitState {
    Error,
    Failure,
    Pending,
    Success,
}

impl CommitState {
    pub const ALL: [CommitState; 4] = [
        CommitState::Error,
        CommitState::Failure,
        CommitState::Pending,
        CommitState::Success,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CommitState::Error => "error",
            CommitState::Failure => "failure",
            CommitState::Pending => "pending",
            CommitState::Success => "success",
        }
    }
}

/// Where a deployment came from. Only the GitHub-compatible API exists so far; ingestion
/// sources are added by their own issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeploymentSource {
    /// Created through `/api/v3` (or the CLI, which uses it).
    Api,
    /// Ingested through the OpsLevel-compatible endpoint.
    OpsLevel,
    /// Ingested through the DevLake-compatible endpoints.
    DevLake,
}

impl DeploymentSource {
    pub const ALL: [DeploymentSource; 3] = [
        DeploymentSource::Api,
        DeploymentSource::OpsLevel,
        DeploymentSource::DevLake,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentSource::Api => "api",
            DeploymentSource::OpsLevel => "opslevel",
            DeploymentSource::DevLake => "devlake",
        }
    }
}

macro_rules! str_enum_impls {
    ($($t:ty => $field:literal),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = DomainError;

            fn from_str(s: &str) -> Result<Self, DomainError> {
                <$t>::ALL
                    .into_iter()
                    .find(|x| x.as_str() == s)
                    .ok_or_else(|| DomainError::invalid($field, format!("unknown value {s:?}")))
            }
        }
    )*};
}

str_enum_impls!(StatusState => "state", CommitState => "state", DeploymentSource => "source");

/// `log_url` and `target_url` mirror each other: `log_url` wins when both are given
/// (compat/github.md §3.4). Returns `(target_url, log_url)`.
pub fn status_urls(target_url: Option<String>, log_url: Option<String>) -> (String, String) {
    match (target_url, log_url) {
        (_, Some(log)) if !log.is_empty() => (log.clone(), log),
        (Some(target), _) => (target.clone(), target),
        _ => (String::new(), String::new()),
    }
}

/// A status without an environment inherits the previous status's, else the deployment's
/// (compat/github.md §3.3).
pub fn inherit_environment<'a>(
    given: Option<&'a str>,
    previous_status: Option<&'a str>,
    deployment: &'a str,
) -> &'a str {
    given.or(previous_status).unwrap_or(deployment)
}

/// What ferry knows of another deployment when a `success` status arrives.
#[derive(Debug, Clone)]
pub struct InactivationCandidate<'a> {
    pub environment: &'a str,
    pub transient: bool,
    pub production: bool,
    pub latest_state: Option<StatusState>,
}

/// Should a prior deployment receive an `inactive` status when a `success` status for
/// `environment` is created with `auto_inactive` on? (compat/github.md §3.5: same
/// environment, non-transient, non-production, currently `success`.) The caller has already
/// limited candidates to the same repository and to deployments created before.
pub fn should_auto_inactivate(environment: &str, candidate: &InactivationCandidate<'_>) -> bool {
    candidate.environment == environment
        && !candidate.transient
        && !candidate.production
        && candidate.latest_state == Some(StatusState::Success)
}

/// May a deployment be deleted? The only deployment of a repository always may; otherwise only
/// an inactive one, i.e. one whose latest status is not `success` (decision D10: scope is the
/// repository, as GitHub's docs say).
pub fn may_delete(deployments_in_repo: u64, latest_state: Option<StatusState>) -> bool {
    deployments_in_repo <= 1 || latest_state != Some(StatusState::Success)
}

/// Message GitHub answers when an active deployment cannot be deleted.
pub const DELETE_ACTIVE_MESSAGE: &str =
    "We cannot delete an active deployment unless it is the only deployment in a given environment.";

/// Combined state of a commit: `failure` if any latest status is error/failure, `pending` if
/// there are none or one is pending, else `success` (compat/github.md §2.5).
pub fn combined_state(latest: &[CommitState]) -> CommitState {
    if latest
        .iter()
        .any(|s| matches!(s, CommitState::Error | CommitState::Failure))
    {
        CommitState::Failure
    } else if latest.is_empty() || latest.contains(&CommitState::Pending) {
        CommitState::Pending
    } else {
        CommitState::Success
    }
}

/// Which contexts a deployment requires to be green (compat/github.md §3.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequiredContexts {
    /// Field omitted: every context that reported on the commit.
    AllReported,
    /// `[]`: no check at all.
    Skip,
    /// An explicit list; a context that never reported counts as `pending` (decision D6).
    Listed(Vec<String>),
}

/// Checks `required` against the latest state of each context on the commit (`latest`, with
/// context names as reported). On failure returns every checked context with its state, in
/// the order checked, for GitHub's 409 body.
pub fn check_required_contexts(
    required: &RequiredContexts,
    latest: &[(String, CommitState)],
) -> Result<(), Vec<(String, CommitState)>> {
    let checked: Vec<(String, CommitState)> = match required {
        RequiredContexts::Skip => return Ok(()),
        RequiredContexts::AllReported => latest.to_vec(),
        RequiredContexts::Listed(names) => names
            .iter()
            .map(|name| {
                let state = latest
                    .iter()
                    .find(|(c, _)| c.to_lowercase() == name.to_lowercase())
                    .map_or(CommitState::Pending, |(_, s)| *s);
                (name.clone(), state)
            })
            .collect(),
    };
    if checked.iter().all(|(_, s)| *s == CommitState::Success) {
        Ok(())
    } else {
        Err(checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in StatusState::ALL {
            assert_eq!(s.as_str().parse::<StatusState>(), Ok(s));
        }
        for s in CommitState::ALL {
            assert_eq!(s.as_str().parse::<CommitState>(), Ok(s));
        }
        assert!("done".parse::<StatusState>().is_err());
        assert!("in_progress".parse::<CommitState>().is_err());
    }

    #[test]
    fn urls_mirror() {
        let s = |x: &str| Some(x.to_owned());
        assert_eq!(status_urls(s("t"), s("l")), ("l".into(), "l".into()));
        assert_eq!(status_urls(s("t"), None), ("t".into(), "t".into()));
        assert_eq!(status_urls(None, s("l")), ("l".into(), "l".into()));
        assert_eq!(status_urls(None, None), (String::new(), String::new()));
    }

    #[test]
    fn environment_inheritance() {
        assert_eq!(inherit_environment(Some("qa"), Some("stg"), "prod"), "qa");
        assert_eq!(inherit_environment(None, Some("stg"), "prod"), "stg");
        assert_eq!(inherit_environment(None, None, "prod"), "prod");
    }

    #[test]
    fn auto_inactivation() {
        let c = |env, transient, production, latest| InactivationCandidate {
            environment: env,
            transient,
            production,
            latest_state: latest,
        };
        let ok = Some(StatusState::Success);
        assert!(should_auto_inactivate("qa", &c("qa", false, false, ok)));
        assert!(!should_auto_inactivate("qa", &c("stg", false, false, ok)));
        assert!(!should_auto_inactivate("qa", &c("qa", true, false, ok)));
        assert!(!should_auto_inactivate("qa", &c("qa", false, true, ok)));
        assert!(!should_auto_inactivate(
            "qa",
            &c("qa", false, false, Some(StatusState::Failure))
        ));
        assert!(!should_auto_inactivate("qa", &c("qa", false, false, None)));
    }

    #[test]
    fn delete_rule() {
        assert!(may_delete(1, Some(StatusState::Success)));
        assert!(!may_delete(2, Some(StatusState::Success)));
        assert!(may_delete(2, Some(StatusState::Inactive)));
        assert!(may_delete(2, None));
    }

    #[test]
    fn combined() {
        use CommitState::*;
        assert_eq!(combined_state(&[]), Pending);
        assert_eq!(combined_state(&[Success, Pending]), Pending);
        assert_eq!(combined_state(&[Success, Error, Pending]), Failure);
        assert_eq!(combined_state(&[Success, Success]), Success);
    }

    #[test]
    fn required_contexts() {
        use CommitState::*;
        let latest = vec![
            ("ci/build".to_owned(), Failure),
            ("lint".to_owned(), Success),
        ];
        assert_eq!(
            check_required_contexts(&RequiredContexts::AllReported, &latest),
            Err(latest.clone())
        );
        assert_eq!(
            check_required_contexts(&RequiredContexts::Skip, &latest),
            Ok(())
        );
        assert_eq!(
            check_required_contexts(&RequiredContexts::Listed(vec!["LINT".into()]), &latest),
            Ok(())
        );
        assert_eq!(
            check_required_contexts(&RequiredContexts::Listed(vec!["deploy".into()]), &latest),
            Err(vec![("deploy".to_owned(), Pending)])
        );
        assert_eq!(
            check_required_contexts(&RequiredContexts::AllReported, &[]),
            Ok(())
        );
    }
}
