//! `POST /api/v1/integrations/{id}/import`: bulk backfill of deploys (and DevLake issues)
//! as NDJSON, one payload of the integration's own format per line. Needs the `ingest`
//! scope (which `admin` includes): it posts deploys and nothing else.
//!
//! Idempotent: OpsLevel lines are deduplicated by `dedup_id`, or — when a line has none —
//! by the SHA-256 of the line itself, so importing the same file again creates nothing;
//! DevLake lines upsert on their identity. Nothing is ever deleted. Valid lines of a
//! request are written in one transaction; a refused line is reported with its number and
//! writes nothing (`ferry import` sends a file in batches under the body limit).

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiCaller;
use crate::routes::ingest::{devlake, opslevel};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use ferry_api_types::native::{ErrorBody, ImportError, ImportResult};
use ferry_domain::ingest::IntegrationKind;
use ferry_domain::{IntegrationId, Scope, Timestamp};
use ferry_store::model::{Ingested, NewIngestedDeployment};
use sha2::{Digest, Sha256};

#[utoipa::path(post, path = "/api/v1/integrations/{id}/import", tag = "integrations",
    params(("id" = i64, Path, description = "integration id")),
    request_body(content = String, content_type = "application/x-ndjson",
        description = "one payload of the integration's format per line"),
    responses((status = 200, body = ImportResult), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    caller: ApiCaller,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<ImportResult>> {
    caller.require(Scope::Ingest)?;
    let id = path
        .ok()
        .and_then(|Path(id)| id.parse::<i64>().ok())
        .ok_or_else(|| ApiError::not_found("integration"))?;
    let integration = state
        .store
        .integration(IntegrationId(id))
        .await?
        .ok_or_else(|| ApiError::not_found("integration"))?;
    let raw = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                r.status(),
                "payload_too_large",
                "the request body is too large: send fewer lines per request",
            )
        } else {
            ApiError::invalid("the request body could not be read")
        }
    })?;
    let now = Timestamp::now();
    let mut result = ImportResult::default();
    let mut batch: Vec<NewIngestedDeployment> = Vec::new();
    let mut issues = Vec::new();
    for (i, line) in raw.split(|b| *b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        result.lines += 1;
        let number = i as u64 + 1;
        let refuse = |message: String| ImportError {
            line: number,
            message,
        };
        match integration.kind {
            IntegrationKind::OpsLevel => match opslevel::parse(line) {
                Ok(mut d) => {
                    if d.dedup_id.is_none() {
                        d.dedup_id = Some(format!("import:{}", line_key(line)));
                    }
                    match opslevel::check_deployer(&integration, &d) {
                        Ok(()) => batch.push(opslevel::to_new(&integration, d)),
                        Err(e) => result
                            .errors
                            .push(refuse(format!("{}: {}", e.title, e.detail))),
                    }
                }
                Err(errors) => result.errors.push(refuse(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.title, e.detail))
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
            },
            IntegrationKind::DevLake if devlake::is_issue(line) => {
                match devlake::parse_issue(line, integration.id, now) {
                    Ok(issue) => issues.push(issue),
                    Err(e) => result.errors.push(refuse(e.causes.join("; "))),
                }
            }
            IntegrationKind::DevLake => match devlake::parse_deployment(line, now) {
                Ok(d) => batch.push(devlake::to_new(integration.id, d)),
                Err(e) => result.errors.push(refuse(if e.causes.is_empty() {
                    e.message
                } else {
                    e.causes.join("; ")
                })),
            },
        }
    }
    if !batch.is_empty() {
        for outcome in state.store.ingest_deployments(batch).await? {
            match outcome {
                Ingested::Created { .. } => result.created += 1,
                Ingested::Updated { .. } => result.updated += 1,
                Ingested::Duplicate => result.duplicates += 1,
            }
        }
    }
    for issue in issues {
        state.store.upsert_issue(issue).await?;
        result.created += 1;
    }
    Ok(Json(result))
}

/// The line's SHA-256: its identity when it carries no `dedup_id`.
fn line_key(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}
