//! Store records → ferry's own `/api/v1` types.

use crate::urls::Urls;
use ferry_api_types::native as api;
use ferry_domain::ingest::{DeployResult, IntegrationKind};
use ferry_domain::RepoSlug;
use ferry_store::model::{
    Deployment, DeploymentRef, GithubAuth, IngestedDeployment, Integration, Issue, PullRequest,
    Repo, Service, Suggestion, Token,
};

pub fn token(t: &Token) -> api::TokenInfo {
    api::TokenInfo {
        id: t.id.get(),
        name: t.name.clone(),
        scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created_at: t.created_at.to_github(),
    }
}

pub fn repo(urls: &Urls, r: &Repo) -> api::RepoInfo {
    api::RepoInfo {
        id: r.id.get(),
        full_name: r.slug.full_name(),
        owner: r.slug.owner().to_owned(),
        name: r.slug.name().to_owned(),
        git_url: r.git_url.clone(),
        default_branch: r.default_branch.clone(),
        api_url: urls.repo_api(&r.slug),
        github: api::GithubInfo {
            webhook_secret_set: r.github_webhook_secret.is_some(),
            mirror: r.github_mirror.is_some(),
            api_url: r.github_mirror.as_ref().map(|m| m.api_url.clone()),
            auth: r.github_mirror.as_ref().map(|m| {
                match m.auth {
                    GithubAuth::Token(_) => "token",
                    GithubAuth::App { .. } => "app",
                }
                .to_owned()
            }),
            app_id: r.github_mirror.as_ref().and_then(|m| match m.auth {
                GithubAuth::App { app_id, .. } => Some(app_id),
                GithubAuth::Token(_) => None,
            }),
            installation_id: r.github_mirror.as_ref().and_then(|m| match m.auth {
                GithubAuth::App {
                    installation_id, ..
                } => Some(installation_id),
                GithubAuth::Token(_) => None,
            }),
        },
        created_at: r.created_at.to_github(),
        updated_at: r.updated_at.to_github(),
    }
}

pub fn deployment(urls: &Urls, slug: &RepoSlug, d: &Deployment) -> api::DeploymentInfo {
    api::DeploymentInfo {
        id: d.id.get(),
        source: d.source.as_str().to_owned(),
        repository: slug.full_name(),
        environment: d.environment.to_string(),
        original_environment: d.original_environment.to_string(),
        git_ref: d.git_ref.clone(),
        sha: d.sha.to_string(),
        task: d.task.clone(),
        description: d.description.clone(),
        state: d.latest_state.map(|s| s.as_str().to_owned()),
        creator: d.creator.login.clone(),
        created_at: d.created_at.to_github(),
        updated_at: d.updated_at.to_github(),
        url: format!("{}/deployments/{}", urls.repo_api(slug), d.id),
        service: None,
        integration_id: None,
        service_alias: None,
        deploy_number: None,
        result: None,
        external_id: None,
        deployer: None,
        started_at: None,
        finished_at: None,
        commits: None,
    }
}

/// An ingested deploy in the all-sources listing. `repository` is the first commit's
/// registered repository, or `""`; `ref`/`sha` are the first commit's.
pub fn ingested_deployment(d: &IngestedDeployment) -> api::DeploymentInfo {
    let first = d.commits.first();
    let deployer = (d.deployer_name.is_some()
        || d.deployer_email.is_some()
        || d.deployer_id.is_some())
    .then(|| api::DeployerInfo {
        name: d.deployer_name.clone(),
        email: d.deployer_email.clone(),
        id: d.deployer_id.clone(),
    });
    api::DeploymentInfo {
        id: d.id.get(),
        source: d.source.as_str().to_owned(),
        repository: d
            .commits
            .iter()
            .find_map(|c| c.repo.as_ref().map(RepoSlug::full_name))
            .unwrap_or_default(),
        environment: d.environment.clone(),
        original_environment: d.environment.clone(),
        git_ref: first.and_then(|c| c.ref_name.clone()).unwrap_or_default(),
        sha: first.map(|c| c.sha.clone()).unwrap_or_default(),
        task: "deploy".to_owned(),
        description: d.description.clone().or_else(|| d.name.clone()),
        // The GitHub state closest to the result; `MANUAL` has none.
        state: match d.result {
            DeployResult::Success => Some("success".to_owned()),
            DeployResult::Failure => Some("failure".to_owned()),
            DeployResult::Abort => Some("error".to_owned()),
            DeployResult::Manual => None,
        },
        creator: d
            .deployer_name
            .clone()
            .or_else(|| d.deployer_email.clone())
            .unwrap_or_default(),
        created_at: d.created_at.to_github(),
        updated_at: d.updated_at.to_github(),
        url: d.deploy_url.clone().unwrap_or_default(),
        service: d.service_name.clone(),
        integration_id: Some(d.integration_id.get()),
        service_alias: d.service_alias.clone(),
        deploy_number: d.deploy_number.clone(),
        result: Some(d.result.as_str().to_owned()),
        external_id: d.external_key.clone(),
        deployer,
        started_at: Some(d.started_at.to_github()),
        finished_at: Some(d.finished_at.to_github()),
        commits: Some(
            d.commits
                .iter()
                .map(|c| api::CommitInfo {
                    repo_url: c.repo_url.clone(),
                    sha: c.sha.clone(),
                    repository: c.repo.as_ref().map(RepoSlug::full_name),
                    git_ref: c.ref_name.clone(),
                    message: c.message.clone(),
                })
                .collect(),
        ),
    }
}

