//! `POST /api/v1/repos/{owner}/{repo}/pulls`: tells ferry which pull request brought which
//! commits, so DORA's lead time starts at the PR's first commit (spec/dora.md §2). Posting a
//! number again replaces the PR. Commit author times missing from the body are read from the
//! repository's git mirror when it has one.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiCaller, ApiJson, ApiPath};
use crate::routes::body_time;
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{CreatePull, ErrorBody, PullCommit, PullInfo};
use ferry_domain::{Scope, Sha, Timestamp};
use ferry_store::model::{NewPullRequest, Repo, WalkedCommit};

/// More commits than this in one PR is refused (GitHub lists at most 250 per PR).
const MAX_COMMITS: usize = 1_000;

fn sha(field: &str, s: &str) -> ApiResult<String> {
    let parsed = Sha::parse(s.trim())
        .map_err(|_| ApiError::invalid(format!("{field}: {s:?} is not a full commit sha")))?;
    Ok(parsed.as_str().to_owned())
}

/// Author times of `commits` that have none, from the mirror (best effort: a commit the
/// mirror lacks keeps no time).
async fn fill_times(state: &AppState, repo: &Repo, commits: &mut [WalkedCommit]) {
    let Some(url) = repo.git_url.as_deref().filter(|u| !u.is_empty()) else {
        return;
    };
    if commits.iter().all(|c| c.authored_at.is_some()) {
        return;
    }
    let Ok(mirror) = state.mirrors.get(repo.id, &repo.slug.key(), url).await else {
        return;
    };
    for c in commits.iter_mut().filter(|c| c.authored_at.is_none()) {
        if let Ok(found) = mirror.walk(None, &c.sha, 1).await {
            c.authored_at = found.first().map(|(_, at)| Timestamp::from_unix(*at));
        }
    }
}

#[utoipa::path(post, path = "/api/v1/repos/{owner}/{repo}/pulls", tag = "repos",
    request_body = CreatePull,
    params(("owner" = String, Path), ("repo" = String, Path)),
    responses((status = 201, body = PullInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath((owner, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<CreatePull>,
) -> ApiResult<(StatusCode, Json<PullInfo>)> {
    caller.require(Scope::Write)?;
    let repo = super::path_repo(&state, &owner, &name).await?;
    let number = body
        .number
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::invalid("number is required (a positive integer)"))?;
    let title = body.title.as_deref().unwrap_or("").trim().to_owned();
    if title.chars().count() > 1000 || title.contains('\0') {
        return Err(ApiError::invalid("title must be at most 1000 characters"));
    }
    let created_at = body_time("created_at", body.created_at.as_deref())?
        .ok_or_else(|| ApiError::invalid("created_at is required"))?;
    let merged_at = body_time("merged_at", body.merged_at.as_deref())?;
    let merge_commit_sha = body
        .merge_commit_sha
        .as_deref()
        .map(|s| sha("merge_commit_sha", s))
        .transpose()?;
    if body.commits.len() > MAX_COMMITS {
        return Err(ApiError::invalid(format!(
            "commits: at most {MAX_COMMITS} per pull request"
        )));
    }
    let mut commits = Vec::with_capacity(body.commits.len());
    for c in &body.commits {
        let (s, at) = match c {
            PullCommit::Sha(s) => (s.as_str(), None),
            PullCommit::Full { sha, authored_at } => (sha.as_str(), authored_at.as_deref()),
        };
        commits.push(WalkedCommit {
            sha: sha("commits", s)?,
            authored_at: body_time("commits.authored_at", at)?,
        });
    }
    fill_times(&state, &repo, &mut commits).await;
    let pr = state
        .store
        .upsert_pull_request(NewPullRequest {
            repo_id: repo.id,
            number,
            title,
            created_at,
            merged_at,
            merge_commit_sha,
            commits,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(wire::pull(&repo.slug, &pr))))
}
