//! Request bodies. Bodies are read whole (bounded by the body limit) and parsed here, so a
//! too-large body is `413` and invalid JSON is `400`, in the family's own format, before any
//! handler runs. `Content-Type` is not checked: real senders often omit it.

use crate::error::{ApiError, GhError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, StatusCode> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| rejection.status())
}

/// A GitHub-compatible request body: a JSON object (an empty body counts as `{}`), with the
/// raw bytes kept for fields echoed verbatim.
pub struct GhBody {
    pub fields: Map<String, Value>,
    pub raw: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for GhBody {
    type Rejection = GhError;

    async fn from_request(req: Request, state: &S) -> Result<Self, GhError> {
        let raw = read(req, state).await.map_err(|status| {
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                GhError::new(status, "Payload Too Large")
            } else {
                GhError::new(StatusCode::BAD_REQUEST, "Problems reading the request body")
            }
        })?;
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Ok(GhBody {
                fields: Map::new(),
                raw: Bytes::from_static(b"{}"),
            });
        }
        match serde_json::from_slice::<Value>(&raw) {
            Ok(Value::Object(fields)) => Ok(GhBody { fields, raw }),
            Ok(Value::Null) => Ok(GhBody {
                fields: Map::new(),
                raw: Bytes::from_static(b"{}"),
            }),
            Ok(_) => Err(GhError::new(
                StatusCode::BAD_REQUEST,
                "Body should be a JSON object",
            )),
            Err(_) => Err(GhError::new(
                StatusCode::BAD_REQUEST,
                "Problems parsing JSON",
            )),
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
        serde_json::from_slice(&raw)
            .map(ApiJson)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))
    }
}
