//! Handlers, one file per resource, grouped by API family:
//! - [`github`]: `/api/v3`, GitHub-compatible (compat/github.md).
//! - [`native`]: `/api/v1`, ferry's own API.
//! - [`ingest`]: deploy and incident ingestion, OpsLevel- and DevLake-compatible.
//! - [`hooks`]: signed inbound webhooks (`/webhooks/github`).
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, `/api/openapi.json`.
//!
//! The route table itself is `crate::router`.

pub mod github;
pub mod hooks;
pub mod ingest;
pub mod native;
pub mod ops;

use ferry_store::model::DeploymentFilter;
use std::collections::HashMap;

/// Whether a deployment filter surely matches nothing because a text value holds NUL: no
/// stored text does (bodies refuse it), and PostgreSQL refuses NUL even as a query parameter,
/// so such a filter is answered as empty without asking the store.
pub fn matches_nothing(filter: &DeploymentFilter) -> bool {
    [
        &filter.sha,
        &filter.git_ref,
        &filter.task,
        &filter.environment,
    ]
    .into_iter()
    .flatten()
    .any(|v| v.contains('\0'))
}

/// Parses a query string leniently: a stray `%` stays literal, pairs that do not
/// decode to UTF-8 are skipped, the last value wins.
pub fn query_map(raw: Option<&str>) -> HashMap<String, String> {
    query_pairs(raw).into_iter().collect()
}

/// Every `key=value` pair of a query string in order, decoded as [`query_map`] does; for
/// parameters that repeat (`service=a&service=b`).
pub fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        urlencoding::decode(&s.replace('+', " "))
            .map(|c| c.into_owned())
            .ok()
    };
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// An optional time of a `/api/v1` request body: RFC 3339, no zone = UTC (the lenient
/// forms ingestion accepts); a bad one is `400` naming the field.
pub fn body_time(
    field: &str,
    value: Option<&str>,
) -> Result<Option<ferry_domain::Timestamp>, crate::error::ApiError> {
    value
        .map(|v| {
            ferry_domain::ingest::parse_ingest_time(v).ok_or_else(|| {
                crate::error::ApiError::invalid(format!(
                    "{field} must be an RFC 3339 time, got {v:?}"
                ))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_parsing() {
        let q = super::query_map(Some(
            "environment=review%2Fpr-1&per_page=2&x&ref=a+b&lit=%ZZ&bad=%FF",
        ));
        assert_eq!(
            q.get("environment").map(String::as_str),
            Some("review/pr-1")
        );
        assert_eq!(q.get("ref").map(String::as_str), Some("a b"));
        assert_eq!(q.get("x").map(String::as_str), Some(""));
        assert_eq!(q.get("lit").map(String::as_str), Some("%ZZ"));
        assert!(!q.contains_key("bad"));
    }
}
