//! Path parameters. axum percent-decodes them and refuses a segment that is not UTF-8 with a
//! plain-text 400; such a segment names nothing ferry stores, so here it is a 404 in the
//! family's format, like any other unknown name.

use crate::error::{ApiError, GhError};
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Path parameters of a GitHub-compatible route. Handlers take `Result<GhPath<T>, GhError>`
/// and add their operation's docs link to the 404 (§2.7).
pub struct GhPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for GhPath<T> {
    type Rejection = GhError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, GhError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(GhPath(t)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(GhError::not_found()),
            // The route table and the handler disagree: ferry's bug, not the client's.
            Err(other) => Err(GhError::internal(other.body_text())),
        }
    }
}

/// Path parameters of an `/api/v1` route.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(ApiPath(t)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(ApiError::not_found("resource"))
            }
            Err(other) => Err(ApiError::internal(other.body_text())),
        }
    }
}
