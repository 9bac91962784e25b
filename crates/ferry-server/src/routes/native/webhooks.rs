//! `/api/v1/webhooks`: subscriptions to deployment events, their delivery log and manual
//! redelivery; `/api/v1/webhooks/github/deliveries`: what GitHub sent ferry. Admin only. A
//! subscription's secret is write-only: no response carries it.

use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiCaller, ApiJson, ApiPath};
use crate::state::AppState;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{
    AttemptInfo, AutoDeployInfo, CreateWebhook, DeliveryInfo, ErrorBody, GithubDeliveryInfo,
    PatchWebhook, WebhookInfo,
};
use ferry_domain::deployment::RequiredContexts;
use ferry_domain::{RepoId, RepoSlug, Scope, Timestamp};
use ferry_store::model::{
    Delivery, DeliveryAttempt, DeliveryState, HookEvent, NewWebhook, Webhook, WebhookPatch,
};

/// Most deliveries one listing returns.
const LIST_LIMIT: u32 = 100;

fn iso_ms(ms: i64) -> String {
    Timestamp::from_unix(ms.div_euclid(1000)).to_github()
}

fn info(h: &Webhook) -> WebhookInfo {
    WebhookInfo {
        id: h.id,
        url: h.url.clone(),
        events: h.events.iter().map(|e| e.as_str().to_owned()).collect(),
        repositories: h.repos.iter().map(RepoSlug::full_name).collect(),
        active: h.active,
        created_at: h.created_at.to_github(),
        updated_at: h.updated_at.to_github(),
    }
}

fn delivery_info(d: &Delivery, log: Option<&[DeliveryAttempt]>) -> DeliveryInfo {
    DeliveryInfo {
        id: d.id,
        guid: d.guid.clone(),
        event: d.event.as_str().to_owned(),
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        last_status_code: d.last_status_code,
        created_at: iso_ms(d.created_at_ms),
        delivered_at: d.delivered_at_ms.map(iso_ms),
        next_attempt_at: (d.state == DeliveryState::Pending).then(|| iso_ms(d.next_attempt_at_ms)),
        log: log.map(|l| {
            l.iter()
                .map(|a| AttemptInfo {
                    at: iso_ms(a.at_ms),
                    status_code: a.status_code,
                    duration_ms: a.duration_ms,
                    error: a.error.clone(),
                })
                .collect()
        }),
    }
}

/// 422 unless `url` is an absolute http(s) URL with a host.
fn check_url(url: &str) -> ApiResult<String> {
    let url = url.trim();
    let parsed = reqwest::Url::parse(url).ok();
    match parsed {
        Some(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            Ok(url.to_owned())
        }
        _ => Err(ApiError::unprocessable(
            "validation_failed",
            "url must be an absolute http:// or https:// URL",
        )),
    }
}

fn check_secret(secret: &str) -> ApiResult<String> {
    if secret.is_empty() || secret.len() > 1024 {
        return Err(ApiError::unprocessable(
            "validation_failed",
            "secret must be 1 to 1024 bytes: every delivery is signed with it",
        ));
    }
    Ok(secret.to_owned())
}

fn parse_events(events: Option<Vec<String>>) -> ApiResult<Vec<HookEvent>> {
    let Some(events) = events else {
        return Ok(vec![HookEvent::Deployment, HookEvent::DeploymentStatus]);
    };
    let mut out = Vec::new();
    for e in events {
        let ev = match e.trim() {
            "deployment" => HookEvent::Deployment,
            "deployment_status" => HookEvent::DeploymentStatus,
            other => {
                return Err(ApiError::unprocessable(
                    "validation_failed",
                    format!("unknown event {other:?}: use deployment, deployment_status"),
                ))
            }
        };
        if !out.contains(&ev) {
            out.push(ev);
        }
    }
    if out.is_empty() {
        return Err(ApiError::unprocessable(
            "validation_failed",
            "events must name at least one event",
        ));
    }
    Ok(out)
}

async fn repo_ids(state: &AppState, names: Vec<String>) -> ApiResult<Vec<RepoId>> {
    let mut ids = Vec::new();
    for n in names {
        let slug = RepoSlug::parse(n.trim()).map_err(|_| {
            ApiError::unprocessable("validation_failed", format!("{n:?} is not owner/name"))
        })?;
        let repo = state.store.repo_by_slug(&slug).await?.ok_or_else(|| {
            ApiError::unprocessable("validation_failed", format!("unknown repository {slug}"))
        })?;
        if !ids.contains(&repo.id) {
            ids.push(repo.id);
        }
    }
    Ok(ids)
}

