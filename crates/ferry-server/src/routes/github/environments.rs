//! Environments: list, get, create-or-update, delete (compat/github.md §2.4).

use super::{json, load_repo, Fields};
use crate::error::{GhError, GhResult};
use crate::extract::{GhBody, GhBodyError, GhCaller, GhPath};
use crate::routes::query_map;
use crate::state::AppState;
use crate::wire::github as wire;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ferry_api_types::github::EnvironmentList;
use ferry_domain::{EnvName, Page, Scope};
use ferry_store::model::EnvironmentSettings;
use serde_json::Value;

const DOC_LIST: &str = "https://docs.github.com/rest/deployments/environments#list-environments";
const DOC_GET: &str = "https://docs.github.com/rest/deployments/environments#get-an-environment";
const DOC_PUT: &str =
    "https://docs.github.com/rest/deployments/environments#create-or-update-an-environment";
const DOC_DELETE: &str =
    "https://docs.github.com/rest/deployments/environments#delete-an-environment";

pub const MAX_WAIT_TIMER: i64 = 43_200;
pub const MAX_REVIEWERS: usize = 6;

pub async fn list(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String)>, GhError>,
    RawQuery(raw): RawQuery,
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
    let (items, total) = state.store.list_environments(repo.id, page).await?;
    json(
        StatusCode::OK,
        &EnvironmentList {
            total_count: total,
            environments: items
                .iter()
                .map(|e| wire::environment(&state.urls, &repo.slug, e))
                .collect(),
        },
    )
}

pub async fn get(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
) -> GhResult<Response> {
    caller.require(Scope::Read).map_err(|e| e.doc(DOC_GET))?;
    let GhPath((owner, name, env)) = path.map_err(|e| e.doc(DOC_GET))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_GET))?;
    let env = EnvName::parse(&env).map_err(|_| GhError::not_found().doc(DOC_GET))?;
    let e = state
        .store
        .environment(repo.id, &env)
        .await?
        .ok_or_else(|| GhError::not_found().doc(DOC_GET))?;
    json(
        StatusCode::OK,
        &wire::environment(&state.urls, &repo.slug, &e),
    )
}

fn settings(f: &Fields<'_>) -> GhResult<EnvironmentSettings> {
    let invalid =
        |field: &str, message: &str| GhError::custom("Environment", field, message).doc(DOC_PUT);
    let wait_timer = match f.map.get("wait_timer") {
        None | Some(Value::Null) => 0,
        Some(v) => match v.as_i64() {
            Some(n) if (0..=MAX_WAIT_TIMER).contains(&n) => n,
            _ => {
                return Err(invalid(
                    "wait_timer",
                    "wait_timer must be an integer from 0 to 43200",
                ))
            }
        },
    };
    let prevent_self_review = f.bool("prevent_self_review")?.unwrap_or(false);
    let reviewers = match f.map.get("reviewers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            if items.len() > MAX_REVIEWERS {
                return Err(invalid("reviewers", "at most 6 reviewers are allowed"));
            }
            for r in items {
                let ok = r
                    .get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t == "User" || t == "Team")
                    && r.get("id").and_then(Value::as_i64).is_some();
                if !ok {
                    return Err(invalid(
                        "reviewers",
                        "each reviewer is {\"type\": \"User\"|\"Team\", \"id\": integer}",
                    ));
                }
            }
            items.clone()
        }
        Some(_) => return Err(invalid("reviewers", "reviewers must be an array")),
    };
    let branch_policy = match f.map.get("deployment_branch_policy") {
        None | Some(Value::Null) => None,
        Some(p @ Value::Object(o)) => {
            let protected = o.get("protected_branches").and_then(Value::as_bool);
            let custom = o.get("custom_branch_policies").and_then(Value::as_bool);
            match (protected, custom) {
                (Some(a), Some(b)) if a != b => Some(p.to_string()),
                _ => {
                    return Err(GhError::unprocessable(
                        "Only one of protected_branches or custom_branch_policies can be true, and both must be given.",
                    )
                    .doc(DOC_PUT))
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                "deployment_branch_policy",
                "deployment_branch_policy must be an object or null",
            ))
        }
    };
    Ok(EnvironmentSettings {
        wait_timer,
        prevent_self_review,
        reviewers: Value::Array(reviewers).to_string(),
        branch_policy,
    })
}

pub async fn put(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String, String)>, GhError>,
    body: Result<GhBody, GhBodyError>,
) -> GhResult<Response> {
    let body = body.map_err(|e| e.answer("Environment", DOC_PUT))?;
    caller.require(Scope::Write).map_err(|e| e.doc(DOC_PUT))?;
    let GhPath((owner, name, env)) = path.map_err(|e| e.doc(DOC_PUT))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_PUT))?;
    let env =
        EnvName::parse(&env).map_err(|e| GhError::unprocessable(e.to_string()).doc(DOC_PUT))?;
    let f = Fields {
        map: &body.fields,
        resource: "Environment",
        doc: DOC_PUT,
    };
    let e = state
        .store
        .upsert_environment(repo.id, &env, settings(&f)?)
        .await?;
    json(
        StatusCode::OK,
        &wire::environment(&state.urls, &repo.slug, &e),
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
    let GhPath((owner, name, env)) = path.map_err(|e| e.doc(DOC_DELETE))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC_DELETE))?;
    let env = EnvName::parse(&env).map_err(|_| GhError::not_found().doc(DOC_DELETE))?;
    state
        .store
        .delete_environment(repo.id, &env)
        .await
        .map_err(|e| GhError::from(e).doc(DOC_DELETE))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
