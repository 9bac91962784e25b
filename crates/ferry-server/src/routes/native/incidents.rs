//! `GET /api/v1/incidents`: incidents (DevLake issues of type `INCIDENT`), newest first.

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiCaller;
use crate::routes::native::deployments::parse_time;
use crate::routes::query_map;
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::{OriginalUri, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_api_types::native::{ErrorBody, IncidentInfo};
use ferry_domain::ingest::IssueStatus;
use ferry_domain::{Page, Scope};
use ferry_store::model::IncidentFilter;

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
