//! `/api/v1/services`: the service catalog (names, aliases, linked repositories) and the
//! suggestions recorded for aliases no service has.
//!
//! A service is addressed by its name or any alias, case-insensitively. Reads need `read`,
//! changes `write`.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiCaller, ApiJson};
use crate::state::AppState;
use crate::wire::native as wire;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{
    AcceptSuggestion, ErrorBody, ServiceBody, ServiceInfo, SuggestionInfo,
};
use ferry_domain::ingest::ServiceAlias;
use ferry_domain::{RepoId, RepoSlug, Scope, SuggestionId};
use ferry_store::model::{AcceptInto, Service, ServiceInput};
use ferry_store::StoreError;

fn valid_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name must be 1 to 100 characters, without control characters",
        ));
    }
    Ok(name.to_owned())
}

/// Turns a request body into store input, resolving repositories; every field is checked
/// before anything is written.
async fn input(state: &AppState, body: ServiceBody) -> ApiResult<ServiceInput> {
    let name = body.name.as_deref().map(valid_name).transpose()?;
    let aliases = body
        .aliases
        .map(|list| {
            list.iter()
                .map(|a| {
                    ServiceAlias::parse(a).map_err(|_| {
                        ApiError::invalid(format!(
                            "aliases: {a:?} must be 1 to 255 characters, without control characters"
                        ))
                    })
                })
                .collect::<ApiResult<Vec<_>>>()
        })
        .transpose()?;
    let repos = match body.repos {
        None => None,
        Some(list) => {
            let mut ids: Vec<RepoId> = Vec::with_capacity(list.len());
            for full_name in &list {
                let slug = RepoSlug::parse(full_name).map_err(|_| {
                    ApiError::invalid(format!("repos: {full_name:?} is not owner/name"))
                })?;
                let repo = state.store.repo_by_slug(&slug).await?.ok_or_else(|| {
                    ApiError::invalid(format!("repos: unknown repo {full_name:?}"))
                })?;
                ids.push(repo.id);
            }
            Some(ids)
        }
    };
    Ok(ServiceInput {
        name,
        aliases,
        repos,
    })
}

/// Store refusals with the store's own sentence (it names the alias or name taken).
fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) if m.starts_with("alias") || m.starts_with("a service") => {
            ApiError::new(StatusCode::CONFLICT, "conflict", m)
        }
        StoreError::NotFound => ApiError::not_found("service"),
        other => other.into(),
    }
}

async fn find(state: &AppState, path: Result<Path<String>, PathRejection>) -> ApiResult<Service> {
    let Ok(Path(name)) = path else {
        return Err(ApiError::not_found("service"));
    };
    if name.contains('\0') {
        return Err(ApiError::not_found("service"));
    }
    state
        .store
        .service_by_name(&name)
        .await?
        .ok_or_else(|| ApiError::not_found("service"))
}

#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = ServiceBody,
    responses((status = 201, body = ServiceInfo), (status = 400, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceInfo>)> {
    caller.require(Scope::Write)?;
    if body.name.is_none() {
        return Err(ApiError::invalid("name is required"));
    }
    let input = input(&state, body).await?;
    let service = state.store.create_service(input).await.map_err(conflict)?;
    Ok((StatusCode::CREATED, Json(wire::service(&service))))
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, body = [ServiceInfo])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<ServiceInfo>>> {
    caller.require(Scope::Read)?;
    let all = state.store.list_services().await?;
    Ok(Json(all.iter().map(wire::service).collect()))
}

#[utoipa::path(get, path = "/api/v1/services/{name}", tag = "services",
    params(("name" = String, Path, description = "the service's name or an alias")),
    responses((status = 200, body = ServiceInfo), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<ServiceInfo>> {
    caller.require(Scope::Read)?;
    Ok(Json(wire::service(&find(&state, path).await?)))
}

#[utoipa::path(patch, path = "/api/v1/services/{name}", tag = "services",
    request_body = ServiceBody,
    params(("name" = String, Path, description = "the service's name or an alias")),
    responses((status = 200, body = ServiceInfo), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<ServiceBody>,
) -> ApiResult<Json<ServiceInfo>> {
    caller.require(Scope::Write)?;
    let service = find(&state, path).await?;
    let input = input(&state, body).await?;
    let updated = state
        .store
        .update_service(service.id, input)
        .await
        .map_err(conflict)?;
    Ok(Json(wire::service(&updated)))
}

#[utoipa::path(delete, path = "/api/v1/services/{name}", tag = "services",
    params(("name" = String, Path, description = "the service's name or an alias")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Write)?;
    let service = find(&state, path).await?;
    state
        .store
        .delete_service(service.id)
        .await
        .map_err(conflict)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/services/suggestions", tag = "services",
    responses((status = 200, body = [SuggestionInfo])))]
pub async fn suggestions(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<SuggestionInfo>>> {
    caller.require(Scope::Read)?;
    let all = state.store.list_suggestions().await?;
    Ok(Json(all.iter().map(wire::suggestion).collect()))
}

fn suggestion_id(path: Result<Path<String>, PathRejection>) -> ApiResult<SuggestionId> {
    path.ok()
        .and_then(|Path(id)| id.parse::<i64>().ok())
        .map(SuggestionId)
        .ok_or_else(|| ApiError::not_found("suggestion"))
}

#[utoipa::path(post, path = "/api/v1/services/suggestions/{id}/accept", tag = "services",
    request_body = AcceptSuggestion,
    params(("id" = i64, Path, description = "suggestion id")),
    responses((status = 200, body = ServiceInfo), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn accept(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<ServiceInfo>> {
    caller.require(Scope::Write)?;
    let id = suggestion_id(path)?;
    // The body is optional: empty means "a new service named after the alias".
    let raw = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                r.status(),
                "payload_too_large",
                "the request body is too large",
            )
        } else {
            ApiError::invalid("the request body could not be read")
        }
    })?;
    let req: AcceptSuggestion = if raw.iter().all(u8::is_ascii_whitespace) {
        AcceptSuggestion::default()
    } else {
        serde_json::from_slice(&raw)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?
    };
    let into = match (req.service, req.name) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "give either service (an existing service) or name (a new one), not both",
            ))
        }
        (Some(existing), None) => {
            if existing.contains('\0') {
                return Err(ApiError::invalid("service must not contain NUL"));
            }
            let service = state
                .store
                .service_by_name(&existing)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(format!("service: unknown service {existing:?}"))
                })?;
            AcceptInto::Existing(service.id)
        }
        (None, Some(name)) => AcceptInto::New(valid_name(&name)?),
        (None, None) => {
            let alias = state
                .store
                .list_suggestions()
                .await?
                .into_iter()
                .find(|s| s.id == id)
                .map(|s| s.alias)
                .ok_or_else(|| ApiError::not_found("suggestion"))?;
            AcceptInto::New(valid_name(&alias)?)
        }
    };
    match state.store.accept_suggestion(id, into).await {
        Ok(service) => Ok(Json(wire::service(&service))),
        Err(StoreError::NotFound) => Err(ApiError::not_found("suggestion")),
        Err(e) => Err(conflict(e)),
    }
}

#[utoipa::path(post, path = "/api/v1/services/suggestions/{id}/dismiss", tag = "services",
    params(("id" = i64, Path, description = "suggestion id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn dismiss(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Write)?;
    let id = suggestion_id(path)?;
    match state.store.dismiss_suggestion(id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => Err(ApiError::not_found("suggestion")),
        Err(e) => Err(e.into()),
    }
}
