//! Deploy and incident ingestion (compat/ingest.md), one file per wire family:
//! - [`opslevel`]: `POST /integrations/deploy/<uuid>` (OpsLevel Custom Deploys);
//! - [`devlake`]: `…/plugins/webhook/…` (Apache DevLake incoming webhooks).
//!
//! Each file holds the payload parser (a pure function from bytes to a parsed deploy or the
//! list of field errors, fuzzed in its tests), the handlers, and the family's error body. What
//! both share lives here: reading the body whatever its `Content-Type`, the weak typing of
//! JSON scalars, and hashing the secrets integrations are found by.

pub mod devlake;
pub mod opslevel;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// What an integration's secret (OpsLevel uuid, lower-cased; DevLake key) is stored as.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Why a body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyProblem {
    TooLarge,
    Unreadable,
}

/// The body bytes, or why not: the body limit gives `TooLarge` (→ 413 in the family's format).
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, BodyProblem> {
    body.map_err(|r| {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            BodyProblem::TooLarge
        } else {
            BodyProblem::Unreadable
        }
    })
}

/// Why a body is not a JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonProblem {
    Invalid,
    NotAnObject,
    /// A string holds NUL: no stored text may (PostgreSQL refuses it).
    Nul,
}

/// Parses `raw` as a JSON object, whatever the request's `Content-Type` said.
pub fn json_object(raw: &[u8]) -> Result<Map<String, Value>, JsonProblem> {
    let value: Value = serde_json::from_slice(raw).map_err(|_| JsonProblem::Invalid)?;
    if has_nul(&value) {
        return Err(JsonProblem::Nul);
    }
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JsonProblem::NotAnObject),
    }
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// An object or array where a scalar was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotScalar;

/// A scalar as text (weak typing: `234` → `"234"`, `true` → `"true"`); `null` is `None`.
pub fn scalar(v: &Value) -> Result<Option<String>, NotScalar> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => Err(NotScalar),
    }
}

/// A scalar that is present and not blank, trimmed; `None` for absent, `null`, blank, or not
/// a scalar.
pub fn text(v: Option<&Value>) -> Option<String> {
    let s = scalar(v?).ok()??;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn weak_scalars() {
        assert_eq!(scalar(&json!(234)), Ok(Some("234".into())));
        assert_eq!(scalar(&json!(true)), Ok(Some("true".into())));
        assert_eq!(scalar(&json!(null)), Ok(None));
        assert_eq!(scalar(&json!([1])), Err(NotScalar));
        assert_eq!(text(Some(&json!("  "))), None);
        assert_eq!(text(Some(&json!(" a "))), Some("a".into()));
    }

    #[test]
    fn objects_only() {
        assert!(json_object(b"{}").is_ok());
        assert_eq!(json_object(b"[]"), Err(JsonProblem::NotAnObject));
        assert_eq!(json_object(b"{"), Err(JsonProblem::Invalid));
        assert_eq!(json_object(b""), Err(JsonProblem::Invalid));
        assert_eq!(json_object(br#"{"a":["x\u0000"]}"#), Err(JsonProblem::Nul));
    }
}