fn id_of(path: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    path.ok()
        .and_then(|Path(id)| id.parse::<i64>().ok())
        .ok_or_else(|| ApiError::not_found("webhook"))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = WebhookInfo), (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> ApiResult<(StatusCode, Json<WebhookInfo>)> {
    caller.require(Scope::Admin)?;
    let new = NewWebhook {
        url: check_url(&req.url)?,
        secret: check_secret(&req.secret)?,
        events: parse_events(req.events)?,
        repos: repo_ids(&state, req.repositories.unwrap_or_default()).await?,
        active: req.active.unwrap_or(true),
    };
    let hook = state.store.create_webhook(new).await?;
    Ok((StatusCode::CREATED, Json(info(&hook))))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, body = [WebhookInfo])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<WebhookInfo>>> {
    caller.require(Scope::Admin)?;
    let hooks = state.store.list_webhooks().await?;
    Ok(Json(hooks.iter().map(info).collect()))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, body = WebhookInfo), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<WebhookInfo>> {
    caller.require(Scope::Admin)?;
    let id = id_of(path)?;
    let hook = state
        .store
        .webhook(id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(Json(info(&hook)))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path)), request_body = PatchWebhook,
    responses((status = 200, body = WebhookInfo), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<PatchWebhook>,
) -> ApiResult<Json<WebhookInfo>> {
    caller.require(Scope::Admin)?;
    let id = id_of(path)?;
    let patch = WebhookPatch {
        url: req.url.as_deref().map(check_url).transpose()?,
        secret: req.secret.as_deref().map(check_secret).transpose()?,
        events: match req.events {
            Some(e) => Some(parse_events(Some(e))?),
            None => None,
        },
        repos: match req.repositories {
            Some(r) => Some(repo_ids(&state, r).await?),
            None => None,
        },
        active: req.active,
    };
    let hook = state.store.update_webhook(id, patch).await?;
    Ok(Json(info(&hook)))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let id = id_of(path)?;
    state.store.delete_webhook(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, body = [DeliveryInfo]), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Vec<DeliveryInfo>>> {
    caller.require(Scope::Admin)?;
    let id = id_of(path)?;
    if state.store.webhook(id).await?.is_none() {
        return Err(ApiError::not_found("webhook"));
    }
    let list = state.store.list_deliveries(id, LIST_LIMIT).await?;
    Ok(Json(list.iter().map(|d| delivery_info(d, None)).collect()))
}

fn ids_of(path: Result<Path<(String, String)>, PathRejection>) -> ApiResult<(i64, i64)> {
    path.ok()
        .and_then(|Path((h, d))| Some((h.parse::<i64>().ok()?, d.parse::<i64>().ok()?)))
        .ok_or_else(|| ApiError::not_found("delivery"))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}", tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 200, body = DeliveryInfo), (status = 404, body = ErrorBody)))]
pub async fn delivery(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<DeliveryInfo>> {
    caller.require(Scope::Admin)?;
    let (hook, id) = ids_of(path)?;
    let (d, log) = state
        .store
        .delivery(hook, id)
        .await?
        .ok_or_else(|| ApiError::not_found("delivery"))?;
    Ok(Json(delivery_info(&d, Some(&log))))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks", params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    responses((status = 202), (status = 404, body = ErrorBody)))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Admin)?;
    let (hook, id) = ids_of(path)?;
    state
        .store
        .redeliver(hook, id, Timestamp::now_millis())
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(get, path = "/api/v1/webhooks/github/deliveries", tag = "webhooks",
    responses((status = 200, body = [GithubDeliveryInfo])))]
pub async fn github_deliveries(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> ApiResult<Json<Vec<GithubDeliveryInfo>>> {
    caller.require(Scope::Admin)?;
    let list = state.store.list_github_deliveries(LIST_LIMIT).await?;
    Ok(Json(
        list.into_iter()
            .map(|d| GithubDeliveryInfo {
                guid: d.guid,
                event: d.event,
                action: d.action,
                repository: d.repository,
                outcome: d.outcome,
                detail: d.detail,
                received_at: iso_ms(d.received_at_ms),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/repos/{owner}/{repo}/auto-deploys", tag = "webhooks",
    params(("owner" = String, Path), ("repo" = String, Path)),
    responses((status = 200, body = [AutoDeployInfo]), (status = 404, body = ErrorBody)))]
pub async fn auto_deploys(
    State(state): State<AppState>,
    caller: ApiCaller,
    ApiPath((owner, name)): ApiPath<(String, String)>,
) -> ApiResult<Json<Vec<AutoDeployInfo>>> {
    caller.require(Scope::Read)?;
    let repo = super::path_repo(&state, &owner, &name).await?;
    let list = state.store.list_auto_deploys(repo.id, LIST_LIMIT).await?;
    Ok(Json(
        list.into_iter()
            .map(|a| AutoDeployInfo {
                id: a.id,
                environment: a.environment.to_string(),
                sha: a.sha.to_string(),
                git_ref: a.git_ref,
                trigger: a.trigger.as_str().to_owned(),
                state: a.state.as_str().to_owned(),
                required_contexts: match a.required_contexts {
                    RequiredContexts::AllReported => None,
                    RequiredContexts::Skip => Some(Vec::new()),
                    RequiredContexts::Listed(names) => Some(names),
                },
                deployment_id: a.deployment_id.map(|d| d.get()),
                detail: a.detail,
                created_at: iso_ms(a.created_at_ms),
                updated_at: iso_ms(a.updated_at_ms),
            })
            .collect(),
    ))
}
