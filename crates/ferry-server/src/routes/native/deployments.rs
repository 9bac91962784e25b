//! `GET /api/v1/deployments`: every deployment, whatever its source (API-created or ingested
//! from OpsLevel- and DevLake-compatible webhooks), newest first.

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiCaller;
use crate::routes::query_map;
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_api_types::native::{DeploymentInfo, ErrorBody};
use ferry_domain::{DeploymentSource, Page, RepoId, RepoSlug, Scope, Timestamp};
use ferry_store::model::{AllDeploymentsFilter, AnyDeployment};
use std::collections::HashMap;

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
pub fn parse_time(param: &str, value: &str) -> ApiResult<Timestamp> {
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
        ("environment" = Option<String>, Query, description = "exact for API deployments, case-insensitive for ingested ones"),
        ("source" = Option<String>, Query, description = "api, opslevel or devlake"),
        ("service" = Option<String>, Query, description = "a service name or alias: its ingested deploys and the API deployments of its repositories"),
        ("from" = Option<String>, Query, description = "at or after (YYYY-MM-DD or RFC 3339); API: created, ingested: finished"),
        ("to" = Option<String>, Query, description = "before (YYYY-MM-DD or RFC 3339)"),
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
    let mut filter = AllDeploymentsFilter {
        environment: q.get("environment").cloned(),
        ..Default::default()
    };
    if let Some(s) = q.get("source") {
        filter.source = Some(s.parse::<DeploymentSource>().map_err(|_| {
            ApiError::invalid(format!(
                "source must be one of: api, opslevel, devlake; got {s:?}"
            ))
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
    let services = state.store.list_services().await?;
    if let Some(name) = q.get("service") {
        let key = name.trim().to_lowercase();
        let service = services
            .iter()
            .find(|s| s.name.to_lowercase() == key || s.aliases.iter().any(|a| a.key() == key))
            .ok_or_else(|| ApiError::invalid(format!("unknown service {name:?}")))?;
        filter.service_id = Some(service.id);
    }
    let repos: HashMap<RepoId, RepoSlug> = state
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
    // No stored text holds NUL, and PostgreSQL refuses it even as a parameter.
    let (items, total) = if filter
        .environment
        .as_deref()
        .is_some_and(|e| e.contains('\0'))
    {
        (Vec::new(), 0)
    } else {
        state.store.list_all_deployments(&filter, page).await?
    };
    // An API deployment's service: the first service (by name) linked to its repository.
    let service_of_repo: HashMap<String, String> = services
        .iter()
        .rev()
        .flat_map(|s| s.repos.iter().map(move |r| (r.key(), s.name.clone())))
        .collect();
    let body: Vec<DeploymentInfo> = items
        .iter()
        .filter_map(|d| match d {
            AnyDeployment::Api(d) => repos.get(&d.repo_id).map(|slug| DeploymentInfo {
                service: service_of_repo.get(&slug.key()).cloned(),
                ..wire::deployment(&state.urls, slug, d)
            }),
            AnyDeployment::Ingested(d) => Some(wire::ingested_deployment(d)),
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
