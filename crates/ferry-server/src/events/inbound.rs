//! What a verified GitHub delivery does (compat/github.md §5, spec/policies.md "Continuous
//! delivery"):
//! - `pull_request` closed and merged → auto-deploy the merge commit per `.ferry.yml` at that
//!   commit (`auto_deploy.merge`); opened/synchronized under the Deploybot preset → `pr<N>`;
//! - `push` of a branch or tag → `auto_deploy.push` / `.tag` / Gitploy's `auto_deploy_on`;
//! - `status`, `check_run` → recorded as the commit's contexts (decision D14: a check run is
//!   a context named after it), then the commit's waiting auto-deploys are re-checked;
//!   `check_suite` → re-check only;
//! - `deployment_status` of a repository in GitHub mirror mode → the status is taken into the
//!   ferry deployment GitHub's deployment mirrors (not the ones ferry created there itself);
//! - `ping` → pong; everything else → ignored.
//!
//! An auto-deploy is a row keyed by (repository, environment, sha) — so redeliveries, or a
//! merge and the push of the same commit, never deploy twice — that waits until its CI gate is
//! green and is turned into a deployment in the same transaction that marks it created.

use super::payloads::{ferry_actor, FERRY_BOT_ID};
use crate::state::AppState;
use ferry_domain::autodeploy::{self, CiGate, DeployConfig, Trigger};
use ferry_domain::deployment::RequiredContexts;
use ferry_domain::{CommitState, DeploymentSource, EnvName, Sha, StatusState, Timestamp};
use ferry_store::model::{
    Actor, AutoDeploy, AutoDeployState, AutoTrigger, GithubDelivery, NewAutoDeploy,
    NewCommitStatus, NewDeployment, NewPullRequest, NewStatus, Repo, WalkedCommit,
};
use ferry_store::StoreError;
use serde_json::Value;

/// How a delivery ended, as the deliveries log shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Processed,
    Waiting,
    Ignored,
    Failed,
    /// A field ferry reads is missing or malformed: answered `400`.
    Invalid,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Waiting => "waiting",
            Outcome::Ignored => "ignored",
            Outcome::Failed => "failed",
            Outcome::Invalid => "invalid",
        }
    }
}

/// A delivery's result: outcome and a sentence for people.
pub type Handled = (Outcome, String);

