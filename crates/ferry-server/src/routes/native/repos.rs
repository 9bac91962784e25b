//! `/api/v1/repos`: repositories known to ferry. Creating one with a `git_url` clones its
//! mirror first, so a repository that exists can always resolve refs.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiCaller, ApiJson, ApiPath};
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{CreateRepo, ErrorBody, GithubSettings, PatchRepo, RepoInfo};
use ferry_domain::{RepoSlug, Scope};
use ferry_store::model::{NewRepo, RepoPatch};
use ferry_store::StoreError;

#[utoipa::path(post, path = "/api/v1/repos", tag = "repos", request_body = CreateRepo,
    responses((status = 201, body = RepoInfo), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<CreateRepo>,
) -> ApiResult<(StatusCode, Json<RepoInfo>)> {
    caller.require(Scope::Admin)?;
    let slug = RepoSlug::parse(&req.full_name).map_err(|e| ApiError::invalid(e.to_string()))?;
    let default_branch = req
        .default_branch
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "main".into());
    let git_url = req.git_url.filter(|u| !u.trim().is_empty());
    let webhook_secret = github_secret(req.github.as_ref())?.flatten();
    if state.store.repo_by_slug(&slug).await?.is_some() {
        return Err(conflict(&slug));
    }
    if let Some(url) = &git_url {
        if url.starts_with('-') {
            return Err(ApiError::invalid("git_url must be a path or URL"));
        }
        state
            .mirrors
            .clone_new(&slug.key(), url)
            .await
            .map_err(|e| {
                ApiError::unprocessable("git_unreachable", format!("cannot clone git_url: {e}"))
            })?;
    }
    let created = state
        .store
        .create_repo(NewRepo {
            slug: slug.clone(),
            git_url: git_url.clone(),
            default_branch,
            github_webhook_secret: webhook_secret,
        })
        .await;
    match created {
        Ok(repo) => Ok((StatusCode::CREATED, Json(wire::repo(&state.urls, &repo)))),
        Err(e) => {
            if git_url.is_some() {
                state.mirrors.remove(&slug.key());
            }
            match e {
                StoreError::Conflict(_) => Err(conflict(&slug)),
                e => Err(e.into()),
            }
        }
    }
}

/// The webhook secret a `github` object sets: `None` = unchanged, `Some(None)` = cleared.
fn github_secret(github: Option<&GithubSettings>) -> ApiResult<Option<Option<String>>> {
    let Some(g) = github else { return Ok(None) };
    if g.mirror == Some(true) {
        return Err(ApiError::unprocessable(
            "not_implemented",
            "GitHub mirror mode is not available in this version of ferry",
        ));
    }
    Ok(g.webhook_secret
        .as_ref()
        .map(|s| Some(s.clone()).filter(|s| !s.is_empty())))
}

#[utoipa::path(patch, path = "/api/v1/repos/{owner}/{repo}", tag = "repos", request_body = PatchRepo,
    params(("owner" = String, Path), ("repo" = String, Path)),
    responses((status = 200, body = RepoInfo), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath((owner, name)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<PatchRepo>,
) -> ApiResult<Json<RepoInfo>> {
    caller.require(Scope::Admin)?;
    let slug = RepoSlug::new(&owner, &name).map_err(|_| ApiError::not_found("repository"))?;
    let old = state
        .store
        .repo_by_slug(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))?;
    // The mirror is keyed by repository: moving it is not supported (yet), say so.
    if let Some(url) = req.git_url.as_deref().filter(|u| !u.trim().is_empty()) {
        if old.git_url.as_deref() != Some(url) {
            return Err(ApiError::unprocessable(
                "not_implemented",
                "git_url cannot be changed; create another repository",
            ));
        }
    }
    let patch = RepoPatch {
        git_url: None,
        default_branch: req.default_branch.filter(|b| !b.trim().is_empty()),
        github_webhook_secret: github_secret(req.github.as_ref())?,
    };
    let repo = state.store.update_repo(&slug, patch).await?;
    state.repos.forget(|r| r.id == repo.id);
    Ok(Json(wire::repo(&state.urls, &repo)))
}

fn conflict(slug: &RepoSlug) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "already_exists",
        format!("repository {slug} already exists"),
    )
}

#[utoipa::path(get, path = "/api/v1/repos", tag = "repos",
    responses((status = 200, body = [RepoInfo])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<RepoInfo>>> {
    caller.require(Scope::Read)?;
    let repos = state.store.list_repos().await?;
    Ok(Json(
        repos.iter().map(|r| wire::repo(&state.urls, r)).collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/repos/{owner}/{repo}", tag = "repos",
    params(("owner" = String, Path), ("repo" = String, Path)),
    responses((status = 200, body = RepoInfo), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath((owner, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<RepoInfo>> {
    caller.require(Scope::Read)?;
    let slug = RepoSlug::new(&owner, &name).map_err(|_| ApiError::not_found("repository"))?;
    let repo = state
        .store
        .repo_by_slug(&slug)
        .await?
        .ok_or_else(|| ApiError::not_found("repository"))?;
    Ok(Json(wire::repo(&state.urls, &repo)))
}