pub fn integration(urls: &Urls, i: &Integration) -> api::IntegrationInfo {
    api::IntegrationInfo {
        id: i.id.get(),
        kind: i.kind.as_str().to_owned(),
        name: i.name.clone(),
        auth: i.auth.map(|a| a.as_str().to_owned()),
        url: (i.kind == IntegrationKind::DevLake).then(|| urls.devlake_connection(i.id.get())),
        dedup_scope: (i.kind == IntegrationKind::OpsLevel)
            .then(|| i.dedup_scope.as_str().to_owned()),
        strict_deployer: (i.kind == IntegrationKind::OpsLevel).then_some(i.strict_deployer),
        created_at: i.created_at.to_github(),
    }
}

pub fn service(s: &Service) -> api::ServiceInfo {
    api::ServiceInfo {
        id: s.id.get(),
        name: s.name.clone(),
        aliases: s.aliases.iter().map(|a| a.as_str().to_owned()).collect(),
        repos: s.repos.iter().map(RepoSlug::full_name).collect(),
        created_at: s.created_at.to_github(),
        updated_at: s.updated_at.to_github(),
    }
}

pub fn suggestion(s: &Suggestion) -> api::SuggestionInfo {
    api::SuggestionInfo {
        id: s.id.get(),
        alias: s.alias.clone(),
        integration_id: s.integration_id.get(),
        deploy_count: s.deploy_count,
        first_seen: s.first_seen.to_github(),
        last_seen: s.last_seen.to_github(),
    }
}

pub fn incident(i: &Issue) -> api::IncidentInfo {
    api::IncidentInfo {
        id: i.id.get(),
        integration_id: i.integration_id.map(|i| i.get()),
        key: i.issue_key.clone(),
        title: i.title.clone(),
        status: i.status.as_str().to_owned(),
        original_status: i.original_status.clone(),
        service: i.service_name.clone(),
        url: i.url.clone(),
        description: i.description.clone(),
        priority: i.priority.clone(),
        severity: i.severity.clone(),
        component: i.component.clone(),
        created_at: i.created_date.to_github(),
        updated_at: i.updated_date.map(|t| t.to_github()),
        resolved_at: i.resolution_date.map(|t| t.to_github()),
        lead_time_minutes: i.lead_time_minutes,
        deployment_id: i.deployment.map(|d| match d {
            DeploymentRef::Api(id) => id.get(),
            DeploymentRef::Ingested(id) => id.get(),
        }),
        deployment_source: i.deployment.map(|d| {
            match d {
                DeploymentRef::Api(_) => "api",
                DeploymentRef::Ingested(_) => "ingested",
            }
            .to_owned()
        }),
    }
}

pub fn pull(repo: &RepoSlug, p: &PullRequest) -> api::PullInfo {
    api::PullInfo {
        repository: repo.full_name(),
        number: p.number,
        title: p.title.clone(),
        created_at: p.created_at.to_github(),
        merged_at: p.merged_at.map(|t| t.to_github()),
        merge_commit_sha: p.merge_commit_sha.clone(),
        started_at: p.started_at.to_github(),
        commits: p.commits.clone(),
    }
}
