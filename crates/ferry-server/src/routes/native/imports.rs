//! `POST /api/v1/integrations/{id}/import`: bulk backfill of deploys (and DevLake issues)
//! as NDJSON, one payload of the integration's own format per line. Needs the `ingest`
//! scope (which `admin` includes): it posts deploys and nothing else.
//!
//! Idempotent: OpsLevel lines are deduplicated by `dedup_id`, or — when a line has none —
//! by the SHA-256 of the line itself, so importing the same file again creates nothing;
//! DevLake lines upsert on their identity. Nothing is ever deleted. A refused line is
//! reported with its number and writes nothing.
//!
//! A request is read in chunks of [`CHUNK_LINES`] lines, written in file order, each chunk's
//! valid lines in one transaction; the answer comes once every chunk is committed. While
//! the store writes a chunk, the next is parsed and queued behind it, so parsing and writing
//! overlap without reordering anything. A request that fails part way (the store gave up)
//! leaves the chunks before the failure committed: importing the file again is harmless.
//! The body limit of this route is [`IMPORT_BODY_LIMIT`](crate::router::IMPORT_BODY_LIMIT)
//! (`ferry import` sends a file in requests under it).

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
use ferry_store::model::{Ingested, Integration, NewIngestedDeployment, NewIssue};
use ferry_store::traits::Queued;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

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
    // At most two chunks are with the store: one being written, the next queued behind it,
    // while this task parses the one after (see the module doc).
    let mut queued: VecDeque<Queued<Vec<Ingested>>> = VecDeque::new();
    let mut lines = raw.split(|b| *b == b'\n').enumerate().peekable();
    while lines.peek().is_some() {
        let mut batch: Vec<NewIngestedDeployment> = Vec::new();
        let mut issues = Vec::new();
        for (i, line) in lines.by_ref().take(CHUNK_LINES) {
            let line = line.trim_ascii();
            if line.is_empty() {
                continue;
            }
            result.lines += 1;
            let number = i as u64 + 1;
            let refused = match parse_line(&integration, line, now) {
                Ok(Parsed::Deployment(d)) => {
                    batch.push(*d);
                    continue;
                }
                Ok(Parsed::Issue(issue)) => {
                    issues.push(*issue);
                    continue;
                }
                Err(message) => message,
            };
            result.errors.push(ImportError {
                line: number,
                message: refused,
            });
        }
        if !batch.is_empty() {
            queued.push_back(state.store.queue_deployments(batch).await?);
            if queued.len() > 1 {
                if let Some(oldest) = queued.pop_front() {
                    tally(&mut result, oldest.await?);
                }
            }
        }
        for issue in issues {
            state.store.upsert_issue(issue).await?;
            result.created += 1;
        }
    }
    while let Some(next) = queued.pop_front() {
        tally(&mut result, next.await?);
    }
    Ok(Json(result))
}

/// Lines parsed before a chunk goes to the store: a chunk is one transaction (on SQLite;
/// PostgreSQL writes it in smaller ones, see `IngestStore::queue_deployments`). Large: on
/// SQLite each commit writes every page the chunk changed, and a backfill's deploys touch
/// the same index pages again and again. A chunk holds the SQLite writer for up to about a
/// second; live posts queue behind it (docs/benchmarks.md).
const CHUNK_LINES: usize = 50_000;

/// What one line of an import holds.
enum Parsed {
    Deployment(Box<NewIngestedDeployment>),
    Issue(Box<NewIssue>),
}

/// Parses a line of the integration's format; why it is refused, if it is.
fn parse_line(integration: &Integration, line: &[u8], now: Timestamp) -> Result<Parsed, String> {
    let deployment = |d| Ok(Parsed::Deployment(Box::new(d)));
    match integration.kind {
        IntegrationKind::OpsLevel => {
            let mut d = opslevel::parse(line).map_err(|errors| {
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.title, e.detail))
                    .collect::<Vec<_>>()
                    .join("; ")
            })?;
            if d.dedup_id.is_none() {
                d.dedup_id = Some(format!("import:{}", line_key(line)));
            }
            opslevel::check_deployer(integration, &d)
                .map_err(|e| format!("{}: {}", e.title, e.detail))?;
            deployment(opslevel::to_new(integration, d))
        }
        IntegrationKind::DevLake if devlake::is_issue(line) => {
            match devlake::parse_issue(line, integration.id, now) {
                Ok(issue) => Ok(Parsed::Issue(Box::new(issue))),
                Err(e) => Err(e.causes.join("; ")),
            }
        }
        IntegrationKind::DevLake => match devlake::parse_deployment(line, now) {
            Ok(d) => deployment(devlake::to_new(integration.id, d)),
            Err(e) if e.causes.is_empty() => Err(e.message),
            Err(e) => Err(e.causes.join("; ")),
        },
    }
}

fn tally(result: &mut ImportResult, outcomes: Vec<Ingested>) {
    for outcome in outcomes {
        match outcome {
            Ingested::Created { .. } => result.created += 1,
            Ingested::Updated { .. } => result.updated += 1,
            Ingested::Duplicate => result.duplicates += 1,
        }
    }
}

/// The line's SHA-256: its identity when it carries no `dedup_id`.
fn line_key(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}
