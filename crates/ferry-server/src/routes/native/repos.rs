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
use ferry_store::model::{GithubAuth, GithubMirror, NewRepo, RepoPatch};
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
    let webhook_secret = github_secret(req.github.as_ref()).flatten();
    let mirror = github_mirror(req.github.as_ref(), None)?.flatten();
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
    let created = match (created, mirror) {
        (Ok(repo), Some(m)) => {
            let patch = RepoPatch {
                github_mirror: Some(Some(m)),
                ..RepoPatch::default()
            };
            state.store.update_repo(&repo.slug, patch).await
        }
        (created, _) => created,
    };
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
fn github_secret(github: Option<&GithubSettings>) -> Option<Option<String>> {
    let g = github?;
    g.webhook_secret
        .as_ref()
        .map(|s| Some(s.clone()).filter(|s| !s.is_empty()))
}

/// The mirror mode a `github` object sets over `current`: `None` = unchanged, `Some(None)` =
/// off. Turning it on needs a token (given now or before) and an http(s) API URL.
fn github_mirror(
    github: Option<&GithubSettings>,
    current: Option<&GithubMirror>,
) -> ApiResult<Option<Option<GithubMirror>>> {
    let Some(g) = github else { return Ok(None) };
    let on = match g.mirror {
        Some(on) => on,
        // Only a new token or URL: applies to a mirror that is on, else nothing to do.
        None if current.is_some()
            && (g.token.is_some() || g.api_url.is_some() || g.private_key.is_some()) =>
        {
            true
        }
        None => return Ok(None),
    };
    if !on {
        return Ok(Some(None));
    }
    let api_url = g
        .api_url
        .clone()
        .filter(|u| !u.trim().is_empty())
        .or_else(|| current.map(|m| m.api_url.clone()))
        .unwrap_or_else(|| "https://api.github.com".into());
    let api_url = api_url.trim().trim_end_matches('/').to_owned();
    let parsed = reqwest::Url::parse(&api_url).ok();
    if !parsed.is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()) {
        return Err(ApiError::unprocessable(
            "validation_failed",
            "github.api_url must be an http:// or https:// URL",
        ));
    }
    let auth = match (&g.token, g.app_id, g.installation_id, &g.private_key) {
        (Some(t), ..) if !t.is_empty() => GithubAuth::Token(t.clone()),
        (_, Some(app_id), Some(installation_id), Some(key)) => {
            if !crate::events::github::valid_app_key(key) {
                return Err(ApiError::unprocessable(
                    "validation_failed",
                    "github.private_key must be the GitHub App's RSA private key in PEM",
                ));
            }
            GithubAuth::App {
                app_id,
                installation_id,
                private_key: key.clone(),
            }
        }
        _ => current.map(|m| m.auth.clone()).ok_or_else(|| {
            ApiError::unprocessable(
                "validation_failed",
                "github.mirror needs github.token (repo_deployment scope), or a GitHub App's \
                 github.app_id, github.installation_id and github.private_key",
            )
        })?,
    };
    Ok(Some(Some(GithubMirror { api_url, auth })))
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
    let old = super::path_repo(&state, &owner, &name).await?;
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
        default_branch: req.default_branch.filter(|b| !b.trim().is_empty()),
        github_webhook_secret: github_secret(req.github.as_ref()),
        github_mirror: github_mirror(req.github.as_ref(), old.github_mirror.as_ref())?,
    };
    let repo = state.store.update_repo(&old.slug, patch).await?;
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
    let repo = super::path_repo(&state, &owner, &name).await?;
    Ok(Json(wire::repo(&state.urls, &repo)))
}
