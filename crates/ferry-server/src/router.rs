//! The route table: every URL ferry serves, in one place.

use crate::error::{ApiError, GhError};
use crate::routes::github::{commit_statuses, deployments, environments, repos, statuses};
use crate::routes::native;
use crate::routes::ops;
use crate::state::AppState;
use crate::telemetry;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

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
        .route("/repos/{owner}/{repo}", get(native::repos::get))
        .route("/deployments", get(native::deployments::list))
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this method is not served on this path",
            )
        })
        .route_layer(middleware::from_fn(telemetry::track))
        .fallback(|| async { ApiError::not_found("route") });

    let root = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi))
        .route_layer(middleware::from_fn(telemetry::track));

    root.nest("/api/v3", v3)
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
