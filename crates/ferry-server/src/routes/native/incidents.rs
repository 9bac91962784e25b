//! `/api/v1/incidents`: incidents, newest first — DevLake issues of type `INCIDENT` and those
//! created here (`POST`, resolved with `PATCH`). DORA attributes them to deployments
//! (spec/dora.md §3).

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiCaller;
use crate::extract::ApiJson;
use crate::routes::native::deployments::parse_time;
use crate::routes::{body_time, query_map};
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::rejection::PathRejection;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_api_types::native::{CreateIncident, ErrorBody, IncidentInfo, ResolveIncident};
use ferry_domain::ingest::IssueStatus;
use ferry_domain::{DeploymentId, IngestedDeploymentId, IssueId, Page, Scope, Timestamp};
use ferry_store::model::{DeploymentRef, IncidentFilter, NewIncident};
use ferry_store::StoreError;

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents",
    params(
        ("service" = Option<String>, Query, description = "a service name or alias"),
        ("status" = Option<String>, Query, description = "TODO, IN_PROGRESS or DONE"),
        ("from" = Option<String>, Query, description = "created at or after (YYYY-MM-DD or RFC 3339)"),
        ("to" = Option<String>, Query, description = "created before (YYYY-MM-DD or RFC 3339)"),
        ("page" = Option<u32>, Query), ("per_page" = Option<u32>, Query),
    ),
    responses((status = 200, body = [IncidentInfo]), (status = 400, body = ErrorBody)))]
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
    let mut filter = IncidentFilter::default();
    if let Some(name) = q.get("service") {
        let service = if name.contains('\0') {
            None
        } else {
            state.store.service_by_name(name).await?
        };
        let service =
            service.ok_or_else(|| ApiError::invalid(format!("unknown service {name:?}")))?;
        filter.service_id = Some(service.id);
    }
    if let Some(s) = q.get("status") {
        filter.status = Some(IssueStatus::parse_loose(s).ok_or_else(|| {
            ApiError::invalid(format!(
                "status must be one of {}; got {s:?}",
                IssueStatus::choices()
            ))
        })?);
    }
    if let Some(v) = q.get("from") {
        filter.from = Some(parse_time("from", v)?);
    }
    if let Some(v) = q.get("to") {
        filter.to = Some(parse_time("to", v)?);
    }
    let (items, total) = state.store.list_incidents(&filter, page).await?;
    let body: Vec<IncidentInfo> = items.iter().map(wire::incident).collect();
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

#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents", request_body = CreateIncident,
    responses((status = 201, body = IncidentInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<CreateIncident>,
) -> ApiResult<(StatusCode, Json<IncidentInfo>)> {
    caller.require(Scope::Write)?;
    let name = body
        .service
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("service is required"))?;
    let title = body
        .title
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("title is required"))?;
    if title.chars().count() > 1000 || title.contains('\0') {
        return Err(ApiError::invalid("title must be at most 1000 characters"));
    }
    let created_at =
        body_time("created_at", body.created_at.as_deref())?.unwrap_or_else(Timestamp::now);
    let resolved_at = body_time("resolved_at", body.resolved_at.as_deref())?;
    if resolved_at.is_some_and(|r| r < created_at) {
        return Err(ApiError::invalid(
            "resolved_at must not be before created_at",
        ));
    }
    let deployment = match (body.deployment_id, body.deployment_source.as_deref()) {
        (None, None) => None,
        (None, Some(_)) => return Err(ApiError::invalid("deployment_source needs deployment_id")),
        (Some(id), None | Some("api")) => Some(DeploymentRef::Api(DeploymentId(id))),
        (Some(id), Some("ingested")) => Some(DeploymentRef::Ingested(IngestedDeploymentId(id))),
        (Some(_), Some(other)) => {
            return Err(ApiError::invalid(format!(
                "deployment_source must be api or ingested, got {other:?}"
            )))
        }
    };
    let service = if name.contains('\0') {
        None
    } else {
        state.store.service_by_name(name).await?
    };
    let service =
        service.ok_or_else(|| ApiError::invalid(format!("service: unknown service {name:?}")))?;
    let issue = state
        .store
        .create_incident(NewIncident {
            service_id: service.id,
            title: title.to_owned(),
            created_at,
            resolved_at,
            deployment,
            url: body.url,
            description: body.description,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("deployment"),
            other => other.into(),
        })?;
    Ok((StatusCode::CREATED, Json(wire::incident(&issue))))
}

#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents",
    request_body = ResolveIncident,
    params(("id" = i64, Path, description = "incident id")),
    responses((status = 200, body = IncidentInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<ResolveIncident>,
) -> ApiResult<Json<IncidentInfo>> {
    caller.require(Scope::Write)?;
    let id = path
        .ok()
        .and_then(|Path(id)| id.parse::<i64>().ok())
        .map(IssueId)
        .ok_or_else(|| ApiError::not_found("incident"))?;
    if let Some(s) = body.status.as_deref() {
        if !matches!(
            s.to_ascii_lowercase().as_str(),
            "done" | "resolved" | "closed"
        ) {
            return Err(ApiError::invalid(format!(
                "status: only DONE (resolved) can be set, got {s:?}"
            )));
        }
    }
    let at = body_time("resolved_at", body.resolved_at.as_deref())?.unwrap_or_else(Timestamp::now);
    let issue = state
        .store
        .incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("incident"))?;
    if at < issue.created_date {
        return Err(ApiError::invalid(
            "resolved_at must not be before the incident was created",
        ));
    }
    let issue = state
        .store
        .resolve_incident(id, at)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found("incident"),
            other => other.into(),
        })?;
    Ok(Json(wire::incident(&issue)))
}
