//! `GET /api/v1/dora` and `GET /api/v1/dora/series`: the four DORA metrics of spec/dora.md.
//!
//! Query: `from`, `to` (whole UTC days, inclusive; default the last 90 days), `service`
//! (name or alias, repeatable), `environment`, `benchmark` (`2023` default, `2021`), and for
//! the series `bucket` (`week` or `month`). Any bad parameter is a 400 naming it.

use crate::dora::ReportScope;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiCaller;
use crate::routes::query_pairs;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use ferry_api_types::native::ErrorBody;
use ferry_domain::dora::{self, Benchmark, Bucket, DoraRange};
use ferry_domain::{DomainError, Scope};
use serde_json::{json, Value};

fn one<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn invalid(e: DomainError) -> ApiError {
    match e {
        DomainError::Invalid { field, reason } => ApiError::invalid(format!("{field}: {reason}")),
    }
}

/// The scope asked for, and the `scope` object of the answer.
async fn scope(state: &AppState, pairs: &[(String, String)]) -> ApiResult<(ReportScope, Value)> {
    let today = time::OffsetDateTime::now_utc().date();
    let range = DoraRange::parse(one(pairs, "from"), one(pairs, "to"), today).map_err(invalid)?;
    let benchmark = match one(pairs, "benchmark") {
        Some(b) => Benchmark::parse(b).map_err(invalid)?,
        None => Benchmark::default(),
    };
    let mut services = Vec::new();
    let mut names = Vec::new();
    for (_, name) in pairs.iter().filter(|(k, _)| k == "service") {
        let found = if name.contains('\0') || name.trim().is_empty() {
            None
        } else {
            state.store.service_by_name(name).await?
        };
        let service =
            found.ok_or_else(|| ApiError::invalid(format!("service: unknown service {name:?}")))?;
        if !services.contains(&service.id) {
            services.push(service.id);
            names.push(service.name);
        }
    }
    let environment = match one(pairs, "environment") {
        Some(e) if e.trim().is_empty() || e.contains('\0') => {
            return Err(ApiError::invalid("environment: must not be empty"))
        }
        Some(e) => Some(e.trim().to_lowercase()),
        None => None,
    };
    let environments: Vec<String> = match &environment {
        Some(e) => vec![e.clone()],
        None => ["production", "prod", "prd"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain(state.dora.extra_production.iter().cloned())
            .collect(),
    };
    let scope_json = json!({"services": names, "environments": environments});
    Ok((
        ReportScope {
            range,
            benchmark,
            services,
            environment,
        },
        scope_json,
    ))
}

/// Puts `scope` right after `benchmark`, as dora.md's example shows it.
fn with_scope(report: Value, scope: Value) -> Value {
    let Value::Object(fields) = report else {
        return report;
    };
    let mut out = serde_json::Map::new();
    for (k, v) in fields {
        let after = k == "benchmark";
        out.insert(k, v);
        if after {
            out.insert("scope".into(), scope.clone());
        }
    }
    Value::Object(out)
}

#[utoipa::path(get, path = "/api/v1/dora", tag = "dora",
    params(
        ("from" = Option<String>, Query, description = "first UTC day, YYYY-MM-DD (default: 89 days before `to`)"),
        ("to" = Option<String>, Query, description = "last UTC day, inclusive (default: today)"),
        ("service" = Option<String>, Query, description = "a service name or alias; repeatable"),
        ("environment" = Option<String>, Query, description = "default: every production-class environment"),
        ("benchmark" = Option<String>, Query, description = "2023 (default) or 2021"),
    ),
    responses((status = 200, description = "the report of spec/dora.md"),
        (status = 400, body = ErrorBody)))]
pub async fn report(
    State(state): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let pairs = query_pairs(raw.as_deref());
    let (scope, scope_json) = scope(&state, &pairs).await?;
    let input = state.dora.input(&scope, None).await?;
    let report = dora::report(&input);
    let value = serde_json::to_value(&report).map_err(ApiError::internal)?;
    Ok(Json(with_scope(value, scope_json)))
}

#[utoipa::path(get, path = "/api/v1/dora/series", tag = "dora",
    params(
        ("bucket" = String, Query, description = "week (Monday to Sunday, UTC) or month"),
        ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("service" = Option<String>, Query), ("environment" = Option<String>, Query),
        ("benchmark" = Option<String>, Query),
    ),
    responses((status = 200, description = "`{from, to, benchmark, scope, bucket, buckets: [{start, end, <the four metrics>}]}`"),
        (status = 400, body = ErrorBody)))]
pub async fn series(
    State(state): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read)?;
    let pairs = query_pairs(raw.as_deref());
    let bucket = match one(&pairs, "bucket") {
        Some(b) => Bucket::parse(b).map_err(invalid)?,
        None => return Err(ApiError::invalid("bucket: required, week or month")),
    };
    let (scope, scope_json) = scope(&state, &pairs).await?;
    let input = state.dora.input(&scope, Some(bucket)).await?;
    let buckets = dora::series(&input, bucket);
    Ok(Json(json!({
        "from": scope.range.from().to_string(),
        "to": scope.range.to().to_string(),
        "benchmark": scope.benchmark.as_str(),
        "scope": scope_json,
        "bucket": bucket.as_str(),
        "buckets": buckets,
    })))
}
