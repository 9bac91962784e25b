//! Request bodies. Bodies are read whole (bounded by the body limit) and parsed here, so a
//! too-large body is `413`, invalid JSON is `400` and a NUL character is refused, in the
//! family's own format, before any handler logic runs. `Content-Type` is not checked: real
//! senders often omit it.
//!
//! NUL (`\u0000`) is refused in every string of a body, keys included: PostgreSQL's `text`
//! cannot store it (a write would fail as a 500), and no field of either API needs it.
//! Checking the parsed body here covers every field, present and future, in one place.

use crate::error::{ApiError, GhError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, StatusCode> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| rejection.status())
}

/// The top-level field of `fields` that holds a NUL anywhere (in its name or value).
/// serde_json bounds nesting (128 levels), which bounds the recursion.
fn field_with_nul(fields: &Map<String, Value>) -> Option<&str> {
    fn has_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
            _ => false,
        }
    }
    fields
        .iter()
        .find(|(k, v)| k.contains('\0') || has_nul(v))
        .map(|(k, _)| k.as_str())
}

/// A GitHub-compatible request body: a JSON object (an empty body counts as `{}`), with the
/// raw bytes kept for fields echoed verbatim.
pub struct GhBody {
    pub fields: Map<String, Value>,
    pub raw: Bytes,
}

/// Why a GitHub-compatible body was refused. Handlers take `Result<GhBody, GhBodyError>` and
/// answer with [`GhBodyError::answer`], so the error carries their operation's docs link like
/// their other errors (§2.7); the extractor alone does not know the operation.
#[derive(Debug)]
pub enum GhBodyError {
    TooLarge,
    Unreadable,
    InvalidJson,
    NotAnObject,
    /// This top-level field holds a NUL.
    Nul(String),
}

impl GhBodyError {
    /// The error as the operation documented at `doc`, on `resource`, answers it.
    pub fn answer(self, resource: &str, doc: &'static str) -> GhError {
        let bad_request = |m: &str| GhError::new(StatusCode::BAD_REQUEST, m);
        let err = match self {
            GhBodyError::TooLarge => {
                GhError::new(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large")
            }
            GhBodyError::Unreadable => bad_request("Problems reading the request body"),
            GhBodyError::InvalidJson => bad_request("Problems parsing JSON"),
            GhBodyError::NotAnObject => bad_request("Body should be a JSON object"),
            GhBodyError::Nul(field) => GhError::custom(
                resource,
                &field,
                format!("{field} must not contain NUL (\\u0000) characters"),
            ),
        };
        err.doc(doc)
    }
}

/// Only reached by a handler that takes [`GhBody`] directly, without its operation.
impl IntoResponse for GhBodyError {
    fn into_response(self) -> Response {
        self.answer("Request", crate::error::DOCS_ROOT)
            .into_response()
    }
}

impl<S: Send + Sync> FromRequest<S> for GhBody {
    type Rejection = GhBodyError;

    async fn from_request(req: Request, state: &S) -> Result<Self, GhBodyError> {
        let raw = read(req, state).await.map_err(|status| {
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                GhBodyError::TooLarge
            } else {
                GhBodyError::Unreadable
            }
        })?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(GhBody {
                fields: Map::new(),
                raw: Bytes::from_static(b"{}"),
            });
        }
        match serde_json::from_slice::<Value>(&raw) {
            Ok(Value::Object(fields)) => match field_with_nul(&fields) {
                Some(field) => Err(GhBodyError::Nul(field.to_owned())),
                None => Ok(GhBody { fields, raw }),
            },
            Ok(Value::Null) => Ok(GhBody {
                fields: Map::new(),
                raw: Bytes::from_static(b"{}"),
            }),
            Ok(_) => Err(GhBodyError::NotAnObject),
            Err(_) => Err(GhBodyError::InvalidJson),
        }
    }
}

/// A `/api/v1` JSON body deserialised into `T`; serde's message (which names the field) is
/// passed on in the `400`.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let raw = read(req, state).await.map_err(|status| {
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "payload_too_large", "the request body is too large")
            } else {
                ApiError::invalid("the request body could not be read")
            }
        })?;
        let invalid_json = |e: serde_json::Error| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string())
        };
        // Through a `Value` first, to find a NUL in any field before `T` is built.
        let value: Value = serde_json::from_slice(&raw).map_err(invalid_json)?;
        if let Some(field) = value.as_object().and_then(field_with_nul) {
            return Err(ApiError::invalid(format!(
                "{field} must not contain NUL (\\u0000) characters"
            )));
        }
        T::deserialize(value).map(ApiJson).map_err(invalid_json)
    }
}

#[cfg(test)]
mod tests {
    use super::field_with_nul;
    use serde_json::json;

    #[test]
    fn nul_is_found_anywhere_and_named_by_its_top_level_field() {
        let find = |v: serde_json::Value| v.as_object().and_then(field_with_nul).map(str::to_owned);
        assert_eq!(
            find(json!({"ref": "main", "task": "a\u{0}"})),
            Some("task".into())
        );
        assert_eq!(
            find(json!({"payload": {"k": ["x", "\u{0}"]}})),
            Some("payload".into())
        );
        assert_eq!(
            find(json!({"payload": {"k\u{0}": 1}})),
            Some("payload".into())
        );
        assert_eq!(find(json!({"a\u{0}": 1})), Some("a\u{0}".into()));
        // An escaped backslash followed by `u0000` is six ordinary characters.
        let v: serde_json::Value = serde_json::from_str(r#"{"d":"\\u0000"}"#).expect("json");
        assert_eq!(find(v), None);
        assert_eq!(find(json!({"ref": "main", "n": 1, "b": null})), None);
    }
}
