//! Private row types, exactly as the tables hold them, and their conversion into records.
//! Every string state or value is parsed here; a row that does not parse is `Corrupt`.

use crate::model::*;
use crate::StoreResult;
use ferry_domain::{
    CommitStatusId, DeploymentId, DeploymentSource, EnvName, EnvironmentId, RepoId, RepoSlug,
    Scope, Sha, StatusId, StatusState, Timestamp, TokenId,
};

fn actor(id: i64, login: String, bot: i64) -> Actor {
    Actor {
        id,
        login,
        bot: bot != 0,
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    created_at: i64,
}

impl TokenRow {
    pub(super) fn into_token(self) -> StoreResult<Token> {
        let scopes = self
            .scopes
            .split_whitespace()
            .map(str::parse::<Scope>)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Token {
            id: TokenId(self.id),
            name: self.name,
            scopes,
            created_at: Timestamp::from_unix(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct RepoRow {
    id: i64,
    owner: String,
    name: String,
    git_url: Option<String>,
    default_branch: String,
    github_webhook_secret: Option<String>,
    github_api_url: Option<String>,
    github_token: Option<String>,
    github_mirror: i64,
    github_app_id: Option<i64>,
    github_installation_id: Option<i64>,
    github_private_key: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl RepoRow {
    pub(super) fn into_repo(self) -> StoreResult<Repo> {
        Ok(Repo {
            id: RepoId(self.id),
            slug: RepoSlug::new(&self.owner, &self.name)?,
            git_url: self.git_url,
            default_branch: self.default_branch,
            github_webhook_secret: self.github_webhook_secret,
            github_mirror: match (self.github_mirror, self.github_api_url) {
                (1, Some(api_url)) => {
                    let auth = match (
                        self.github_token,
                        self.github_app_id,
                        self.github_installation_id,
                        self.github_private_key,
                    ) {
                        (Some(token), ..) => Some(GithubAuth::Token(token)),
                        (None, Some(app_id), Some(installation_id), Some(private_key)) => {
                            Some(GithubAuth::App {
                                app_id,
                                installation_id,
                                private_key,
                            })
                        }
                        _ => None,
                    };
                    auth.map(|auth| GithubMirror { api_url, auth })
                }
                _ => None,
            },
            created_at: Timestamp::from_unix(self.created_at),
            updated_at: Timestamp::from_unix(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct DeploymentRow {
    id: i64,
    repo_id: i64,
    source: String,
    sha: String,
    #[sqlx(rename = "ref")]
    git_ref: String,
    task: String,
    payload: String,
    environment: String,
    original_environment: String,
    description: Option<String>,
    transient_environment: i64,
    production_environment: i64,
    creator_id: i64,
    creator_login: String,
    creator_bot: i64,
    latest_state: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl DeploymentRow {
    pub(super) fn into_deployment(self) -> StoreResult<Deployment> {
        Ok(Deployment {
            id: DeploymentId(self.id),
            repo_id: RepoId(self.repo_id),
            source: self.source.parse::<DeploymentSource>()?,
            sha: Sha::parse(&self.sha)?,
            git_ref: self.git_ref,
            task: self.task,
            payload: self.payload,
            environment: EnvName::parse(&self.environment)?,
            original_environment: EnvName::parse(&self.original_environment)?,
            description: self.description,
            transient_environment: self.transient_environment != 0,
            production_environment: self.production_environment != 0,
            creator: actor(self.creator_id, self.creator_login, self.creator_bot),
            latest_state: self
                .latest_state
                .map(|s| s.parse::<StatusState>())
                .transpose()?,
            created_at: Timestamp::from_unix(self.created_at),
            updated_at: Timestamp::from_unix(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct StatusRow {
    id: i64,
    deployment_id: i64,
    state: String,
    description: String,
    environment: String,
    target_url: String,
    log_url: String,
    environment_url: String,
    creator_id: i64,
    creator_login: String,
    creator_bot: i64,
    created_at: i64,
}

impl StatusRow {
    pub(super) fn into_status(self) -> StoreResult<DeploymentStatus> {
        Ok(DeploymentStatus {
            id: StatusId(self.id),
            deployment_id: DeploymentId(self.deployment_id),
            state: self.state.parse()?,
            description: self.description,
            environment: EnvName::parse(&self.environment)?,
            target_url: self.target_url,
            log_url: self.log_url,
            environment_url: self.environment_url,
            creator: actor(self.creator_id, self.creator_login, self.creator_bot),
            created_at: Timestamp::from_unix(self.created_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct EnvironmentRow {
    id: i64,
    repo_id: i64,
    name: String,
    wait_timer: i64,
    prevent_self_review: i64,
    reviewers: String,
    branch_policy: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl EnvironmentRow {
    pub(super) fn into_environment(self) -> StoreResult<Environment> {
        Ok(Environment {
            id: EnvironmentId(self.id),
            repo_id: RepoId(self.repo_id),
            name: EnvName::parse(&self.name)?,
            wait_timer: self.wait_timer,
            prevent_self_review: self.prevent_self_review != 0,
            reviewers: self.reviewers,
            branch_policy: self.branch_policy,
            created_at: Timestamp::from_unix(self.created_at),
            updated_at: Timestamp::from_unix(self.updated_at),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct CommitStatusRow {
    id: i64,
    repo_id: i64,
    sha: String,
    context: String,
    state: String,
    target_url: Option<String>,
    description: Option<String>,
    creator_id: i64,
    creator_login: String,
    creator_bot: i64,
    created_at: i64,
}

impl CommitStatusRow {
    pub(super) fn into_status(self) -> StoreResult<CommitStatus> {
        Ok(CommitStatus {
            id: CommitStatusId(self.id),
            repo_id: RepoId(self.repo_id),
            sha: Sha::parse(&self.sha)?,
            context: self.context,
            state: self.state.parse()?,
            target_url: self.target_url,
            description: self.description,
            creator: actor(self.creator_id, self.creator_login, self.creator_bot),
            created_at: Timestamp::from_unix(self.created_at),
        })
    }
}
