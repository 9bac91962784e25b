//! Commit statuses: create, list for a ref, combined status (compat/github.md §2.5). They are
//! what `required_contexts` is checked against.

use super::{json, load_repo, paged, resolve_ref, with_location, Fields};
use crate::error::{GhError, GhResult};
use crate::extract::{GhBody, GhBodyError, GhCaller, GhPath};
use crate::routes::query_map;
use crate::state::AppState;
use crate::wire::github as wire;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use ferry_api_types::github::CombinedStatus;
use ferry_domain::deployment::combined_state;
use ferry_domain::{CommitState, Page, Scope};
use ferry_store::model::NewCommitStatus;

const DOC_CREATE: &str = "https://docs.github.com/rest/commits/statuses#create-a-commit-status";
const DOC_LIST: &str =
    "https://docs.github.com/rest/commits/statuses#list-commit-statuses-for-a-reference";
const DOC_COMBINED: &str =
    "https://docs.github.com/rest/commits/statuses#get-the-combined-status-for-a-specific-reference";

pub async fn create(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
    body: Result<GhBody, GhBodyError>,
) -> GhResult<Response> {
    let body = body.map_err(|e| e.answer("Status", DOC_CREATE))?;
    let caller = caller
        .require(Scope::Write)
        .map_err(|e| e.doc(DOC_CREATE))?;
    let GhPath((owner, name, sha)) = path.map_err(|e| e.doc(DOC_CREATE))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_CREATE))?;
    let f = Fields {
        map: &body.fields,
        resource: "Status",
        doc: DOC_CREATE,
    };
    let commit_state: CommitState = f
        .required_string("state")?
        .parse()
        .map_err(|_| f.error_invalid("state"))?;
    let target_url = f.string("target_url")?;
    let description = f.string("description")?;
    let context = f
        .string("context")?
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "default".into());
    let resolved = resolve_ref(&state, &repo, &sha).await?.ok_or_else(|| {
        GhError::unprocessable(format!("No commit found for SHA: {sha}")).doc(DOC_CREATE)
    })?;
    let created = state
        .store
        .create_commit_status(NewCommitStatus {
            repo_id: repo.id,
            sha: resolved,
            context,
            state: commit_state,
            target_url,
            description,
            creator: caller.actor(),
        })
        .await
        .map_err(|e| GhError::from(e).doc(DOC_CREATE))?;
    let body = wire::commit_status(&state.urls, &repo.slug, &created);
    let location = body.url.clone();
    Ok(with_location(json(StatusCode::CREATED, &body)?, &location))
}

/// `GET R/commits/{ref}/statuses` and `GET R/commits/{ref}/status`. The ref may contain
/// slashes (`heads/feature/x`), so the route captures the rest of the path.
pub async fn by_ref(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
    RawQuery(raw): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> GhResult<Response> {
    // The ref's suffix names the operation; when the ref does not decode, the raw path does,
    // so even that 404 carries the operation's docs link.
    let suffixed = match &path {
        Ok(GhPath((_, _, rest))) => rest.as_str(),
        Err(_) => uri.path(),
    };
    let (suffix, combined) = if suffixed.ends_with("/statuses") {
        ("/statuses", false)
    } else if suffixed.ends_with("/status") {
        ("/status", true)
    } else {
        return Err(GhError::not_found());
    };
    let doc = if combined { DOC_COMBINED } else { DOC_LIST };
    caller.require(Scope::Read).map_err(|e| e.doc(doc))?;
    let GhPath((owner, name, rest)) = path.map_err(|e| e.doc(doc))?;
    let git_ref = rest
        .strip_suffix(suffix)
        .ok_or_else(|| GhError::not_found().doc(doc))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(doc))?;
    let sha = resolve_ref(&state, &repo, git_ref)
        .await?
        .ok_or_else(|| GhError::not_found().doc(doc))?;
    if combined {
        let latest = state.store.latest_commit_statuses(repo.id, &sha).await?;
        let states: Vec<CommitState> = latest.iter().map(|s| s.state).collect();
        let commit_url = format!("{}/commits/{sha}", state.urls.repo_api(&repo.slug));
        let body = CombinedStatus {
            state: combined_state(&states).as_str().into(),
            total_count: latest.len() as u64,
            statuses: latest
                .iter()
                .map(|s| wire::simple_commit_status(&state.urls, &repo.slug, s))
                .collect(),
            sha: sha.to_string(),
            repository: wire::repository(&state.urls, &repo),
            url: format!("{commit_url}/status"),
            commit_url,
        };
        return json(StatusCode::OK, &body);
    }
    let q = query_map(raw.as_deref());
    let page = Page::from_query(
        q.get("page").map(String::as_str),
        q.get("per_page").map(String::as_str),
    );
    let (items, total) = state
        .store
        .list_commit_statuses(repo.id, &sha, page)
        .await?;
    let body: Vec<_> = items
        .iter()
        .map(|s| wire::commit_status(&state.urls, &repo.slug, s))
        .collect();
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    paged(&state, pq, page, total, &body)
}
