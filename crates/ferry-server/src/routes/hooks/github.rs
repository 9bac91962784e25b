//! `POST /webhooks/github` (compat/github.md §5).
//!
//! Order of work: the event and delivery headers; the body as JSON or as a form's `payload=`;
//! the signature over the raw bytes, checked in constant time against the installation-wide
//! secret or the secret of the repository the payload names (decision D16: no secret, no
//! hook); then the delivery is recorded by its `X-GitHub-Delivery` guid (a repeat is answered
//! `duplicate` and changes nothing) and handled (`events::inbound`). A rejected request
//! leaves nothing but the `ferry_github_webhook_rejected_total` counter.

use crate::events::inbound::{self, Claim, Outcome};
use crate::events::signature::verify;
use crate::routes::query_pairs;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ferry_domain::RepoSlug;
use ferry_store::model::GithubDelivery;
use serde_json::{json, Value};

fn answer(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

fn rejected(status: StatusCode, reason: &'static str, message: &str) -> Response {
    metrics::counter!("ferry_github_webhook_rejected_total", "reason" => reason).increment(1);
    answer(status, json!({ "message": message }))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The JSON text of the body: itself, or the `payload` field of a form.
fn json_bytes(headers: &HeaderMap, body: &Bytes) -> Option<Vec<u8>> {
    let form = header(headers, "content-type").is_some_and(|ct| {
        ct.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form {
        return Some(body.to_vec());
    }
    let text = std::str::from_utf8(body).ok()?;
    query_pairs(Some(text))
        .into_iter()
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_bytes())
}

pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(event) = header(&headers, "x-github-event").map(str::to_owned) else {
        return rejected(
            StatusCode::BAD_REQUEST,
            "headers",
            "X-GitHub-Event is missing",
        );
    };
    let Some(guid) = header(&headers, "x-github-delivery").map(str::to_owned) else {
        return rejected(
            StatusCode::BAD_REQUEST,
            "headers",
            "X-GitHub-Delivery is missing",
        );
    };
    let Some(signature) = header(&headers, "x-hub-signature-256").map(str::to_owned) else {
        return rejected(
            StatusCode::UNAUTHORIZED,
            "signature",
            "X-Hub-Signature-256 is missing",
        );
    };
    // A 400 has no side effects, so answering it before the signature check tells an
    // unsigned sender nothing it could use.
    let Some(payload) = json_bytes(&headers, &body) else {
        return rejected(
            StatusCode::BAD_REQUEST,
            "body",
            "the form has no payload field",
        );
    };
    let Ok(payload) = serde_json::from_slice::<Value>(&payload) else {
        return rejected(
            StatusCode::BAD_REQUEST,
            "body",
            "the payload is not valid JSON",
        );
    };
    let full_name = payload
        .pointer("/repository/full_name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let repo = match full_name.as_deref().and_then(|n| RepoSlug::parse(n).ok()) {
        Some(slug) => match state.cached_repo(&slug).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error.cause = %e, "github webhook: repository lookup failed");
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"message": "database unavailable"}),
                );
            }
        },
        None => None,
    };
    let secrets: Vec<&str> = [
        state.github_webhook_secret.as_ref().map(|s| s.expose()),
        repo.as_ref()
            .and_then(|r| r.github_webhook_secret.as_deref()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if secrets.is_empty() {
        return rejected(
            StatusCode::UNAUTHORIZED,
            "no_secret",
            "no webhook secret is configured for this repository",
        );
    }
    // Verify against each secret: no early exit that would time which one matched.
    let verified = secrets
        .iter()
        .fold(false, |ok, s| verify(s.as_bytes(), &body, &signature) | ok);
    if !verified {
        return rejected(
            StatusCode::UNAUTHORIZED,
            "signature",
            "X-Hub-Signature-256 does not match",
        );
    }

    let action = payload
        .get("action")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let record = GithubDelivery {
        guid: guid.clone(),
        event: event.clone(),
        action,
        repository: full_name,
        outcome: "received".into(),
        detail: String::new(),
        received_at_ms: ferry_domain::Timestamp::now_millis(),
    };
    let duplicate = || {
        answer(
            StatusCode::OK,
            json!({"delivery": guid, "event": event, "outcome": "duplicate",
                   "detail": "this delivery was received before"}),
        )
    };
    let unavailable = || {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"message": "database unavailable; redeliver later"}),
        )
    };
    let mut claim = Claim::new(record);
    let handled = match inbound::handle(&state, &event, repo.as_ref(), &payload, &mut claim).await {
        Ok(h) => h,
        Err(e) => {
            // Forget it so that GitHub's redelivery is processed.
            tracing::warn!(error.cause = %e, "github webhook: processing failed");
            if claim.taken() {
                let _ = state.store.forget_github_delivery(&guid).await;
            }
            return unavailable();
        }
    };
    if claim.duplicate {
        return duplicate();
    }
    match claim.settle(&state, &handled).await {
        Ok(true) => {}
        Ok(false) => return duplicate(),
        Err(e) => {
            tracing::warn!(error.cause = %e, "github webhook: recording the delivery failed");
            return unavailable();
        }
    }
    let (outcome, detail) = handled;
    let status = match outcome {
        _ if event == "ping" => StatusCode::OK,
        Outcome::Invalid => StatusCode::BAD_REQUEST,
        _ => StatusCode::ACCEPTED,
    };
    answer(
        status,
        json!({"delivery": guid, "event": event, "outcome": outcome.as_str(), "detail": detail}),
    )
}
