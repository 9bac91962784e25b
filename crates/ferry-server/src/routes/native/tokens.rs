//! `/api/v1/tokens`: API tokens. Admin only. The secret is returned once, at creation.

use crate::error::{ApiError, ApiResult};
use crate::extract::auth::{generate_token, hash_token};
use crate::extract::{ApiCaller, ApiJson, ApiPath};
use crate::state::AppState;
use crate::wire::native as wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{CreateToken, CreatedToken, ErrorBody, TokenInfo};
use ferry_domain::{Scope, TokenId};
use ferry_store::model::NewToken;
use ferry_store::StoreError;

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<CreateToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    caller.require(Scope::Admin)?;
    let name = req.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::invalid("name must be 1 to 100 characters"));
    }
    if req.scopes.is_empty() {
        return Err(ApiError::invalid(
            "scopes must name at least one of admin, write, read, ingest",
        ));
    }
    let mut scopes = req
        .scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    scopes.sort();
    scopes.dedup();
    let secret = generate_token();
    let token = state
        .store
        .create_token(NewToken {
            name: name.to_owned(),
            scopes,
            token_hash: hash_token(&secret),
        })
        .await?;
    let info = wire::token(&token);
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: info.id,
            name: info.name,
            scopes: info.scopes,
            created_at: info.created_at,
            token: secret,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenInfo]), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<TokenInfo>>> {
    caller.require(Scope::Admin)?;
    let tokens = state.store.list_tokens().await?;
    Ok(Json(tokens.iter().map(wire::token).collect()))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "token id")),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::not_found("token"))?;
    match state.store.delete_token(TokenId(id)).await {
        Ok(()) => {
            state.tokens.forget(|t| t.id == TokenId(id));
            Ok(StatusCode::NO_CONTENT)
        }
        Err(StoreError::NotFound) => Err(ApiError::not_found("token")),
        Err(e) => Err(e.into()),
    }
}
