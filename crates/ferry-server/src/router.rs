//! The route table: every URL ferry serves, in one place.

use crate::error::{ApiError, GhError};
use crate::routes::github::{commit_statuses, deployments, environments, repos, statuses};
use crate::routes::hooks;
use crate::routes::ingest;
use crate::routes::native;
use crate::routes::ops;
use crate::state::AppState;
use crate::telemetry;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, patch, post};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// GitHub's limit on webhook payloads.
const GITHUB_BODY_LIMIT: usize = 25 * 1024 * 1024;
/// Bulk import bodies: many lines per request keep a backfill's requests few.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;

pub fn build(state: AppState, body_limit: usize) -> Router {
    // GitHub-compatible API (compat/github.md §1: all 15 operations).
    let v3 = Router::new()
        .route("/repos/{owner}/{repo}", get(repos::get))
        .route(
            "/repos/{owner}/{repo}/deployments",
            get(deployments::list).post(deployments::create),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}",
            get(deployments::get).delete(deployments::delete),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses",
            get(statuses::list).post(statuses::create),
        )
        .route(
            "/repos/{owner}/{repo}/deployments/{id}/statuses/{status_id}",
            get(statuses::get),
        )
        .route(
            "/repos/{owner}/{repo}/environments",
            get(environments::list),
        )
        .route(
            "/repos/{owner}/{repo}/environments/{env}",
            get(environments::get)
                .put(environments::put)
                .delete(environments::delete),
        )
        .route(
            "/repos/{owner}/{repo}/statuses/{sha}",
            post(commit_statuses::create),
        )
        .route(
            "/repos/{owner}/{repo}/commits/{*rest}",
            get(commit_statuses::by_ref),
        )
        // Set after the routes: it applies to those already added.
        .method_not_allowed_fallback(|| async {
            GhError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
        })
        .route_layer(middleware::from_fn(telemetry::track))
        .fallback(|| async { GhError::not_found() });

    // ferry's own API.
    let v1 = Router::new()
        .route(
            "/tokens",
            post(native::tokens::create).get(native::tokens::list),
        )
        .route(
            "/tokens/{id}",
            axum::routing::delete(native::tokens::delete),
        )
        .route(
            "/repos",
            post(native::repos::create).get(native::repos::list),
        )
        .route(
            "/repos/{owner}/{repo}",
            get(native::repos::get).patch(native::repos::update),
        )
        .route("/deployments", get(native::deployments::list))
        .route(
            "/integrations",
            post(native::integrations::create).get(native::integrations::list),
        )
        .route(
            "/integrations/{id}",
            axum::routing::delete(native::integrations::delete),
        )
        .route(
            "/integrations/{id}/import",
            post(native::imports::import)
                .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT.max(body_limit))),
        )
        .route(
            "/services",
            post(native::services::create).get(native::services::list),
        )
        .route("/services/suggestions", get(native::services::suggestions))
        .route(
            "/services/suggestions/{id}/accept",
            post(native::services::accept),
        )
        .route(
            "/services/suggestions/{id}/dismiss",
            post(native::services::dismiss),
        )
        .route(
            "/services/{name}",
            get(native::services::get)
                .patch(native::services::update)
                .delete(native::services::delete),
        )
        .route(
            "/incidents",
            get(native::incidents::list).post(native::incidents::create),
        )
        .route("/incidents/{id}", patch(native::incidents::resolve))
        .route("/repos/{owner}/{repo}/pulls", post(native::pulls::create))
        .route(
            "/repos/{owner}/{repo}/auto-deploys",
            get(native::webhooks::auto_deploys),
        )
        .route("/dora", get(native::dora::report))
        .route("/dora/series", get(native::dora::series))
        .route(
            "/webhooks",
            post(native::webhooks::create).get(native::webhooks::list),
        )
        .route(
            "/webhooks/github/deliveries",
            get(native::webhooks::github_deliveries),
        )
        .route(
            "/webhooks/{id}",
            get(native::webhooks::get)
                .patch(native::webhooks::update)
                .delete(native::webhooks::delete),
        )
        .route(
            "/webhooks/{id}/deliveries",
            get(native::webhooks::deliveries),
        )
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}",
            get(native::webhooks::delivery),
        )
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(native::webhooks::redeliver),
        )
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not served on this path",
            )
        })
        .route_layer(middleware::from_fn(telemetry::track))
        .fallback(|| async { ApiError::not_found("route") });

    // Deploy and incident ingestion (compat/ingest.md), each family with its own errors.
    // DevLake answers under four prefixes; the rest of the path is read by the handler.
    let mut ingest = Router::new()
        .route(
            "/integrations/deploy/{uuid}",
            post(ingest::opslevel::deploy),
        )
        .route(
            "/integrations/deploy/{uuid}/",
            post(ingest::opslevel::deploy),
        );
    for prefix in [
        "/api/rest/plugins/webhook",
        "/api/plugins/webhook",
        "/rest/plugins/webhook",
        "/plugins/webhook",
    ] {
        ingest = ingest.route(&format!("{prefix}/{{*rest}}"), post(ingest::devlake::route));
    }
    let ingest = ingest.route_layer(middleware::from_fn(telemetry::track));

    // Signed inbound webhooks: GitHub's payloads may be up to 25 MB.
    let hooks = Router::new()
        .route("/webhooks/github", post(hooks::github::receive))
        .layer(DefaultBodyLimit::max(GITHUB_BODY_LIMIT))
        .route_layer(middleware::from_fn(telemetry::track));

    let root = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi))
        .route_layer(middleware::from_fn(telemetry::track));

    root.merge(ingest)
        .merge(hooks)
        .nest("/api/v3", v3)
        .nest("/api/v1", v1)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::new(telemetry::REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .layer(SetRequestIdLayer::new(
            telemetry::REQUEST_ID,
            MakeRequestUuid,
        ))
        .with_state(state)
}
