//! `/api/v1/integrations`: OpsLevel endpoints and DevLake connections. Admin only. The
//! secret (the OpsLevel URL's uuid, the DevLake key) is returned once, at creation, and
//! stored as a SHA-256 hash.

use crate::error::{ApiError, ApiResult};
use crate::extract::auth::generate_token;
use crate::extract::{ApiCaller, ApiJson};
use crate::routes::ingest::hash_secret;
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{CreateIntegration, CreatedIntegration, ErrorBody, IntegrationInfo};
use ferry_domain::ingest::{DedupScope, DevLakeAuth, IntegrationKind};
use ferry_domain::{IntegrationId, Scope};
use ferry_store::model::NewIntegration;
use ferry_store::StoreError;

#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations",
    request_body = CreateIntegration,
    responses((status = 201, body = CreatedIntegration), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<CreateIntegration>,
) -> ApiResult<(StatusCode, Json<CreatedIntegration>)> {
    caller.require(Scope::Admin)?;
    let kind = req
        .kind
        .trim()
        .parse::<IntegrationKind>()
        .map_err(|_| ApiError::invalid("kind must be one of: opslevel, devlake"))?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "name must be 1 to 100 characters, without control characters",
        ));
    }
    let auth = match (kind, req.auth.as_deref()) {
        (IntegrationKind::OpsLevel, None) => None,
        (IntegrationKind::OpsLevel, Some(_)) => {
            return Err(ApiError::invalid(
                "auth applies to devlake integrations only (the OpsLevel URL is the secret)",
            ))
        }
        (IntegrationKind::DevLake, None) => Some(DevLakeAuth::Bearer),
        (IntegrationKind::DevLake, Some(a)) => Some(
            a.trim()
                .parse::<DevLakeAuth>()
                .map_err(|_| ApiError::invalid("auth must be one of: bearer, basic, none"))?,
        ),
    };
    let (dedup_scope, strict_deployer) = match kind {
        IntegrationKind::OpsLevel => (
            match req.dedup_scope.as_deref() {
                None => DedupScope::DedupId,
                Some(d) => d.trim().parse::<DedupScope>().map_err(|_| {
                    ApiError::invalid(
                        "dedup_scope must be one of: dedup_id, dedup_id+deploy_number",
                    )
                })?,
            },
            req.strict_deployer.unwrap_or(false),
        ),
        IntegrationKind::DevLake => {
            if req.dedup_scope.is_some() || req.strict_deployer.is_some() {
                return Err(ApiError::invalid(
                    "dedup_scope and strict_deployer apply to opslevel integrations only",
                ));
            }
            (DedupScope::DedupId, false)
        }
    };
    // The secret: a v4 uuid in the OpsLevel URL, or a key for DevLake's Bearer/Basic auth.
    let secret = match (kind, auth) {
        (IntegrationKind::OpsLevel, _) => Some(uuid::Uuid::new_v4().to_string()),
        (IntegrationKind::DevLake, Some(DevLakeAuth::None)) => None,
        (IntegrationKind::DevLake, _) => Some(generate_token()),
    };
    let integration = state
        .store
        .create_integration(NewIntegration {
            kind,
            name: name.to_owned(),
            auth,
            secret_hash: secret.as_deref().map(hash_secret),
            dedup_scope,
            strict_deployer,
        })
        .await?;
    let info = wire::integration(&state.urls, &integration);
    let (url, secret) = match kind {
        IntegrationKind::OpsLevel => (
            state
                .urls
                .opslevel_deploy(secret.as_deref().unwrap_or_default()),
            None,
        ),
        IntegrationKind::DevLake => (state.urls.devlake_connection(info.id), secret),
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedIntegration {
            id: info.id,
            kind: info.kind,
            name: info.name,
            auth: info.auth,
            url,
            secret,
            dedup_scope: info.dedup_scope,
            strict_deployer: info.strict_deployer,
            created_at: info.created_at,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations",
    responses((status = 200, body = [IntegrationInfo]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<IntegrationInfo>>> {
    caller.require(Scope::Admin)?;
    let all = state.store.list_integrations().await?;
    Ok(Json(
        all.iter()
            .map(|i| wire::integration(&state.urls, i))
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/integrations/{id}", tag = "integrations",
    params(("id" = i64, Path, description = "integration id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let id = path
        .ok()
        .and_then(|Path(id)| id.parse::<i64>().ok())
        .ok_or_else(|| ApiError::not_found("integration"))?;
    match state.store.revoke_integration(IntegrationId(id)).await {
        Ok(()) => {
            state.integrations.forget(|i| i.id == IntegrationId(id));
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("integration")),
        Err(e) => Err(e.into()),
    }
}
