//! Deployment statuses: list, create, get (compat/github.md §2.3, §3.3–§3.5).

use super::deployments::parse_id;
use super::{json, load_repo, paged, with_location, Fields};
use crate::error::{GhError, GhResult};
use crate::extract::{GhBody, GhBodyError, GhCaller, GhPath};
use crate::routes::query_map;
use crate::state::AppState;
use crate::wire::github as wire;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use ferry_domain::deployment::status_urls;
use ferry_domain::{EnvName, Page, Scope, StatusId, StatusState};
use ferry_store::model::NewStatus;

const DOC_LIST: &str = "https://docs.github.com/rest/deployments/statuses#list-deployment-statuses";
const DOC_CREATE: &str =
    "https://docs.github.com/rest/deployments/statuses#create-a-deployment-status";
const DOC_GET: &str = "https://docs.github.com/rest/deployments/statuses#get-a-deployment-status";

/// GitHub's limit on a status description (decision D7: longer ones are refused).
pub const MAX_DESCRIPTION_CHARS: usize = 140;

pub async fn list(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
    RawQuery(raw): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> GhResult<Response> {
    caller.require(Scope::Read).map_err(|e| e.doc(DOC_LIST))?;
    let GhPath((owner, name, id)) = path.map_err(|e| e.doc(DOC_LIST))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_LIST))?;
    let id = parse_id(&id).ok_or_else(|| GhError::not_found().doc(DOC_LIST))?;
    if state.store.deployment(repo.id, id).await?.is_none() {
        return Err(GhError::not_found().doc(DOC_LIST));
    }
    let q = query_map(raw.as_deref());
    let page = Page::from_query(
        q.get("page").map(String::as_str),
        q.get("per_page").map(String::as_str),
    );
    let (items, total) = state.store.list_statuses(id, page).await?;
    let body: Vec<_> = items
        .iter()
        .map(|s| wire::status(&state.urls, &repo.slug, s))
        .collect();
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    paged(&state, pq, page, total, &body)
}

pub async fn create(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
    body: Result<GhBody, GhBodyError>,
) -> GhResult<Response> {
    let body = body.map_err(|e| e.answer("DeploymentStatus", DOC_CREATE))?;
    let caller = caller
        .require(Scope::Write)
        .map_err(|e| e.doc(DOC_CREATE))?;
    let GhPath((owner, name, id)) = path.map_err(|e| e.doc(DOC_CREATE))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_CREATE))?;
    let id = parse_id(&id).ok_or_else(|| GhError::not_found().doc(DOC_CREATE))?;
    let f = Fields {
        map: &body.fields,
        resource: "DeploymentStatus",
        doc: DOC_CREATE,
    };
    let state_name = f.required_string("state")?;
    let status_state: StatusState = state_name.parse().map_err(|_| f.error_invalid("state"))?;
    let description = f.string("description")?.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(GhError::custom(
            "DeploymentStatus",
            "description",
            format!("description is too long (maximum is {MAX_DESCRIPTION_CHARS} characters)"),
        )
        .doc(DOC_CREATE));
    }
    let (target_url, log_url) = status_urls(f.string("target_url")?, f.string("log_url")?);
    let environment = f
        .string("environment")?
        .filter(|e| !e.is_empty())
        .map(|e| EnvName::parse(&e))
        .transpose()
        .map_err(|_| f.error_invalid("environment"))?;
    let new = NewStatus {
        deployment_id: id,
        state: status_state,
        description,
        environment,
        target_url,
        log_url,
        environment_url: f.string("environment_url")?.unwrap_or_default(),
        auto_inactive: f.bool("auto_inactive")?.unwrap_or(true),
        creator: caller.actor(),
    };
    let created = state
        .store
        .create_status(repo.id, new)
        .await
        .map_err(|e| GhError::from(e).doc(DOC_CREATE))?;
    if created.status.state == StatusState::Success && repo.git_url.is_some() {
        // The new commits of this deployment are read from the mirror in the background.
        state.dora.kick();
    }
    let body = wire::status(&state.urls, &repo.slug, &created.status);
    let location = body.url.clone();
    Ok(with_location(json(StatusCode::CREATED, &body)?, &location))
}

pub async fn get(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String, String)>, GhError>,
) -> GhResult<Response> {
    caller.require(Scope::Read).map_err(|e| e.doc(DOC_GET))?;
    let GhPath((owner, name, id, status_id)) = path.map_err(|e| e.doc(DOC_GET))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_GET))?;
    let not_found = || GhError::not_found().doc(DOC_GET);
    let id = parse_id(&id).ok_or_else(not_found)?;
    let status_id = status_id
        .parse::<i64>()
        .ok()
        .map(StatusId)
        .ok_or_else(not_found)?;
    if state.store.deployment(repo.id, id).await?.is_none() {
        return Err(not_found());
    }
    let s = state
        .store
        .status(id, status_id)
        .await?
        .ok_or_else(not_found)?;
    json(StatusCode::OK, &wire::status(&state.urls, &repo.slug, &s))
}
