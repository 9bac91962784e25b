//! `GET /api/v1/deployments`: every deployment, whatever its source, newest first.

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiCaller;
use crate::routes::{matches_nothing, query_map};
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_api_types::native::{DeploymentInfo, ErrorBody};
use ferry_domain::{DeploymentSource, Page, RepoSlug, Scope, Timestamp};
use ferry_store::model::DeploymentFilter;
use std::collections::HashMap;

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
fn parse_time(param: &str, value: &str) -> ApiResult<Timestamp> {
    let attempt = if value.len() == 10 {
        Timestamp::parse_rfc3339(&format!("{value}T00:00:00Z"))
    } else {
        Timestamp::parse_rfc3339(value)
    };
    attempt.map_err(|_| {
        ApiError::invalid(format!(
            "{param} must be a date (YYYY-MM-DD) or an RFC 3339 time, got {value:?}"
        ))
    })
}

#[utoipa::path(get, path = "/api/v1/deployments", tag = "deployments",
    params(
        ("repo" = Option<String>, Query, description = "owner/name"),
        ("environment" = Option<String>, Query),
        ("source" = Option<String>, Query, description = "api"),
        ("service" = Option<String>, Query, description = "a service name (services arrive with ingestion)"),
        ("from" = Option<String>, Query, description = "created at or after (YYYY-MM-DD or RFC 3339)"),
        ("to" = Option<String>, Query, description = "created before (YYYY-MM-DD or RFC 3339)"),
        ("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query),
    ),
    responses((status = 200, body = [DeploymentInfo]), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
    OriginalUri(uri): OriginalUri,
) -> ApiResult<Response> {
    caller.require(Scope::Read)?;
    let q = query_map(raw.as_deref());
    let page = Page::from_query(
        q.get("page").map(String::as_str),
        q.get("per_page").map(String::as_str),
    );
    let mut filter = DeploymentFilter {
        environment: q.get("environment").cloned(),
        ..Default::default()
    };
    if let Some(s) = q.get("service") {
        return Err(ApiError::invalid(format!("unknown service {s:?}")));
    }
    if let Some(s) = q.get("source") {
        filter.source =
            Some(s.parse::<DeploymentSource>().map_err(|_| {
                ApiError::invalid(format!("source must be one of: api; got {s:?}"))
            })?);
    }
    if let Some(v) = q.get("from") {
        filter.from = Some(parse_time("from", v)?);
    }
    if let Some(v) = q.get("to") {
        filter.to = Some(parse_time("to", v)?);
    }
    if let (Some(f), Some(t)) = (filter.from, filter.to) {
        if f > t {
            return Err(ApiError::invalid("from must not be after to"));
        }
    }
    let repos: HashMap<_, RepoSlug> = state
        .store
        .list_repos()
        .await?
        .into_iter()
        .map(|r| (r.id, r.slug))
        .collect();
    if let Some(name) = q.get("repo") {
        let slug = RepoSlug::parse(name)
            .map_err(|_| ApiError::invalid(format!("repo must be owner/name, got {name:?}")))?;
        let id = repos
            .iter()
            .find(|(_, s)| s.key() == slug.key())
            .map(|(id, _)| *id)
            .ok_or_else(|| ApiError::invalid(format!("unknown repo {name:?}")))?;
        filter.repo_id = Some(id);
    }
    let (items, total) = if matches_nothing(&filter) {
        (Vec::new(), 0)
    } else {
        state.store.list_deployments(&filter, page).await?
    };
    let body: Vec<DeploymentInfo> = items
        .iter()
        .filter_map(|d| {
            repos
                .get(&d.repo_id)
                .map(|slug| wire::deployment(&state.urls, slug, d))
        })
        .collect();
    let mut res = Json(body).into_response();
    let pq = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    if let Some(link) = state.urls.link_header(pq, page.page, page.last_page(total)) {
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        res.headers_mut().insert("x-total-count", v);
    }
    Ok(res)
}
