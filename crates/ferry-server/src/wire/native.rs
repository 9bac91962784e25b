//! Store records → ferry's own `/api/v1` types.

use crate::urls::Urls;
use ferry_api_types::native as api;
use ferry_domain::RepoSlug;
use ferry_store::model::{Deployment, Repo, Token};

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
    }
}
