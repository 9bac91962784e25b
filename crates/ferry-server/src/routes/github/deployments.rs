//! Deployments: list, create, get, delete (compat/github.md §2.1, §2.2, §3).

use super::{json, load_repo, paged, resolve_ref, Fields};
use crate::error::{GhError, GhResult};
use crate::extract::{GhBody, GhBodyError, GhCaller, GhPath};
use crate::routes::{matches_nothing, query_map};
use crate::state::AppState;
use crate::wire::github as wire;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferry_domain::deployment::RequiredContexts;
use ferry_domain::{DeploymentId, DeploymentSource, EnvName, Page, Scope};
use ferry_store::model::{DeploymentFilter, NewDeployment};
use ferry_store::StoreError;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

const DOC_LIST: &str = "https://docs.github.com/rest/deployments/deployments#list-deployments";
const DOC_CREATE: &str = "https://docs.github.com/rest/deployments/deployments#create-a-deployment";
const DOC_GET: &str = "https://docs.github.com/rest/deployments/deployments#get-a-deployment";
const DOC_DELETE: &str = "https://docs.github.com/rest/deployments/deployments#delete-a-deployment";

pub async fn list(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String)>, GhError>,
    RawQuery(raw): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> GhResult<Response> {
    caller.require(Scope::Read).map_err(|e| e.doc(DOC_LIST))?;
    let GhPath((owner, name)) = path.map_err(|e| e.doc(DOC_LIST))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_LIST))?;
    let q = query_map(raw.as_deref());
    let page = Page::from_query(
        q.get("page").map(String::as_str),
        q.get("per_page").map(String::as_str),
    );
    let filter = DeploymentFilter {
        repo_id: Some(repo.id),
        // `sha` filters on the resolved commit: an abbreviated or unknown one matches nothing.
        sha: q.get("sha").map(|s| s.to_ascii_lowercase()),
        git_ref: q.get("ref").cloned(),
        task: q.get("task").cloned(),
        environment: q.get("environment").cloned(),
        ..Default::default()
    };
    let (items, total) = if matches_nothing(&filter) {
        (Vec::new(), 0)
    } else {
        state.store.list_deployments(&filter, page).await?
    };
    let body: Vec<_> = items
        .iter()
        .map(|d| wire::deployment(&state.urls, &repo.slug, d))
        .collect();
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    paged(&state, pq, page, total, &body)
}

/// Only the payload, borrowed from the raw body so it is echoed byte for byte.
#[derive(Deserialize)]
struct RawPayload<'a> {
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String)>, GhError>,
    body: Result<GhBody, GhBodyError>,
) -> GhResult<Response> {
    let body = body.map_err(|e| e.answer("Deployment", DOC_CREATE))?;
    let caller = caller
        .require(Scope::Write)
        .map_err(|e| e.doc(DOC_CREATE))?;
    let GhPath((owner, name)) = path.map_err(|e| e.doc(DOC_CREATE))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_CREATE))?;
    let f = Fields {
        map: &body.fields,
        resource: "Deployment",
        doc: DOC_CREATE,
    };
    let git_ref = f.required_string("ref")?;
    let task = f.string("task")?.unwrap_or_else(|| "deploy".into());
    // auto_merge is validated and otherwise ignored: ferry never merges branches (D5, option A).
    f.bool("auto_merge")?;
    let required_contexts = match body.fields.get("required_contexts") {
        None | Some(Value::Null) => RequiredContexts::AllReported,
        Some(Value::Array(items)) if items.is_empty() => RequiredContexts::Skip,
        Some(Value::Array(items)) => RequiredContexts::Listed(
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| f.error_invalid("required_contexts"))?,
        ),
        Some(_) => return Err(f.error_invalid("required_contexts")),
    };
    let payload = match body.fields.get("payload") {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::Object(_) | Value::String(_)) => {
            serde_json::from_slice::<RawPayload>(&body.raw)
                .ok()
                .and_then(|p| p.payload.map(|r| r.get().to_owned()))
                .ok_or_else(|| f.error_invalid("payload"))?
        }
        Some(_) => return Err(f.error_invalid("payload")),
    };
    let environment = f
        .string("environment")?
        .unwrap_or_else(|| "production".into());
    let environment = EnvName::parse(&environment).map_err(|_| f.error_invalid("environment"))?;
    let description = if f.present("description") {
        f.string("description")?
    } else {
        Some(String::new())
    };
    let transient = f.bool("transient_environment")?.unwrap_or(false);
    let production = f
        .bool("production_environment")?
        .unwrap_or_else(|| environment.is_production_by_default());

    let sha = resolve_ref(&state, &repo, &git_ref).await?.ok_or_else(|| {
        GhError::unprocessable(format!("No ref found for: {git_ref}")).doc(DOC_CREATE)
    })?;

    let new = NewDeployment {
        repo_id: repo.id,
        source: DeploymentSource::Api,
        sha,
        git_ref: git_ref.clone(),
        task,
        payload,
        environment,
        description,
        transient_environment: transient,
        production_environment: production,
        creator: caller.actor(),
        required_contexts,
    };
    let created = match state.store.create_deployment(new).await {
        Ok(d) => d,
        Err(StoreError::ContextsFailed(c)) => {
            return Err(GhError::contexts_failed(&git_ref, c).doc(DOC_CREATE))
        }
        Err(e) => return Err(GhError::from(e).doc(DOC_CREATE)),
    };
    json(
        StatusCode::CREATED,
        &wire::deployment(&state.urls, &repo.slug, &created),
    )
}

/// Parses a deployment id from the path; anything else is an unknown deployment.
pub fn parse_id(raw: &str) -> Option<DeploymentId> {
    raw.parse::<i64>().ok().filter(|n| *n > 0).map(DeploymentId)
}

pub async fn get(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
) -> GhResult<Response> {
    caller.require(Scope::Read).map_err(|e| e.doc(DOC_GET))?;
    let GhPath((owner, name, id)) = path.map_err(|e| e.doc(DOC_GET))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_GET))?;
    let id = parse_id(&id).ok_or_else(|| GhError::not_found().doc(DOC_GET))?;
    let d = state
        .store
        .deployment(repo.id, id)
        .await?
        .ok_or_else(|| GhError::not_found().doc(DOC_GET))?;
    json(
        StatusCode::OK,
        &wire::deployment(&state.urls, &repo.slug, &d),
    )
}

pub async fn delete(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
) -> GhResult<Response> {
    caller
        .require(Scope::Write)
        .map_err(|e| e.doc(DOC_DELETE))?;
    let GhPath((owner, name, id)) = path.map_err(|e| e.doc(DOC_DELETE))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_DELETE))?;
    let id = parse_id(&id).ok_or_else(|| GhError::not_found().doc(DOC_DELETE))?;
    state
        .store
        .delete_deployment(repo.id, id)
        .await
        .map_err(|e| GhError::from(e).doc(DOC_DELETE))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