/// A store failure: the caller forgets the delivery and answers 503, so GitHub's
/// redelivery is processed.
pub type InboundResult<T> = Result<T, StoreError>;

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Handles one verified delivery of `event` for `repo` (`None`: the repository is not known
/// to ferry).
pub async fn handle(
    state: &AppState,
    event: &str,
    repo: Option<&Repo>,
    body: &Value,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    if event == "ping" {
        let zen = str_at(body, &["zen"]).unwrap_or("pong");
        return Ok((Outcome::Processed, zen.to_owned()));
    }
    let Some(repo) = repo else {
        return Ok((
            Outcome::Ignored,
            "the repository is not registered in ferry".into(),
        ));
    };
    match event {
        "pull_request" => pull_request(state, repo, body, claim).await,
        "push" => push(state, repo, body, claim).await,
        "status" => status(state, repo, body, claim).await,
        "check_run" => check_run(state, repo, body, claim).await,
        "check_suite" => match str_at(body, &["check_suite", "head_sha"]) {
            Some(sha) => recheck(state, repo, sha, claim).await,
            None => Ok(missing("check_suite.head_sha")),
        },
        "deployment_status" => deployment_status(state, repo, body, claim).await,
        other => Ok((
            Outcome::Ignored,
            format!("event {other} is not used by ferry"),
        )),
    }
}

/// The idempotency claim of one delivery (its `X-GitHub-Delivery`), taken lazily: right
/// before the first write a delivery makes. A delivery that writes nothing (most are ignored)
/// is then recorded once, with its outcome, by [`Claim::settle`] — one write instead of two.
pub struct Claim {
    record: GithubDelivery,
    taken: bool,
    /// The guid was recorded before: nothing may be done again.
    pub duplicate: bool,
}

impl Claim {
    pub fn new(record: GithubDelivery) -> Claim {
        Claim {
            record,
            taken: false,
            duplicate: false,
        }
    }

    /// Records the delivery as received, once; `false` when it was recorded before.
    pub async fn take(&mut self, state: &AppState) -> InboundResult<bool> {
        if !self.taken && !self.duplicate {
            let fresh = state
                .store
                .record_github_delivery(self.record.clone())
                .await?;
            self.taken = fresh;
            self.duplicate = !fresh;
        }
        Ok(self.taken)
    }

    /// Records the outcome: an update of the claim taken, else the one insert (which finds a
    /// duplicate as well). Returns `false` for a duplicate.
    pub async fn settle(&mut self, state: &AppState, handled: &Handled) -> InboundResult<bool> {
        if self.duplicate {
            return Ok(false);
        }
        if self.taken {
            state
                .store
                .finish_github_delivery(&self.record.guid, handled.0.as_str(), &handled.1)
                .await?;
            return Ok(true);
        }
        let mut record = self.record.clone();
        record.outcome = handled.0.as_str().to_owned();
        record.detail = handled.1.clone();
        let fresh = state.store.record_github_delivery(record).await?;
        self.duplicate = !fresh;
        Ok(fresh)
    }

    /// Whether a claim was taken (a failure must then forget it).
    pub fn taken(&self) -> bool {
        self.taken
    }
}

fn duplicate() -> Handled {
    (Outcome::Ignored, "this delivery was received before".into())
}

fn missing(field: &str) -> Handled {
    (Outcome::Invalid, format!("the payload has no {field}"))
}

async fn pull_request(
    state: &AppState,
    repo: &Repo,
    body: &Value,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    let action = str_at(body, &["action"]).unwrap_or_default();
    let number = body.get("number").and_then(Value::as_i64).unwrap_or(0);
    let pr = body.get("pull_request").unwrap_or(&Value::Null);
    match action {
        "closed" => {
            if pr.get("merged").and_then(Value::as_bool) != Some(true) {
                return Ok((Outcome::Ignored, "closed without merging".into()));
            }
            let (Some(sha), Some(base)) = (
                str_at(pr, &["merge_commit_sha"]),
                str_at(pr, &["base", "ref"]),
            ) else {
                return Ok(missing("pull_request.merge_commit_sha or base.ref"));
            };
            let recorded = record_pull(state, repo, number, pr, claim).await?;
            let trigger = Trigger::Merge {
                base: base.to_owned(),
                number,
            };
            let (outcome, detail) =
                deploy(state, repo, (sha, base), AutoTrigger::Merge, trigger, claim).await?;
            Ok(match (recorded, outcome) {
                // The PR itself was news for DORA even when no rule deploys it.
                (true, Outcome::Ignored) => (
                    Outcome::Processed,
                    format!("pull request #{number} recorded for DORA; {detail}"),
                ),
                (true, o) => (
                    o,
                    format!("pull request #{number} recorded for DORA; {detail}"),
                ),
                (false, o) => (o, detail),
            })
        }
        "opened" | "synchronize" | "reopened" => {
            let (Some(sha), Some(head)) =
                (str_at(pr, &["head", "sha"]), str_at(pr, &["head", "ref"]))
            else {
                return Ok(missing("pull_request.head.sha or head.ref"));
            };
            let trigger = Trigger::PullRequest { number };
            deploy(
                state,
                repo,
                (sha, head),
                AutoTrigger::PullRequest,
                trigger,
                claim,
            )
            .await
        }
        other => Ok((
            Outcome::Ignored,
            format!("pull_request {other} is not used"),
        )),
    }
}

/// Feeds DORA's pull requests (spec/dora.md §2) from a merged PR: its number, title, times,
/// merge commit, and its commits — `git log base..head` from the mirror, with author times
/// (just the head when the mirror lacks the base). `false` when there is nothing to record
/// (no `created_at`) or the delivery is a duplicate.
async fn record_pull(
    state: &AppState,
    repo: &Repo,
    number: i64,
    pr: &Value,
    claim: &mut Claim,
) -> InboundResult<bool> {
    let time = |k: &str| str_at(pr, &[k]).and_then(|t| Timestamp::parse_rfc3339(t).ok());
    let Some(created_at) = time("created_at") else {
        return Ok(false);
    };
    if number <= 0 {
        return Ok(false);
    }
    let head = str_at(pr, &["head", "sha"]).and_then(|s| Sha::parse(s).ok());
    let base = str_at(pr, &["base", "sha"]);
    let mut commits = Vec::new();
    if let (Some(head), Some(url)) = (&head, repo.git_url.as_deref()) {
        if let Ok(mirror) = state.mirrors.get(repo.id, &repo.slug.key(), url).await {
            if let Ok(walked) = mirror.walk(base, head.as_str(), 1_000).await {
                commits = walked
                    .into_iter()
                    .map(|(sha, at)| WalkedCommit {
                        sha: sha.as_str().to_owned(),
                        authored_at: Some(Timestamp::from_unix(at)),
                    })
                    .collect();
            }
        }
    }
    if commits.is_empty() {
        if let Some(head) = head {
            commits.push(WalkedCommit {
                sha: head.as_str().to_owned(),
                authored_at: None,
            });
        }
    }
    if !claim.take(state).await? {
        return Ok(false);
    }
    state
        .store
        .upsert_pull_request(NewPullRequest {
            repo_id: repo.id,
            number,
            title: str_at(pr, &["title"])
                .unwrap_or_default()
                .chars()
                .take(1000)
                .collect(),
            created_at,
            merged_at: time("merged_at"),
            merge_commit_sha: str_at(pr, &["merge_commit_sha"])
                .and_then(|s| Sha::parse(s).ok())
                .map(|s| s.as_str().to_owned()),
            commits,
        })
        .await?;
    Ok(true)
}

async fn push(
    state: &AppState,
    repo: &Repo,
    body: &Value,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    let (Some(full_ref), Some(after)) = (str_at(body, &["ref"]), str_at(body, &["after"])) else {
        return Ok(missing("ref or after"));
    };
    if body.get("deleted").and_then(Value::as_bool) == Some(true) {
        return Ok((Outcome::Ignored, format!("{full_ref} was deleted")));
    }
    if let Some(branch) = full_ref.strip_prefix("refs/heads/") {
        let trigger = Trigger::Push {
            branch: branch.to_owned(),
        };
        deploy(
            state,
            repo,
            (after, branch),
            AutoTrigger::Push,
            trigger,
            claim,
        )
        .await
    } else if let Some(tag) = full_ref.strip_prefix("refs/tags/") {
        let trigger = Trigger::Tag {
            tag: tag.to_owned(),
        };
        deploy(state, repo, (after, tag), AutoTrigger::Tag, trigger, claim).await
    } else {
        Ok((
            Outcome::Ignored,
            format!("{full_ref} is neither a branch nor a tag"),
        ))
    }
}

async fn deployment_status(
    state: &AppState,
    repo: &Repo,
    body: &Value,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    if repo.github_mirror.is_none() {
        return Ok((
            Outcome::Ignored,
            "the repository is not in GitHub mirror mode: GitHub's deployments are not ferry's"
                .into(),
        ));
    }
    let (Some(github_dep), Some(ds)) = (
        body.pointer("/deployment/id").and_then(Value::as_i64),
        body.get("deployment_status"),
    ) else {
        return Ok(missing("deployment.id or deployment_status"));
    };
    let (Some(github_status), Some(st)) = (
        ds.get("id").and_then(Value::as_i64),
        ds.get("state").and_then(Value::as_str),
    ) else {
        return Ok(missing("deployment_status.id or state"));
    };
    let Some(deployment) = state.store.mirrored_deployment(repo.id, github_dep).await? else {
        return Ok((
            Outcome::Ignored,
            format!("GitHub deployment {github_dep} does not mirror a ferry deployment"),
        ));
    };
    // Inbound GitHub states (spec/policies.md §3): the REST enum is ferry's own.
    let Ok(status_state) = st.parse::<StatusState>() else {
        tracing::warn!(
            state = st,
            "github deployment_status with an unknown state: not taken in"
        );
        return Ok((
            Outcome::Failed,
            format!("unknown deployment status state {st:?}"),
        ));
    };
    let text = |k: &str| {
        ds.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let environment = ds
        .get("environment")
        .and_then(Value::as_str)
        .and_then(|e| EnvName::parse(e).ok());
    let creator = match ds.get("creator") {
        Some(c) => Actor {
            id: c.get("id").and_then(Value::as_i64).unwrap_or(FERRY_BOT_ID),
            login: str_at(c, &["login"]).unwrap_or("github").to_owned(),
            bot: str_at(c, &["type"]) == Some("Bot"),
        },
        None => ferry_actor(),
    };
    let new = NewStatus {
        deployment_id: deployment,
        state: status_state,
        description: text("description").chars().take(140).collect(),
        environment,
        target_url: text("target_url"),
        log_url: text("log_url"),
        environment_url: text("environment_url"),
        // GitHub inactivated on its side; ferry mirrors that with its own rule.
        auto_inactive: true,
        creator,
    };
    if !claim.take(state).await? {
        return Ok(duplicate());
    }
    match state
        .store
        .create_status_from_github(repo.id, github_status, new)
        .await
    {
        Ok(Some(created)) => Ok((
            Outcome::Processed,
            format!(
                "status {} of deployment {}",
                created.status.id.get(),
                deployment.get()
            ),
        )),
        Ok(None) => Ok((
            Outcome::Ignored,
            "a status ferry created on GitHub, or one taken in before".into(),
        )),
        Err(StoreError::NotFound) => Ok((Outcome::Ignored, "the deployment was deleted".into())),
        Err(e) => Err(e),
    }
}

async fn status(
    state: &AppState,
    repo: &Repo,
    body: &Value,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    let (Some(sha), Some(context), Some(st)) = (
        str_at(body, &["sha"]),
        str_at(body, &["context"]),
        str_at(body, &["state"]),
    ) else {
        return Ok(missing("sha, context or state"));
    };
    let Ok(state_) = st.parse::<CommitState>() else {
        return Ok((Outcome::Failed, format!("unknown status state {st:?}")));
    };
    record_context(claim, state, repo, sha, context, state_, body, "target_url").await?;
    recheck(state, repo, sha, claim).await
}

/// Decision D14: a completed check run counts with its conclusion, anything else as pending.
fn check_state(status: Option<&str>, conclusion: Option<&str>) -> CommitState {
    if status != Some("completed") {
        return CommitState::Pending;
    }
    match conclusion {
        Some("success" | "neutral" | "skipped") => CommitState::Success,
        Some("failure" | "timed_out" | "action_required" | "startup_failure" | "stale") => {
            CommitState::Failure
        }
        Some("cancelled") => CommitState::Error,
        _ => CommitState::Pending,
    }
}

async fn check_run(
    state: &AppState,
    repo: &Repo,
    body: &Value,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    let run = body.get("check_run").unwrap_or(&Value::Null);
    let (Some(sha), Some(name)) = (str_at(run, &["head_sha"]), str_at(run, &["name"])) else {
        return Ok(missing("check_run.head_sha or name"));
    };
    let st = check_state(str_at(run, &["status"]), str_at(run, &["conclusion"]));
    record_context(claim, state, repo, sha, name, st, run, "html_url").await?;
    recheck(state, repo, sha, claim).await
}

#[allow(clippy::too_many_arguments)]
async fn record_context(
    claim: &mut Claim,
    state: &AppState,
    repo: &Repo,
    sha: &str,
    context: &str,
    st: CommitState,
    body: &Value,
    url_field: &str,
) -> InboundResult<()> {
    let Ok(sha) = Sha::parse(sha) else {
        return Ok(());
    };
    if !claim.take(state).await? {
        return Ok(());
    }
    let new = NewCommitStatus {
        repo_id: repo.id,
        sha,
        context: context.to_owned(),
        state: st,
        target_url: str_at(body, &[url_field]).map(str::to_owned),
        description: str_at(body, &["description"]).map(|d| d.chars().take(140).collect()),
        creator: ferry_actor(),
    };
    match state.store.create_commit_status(new).await {
        Ok(_) | Err(StoreError::LimitReached(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Re-checks the commit's waiting auto-deploys after a CI result.
async fn recheck(
    state: &AppState,
    repo: &Repo,
    sha: &str,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    let Ok(sha) = Sha::parse(sha) else {
        return Ok((Outcome::Ignored, format!("{sha:?} is not a commit sha")));
    };
    if claim.duplicate {
        return Ok(duplicate());
    }
    let waiting = state.store.waiting_auto_deploys(repo.id, &sha).await?;
    if !waiting.is_empty() && !claim.take(state).await? {
        return Ok(duplicate());
    }
    if waiting.is_empty() {
        return Ok((
            Outcome::Processed,
            "recorded; no auto-deploy waits for it".into(),
        ));
    }
    let mut results = Vec::new();
    for auto in waiting {
        results.push(advance(state, auto).await?);
    }
    Ok(summarize(&results))
}

fn summarize(results: &[AutoDeploy]) -> Handled {
    let detail = results
        .iter()
        .map(|a| format!("{}: {}", a.environment, a.detail))
        .collect::<Vec<_>>()
        .join("; ");
    let outcome = if results.iter().any(|a| a.state == AutoDeployState::Created) {
        Outcome::Processed
    } else if results.iter().any(|a| a.state == AutoDeployState::Waiting) {
        Outcome::Waiting
    } else {
        Outcome::Failed
    };
    (outcome, detail)
}

/// The deployment an auto-deploy creates once its gate is green.
fn new_deployment(auto: &AutoDeploy) -> NewDeployment {
    NewDeployment {
        repo_id: auto.repo_id,
        source: DeploymentSource::Api,
        sha: auto.sha.clone(),
        git_ref: auto.git_ref.clone(),
        task: "deploy".into(),
        payload: "{}".into(),
        environment: auto.environment.clone(),
        description: Some(format!("auto-deploy on {}", auto.trigger.as_str())),
        transient_environment: false,
        production_environment: auto.production,
        creator: ferry_actor(),
        required_contexts: auto.required_contexts.clone(),
    }
}

async fn advance(state: &AppState, auto: AutoDeploy) -> InboundResult<AutoDeploy> {
    let new = new_deployment(&auto);
    state.store.advance_auto_deploy(auto.id, new).await
}

/// `.ferry.yml` (else Gitploy's `deploy.yml`) at `sha`; `Ok(None)` when neither exists.
async fn read_config(
    state: &AppState,
    repo: &Repo,
    sha: &Sha,
) -> Result<Option<DeployConfig>, String> {
    let Some(url) = repo.git_url.as_deref() else {
        return Err("the repository has no git_url: ferry cannot read its .ferry.yml".into());
    };
    let mirror = state
        .mirrors
        .get(repo.id, &repo.slug.key(), url)
        .await
        .map_err(|e| format!("git mirror unavailable: {e}"))?;
    for name in [".ferry.yml", "deploy.yml"] {
        let text = mirror
            .read_file(sha, name)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(text) = text {
            return serde_yaml::from_str::<DeployConfig>(&text)
                .map(Some)
                .map_err(|e| format!("config_invalid: {name}: {e}"));
        }
    }
    Ok(None)
}

async fn deploy(
    state: &AppState,
    repo: &Repo,
    (sha, git_ref): (&str, &str),
    kind: AutoTrigger,
    trigger: Trigger,
    claim: &mut Claim,
) -> InboundResult<Handled> {
    let Ok(sha) = Sha::parse(sha) else {
        return Ok((Outcome::Failed, format!("{sha:?} is not a commit sha")));
    };
    let config = match read_config(state, repo, &sha).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Ok((
                Outcome::Ignored,
                format!("no .ferry.yml at {}", sha.as_str()),
            ))
        }
        Err(e) => return Ok((Outcome::Failed, e)),
    };
    let targets = match autodeploy::targets(&config, &trigger) {
        Ok(t) => t,
        Err(e) => return Ok((Outcome::Failed, e.to_string())),
    };
    if targets.is_empty() {
        return Ok((Outcome::Ignored, "no auto-deploy rule matches".into()));
    }
    if !claim.take(state).await? {
        return Ok(duplicate());
    }
    let mut results = Vec::new();
    for t in targets {
        let Ok(environment) = EnvName::parse(&t.environment) else {
            return Ok((
                Outcome::Failed,
                format!(
                    "config_invalid: {:?} is not an environment name",
                    t.environment
                ),
            ));
        };
        let auto = state
            .store
            .add_auto_deploy(NewAutoDeploy {
                repo_id: repo.id,
                environment,
                sha: sha.clone(),
                git_ref: git_ref.to_owned(),
                trigger: kind,
                required_contexts: match t.gate {
                    CiGate::None => RequiredContexts::Skip,
                    CiGate::AllReported => RequiredContexts::AllReported,
                    CiGate::Listed(list) => RequiredContexts::Listed(list),
                },
                production: t.production,
            })
            .await?;
        results.push(advance(state, auto).await?);
    }
    Ok(summarize(&results))
}
