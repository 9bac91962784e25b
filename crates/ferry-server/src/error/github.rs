//! [`GhError`]: errors of the GitHub-compatible API, rendered as GitHub renders them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_api_types::github::{ContextState, ContextsError, ErrorBody, FieldError};
use ferry_domain::CommitState;
use ferry_store::StoreError;

/// `documentation_url` when no operation is known (unknown paths, unserved methods, failed
/// authentication).
pub const DOCS_ROOT: &str = "https://docs.github.com/rest";

#[derive(Debug)]
pub struct GhError {
    status: StatusCode,
    message: String,
    errors: Option<serde_json::Value>,
    doc: &'static str,
}

pub type GhResult<T> = Result<T, GhError>;

impl GhError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> GhError {
        GhError {
            status,
            message: message.into(),
            errors: None,
            doc: DOCS_ROOT,
        }
    }

    /// Sets the operation's documentation link.
    pub fn doc(mut self, doc: &'static str) -> GhError {
        self.doc = doc;
        self
    }

    pub fn not_found() -> GhError {
        GhError::new(StatusCode::NOT_FOUND, "Not Found")
    }

    pub fn unauthenticated() -> GhError {
        GhError::new(StatusCode::UNAUTHORIZED, "Requires authentication")
    }

    pub fn bad_credentials() -> GhError {
        GhError::new(StatusCode::UNAUTHORIZED, "Bad credentials")
    }

    pub fn forbidden() -> GhError {
        GhError::new(
            StatusCode::FORBIDDEN,
            "Resource not accessible by this token: it lacks the required scope",
        )
    }

    /// `422 Validation Failed` with one field error.
    pub fn field(resource: &str, field: &str, code: &str) -> GhError {
        GhError::fields(vec![FieldError {
            resource: resource.into(),
            field: field.into(),
            code: code.into(),
            message: None,
        }])
    }

    /// `422 Validation Failed` with a `custom` field error carrying a message.
    pub fn custom(resource: &str, field: &str, message: impl Into<String>) -> GhError {
        GhError::fields(vec![FieldError {
            resource: resource.into(),
            field: field.into(),
            code: "custom".into(),
            message: Some(message.into()),
        }])
    }

    pub fn fields(errors: Vec<FieldError>) -> GhError {
        GhError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "Validation Failed".into(),
            errors: serde_json::to_value(errors).ok(),
            doc: DOCS_ROOT,
        }
    }

    /// `422` with only a message (GitHub's `validation-error-simple` / `basic-error`).
    pub fn unprocessable(message: impl Into<String>) -> GhError {
        GhError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// The 409 of failing required contexts (compat/github.md §2.7).
    pub fn contexts_failed(git_ref: &str, contexts: Vec<(String, CommitState)>) -> GhError {
        let err = ContextsError {
            contexts: contexts
                .into_iter()
                .map(|(context, state)| ContextState {
                    context,
                    state: state.as_str().into(),
                })
                .collect(),
            resource: "Deployment".into(),
            field: "required_contexts".into(),
            code: "invalid".into(),
        };
        GhError {
            status: StatusCode::CONFLICT,
            message: format!("Conflict: Commit status checks failed for {git_ref}."),
            errors: serde_json::to_value(vec![err]).ok(),
            doc: DOCS_ROOT,
        }
    }

    /// An unexpected failure: the cause is logged here and the client gets a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> GhError {
        tracing::error!(error.cause = %cause, "internal error");
        GhError::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<StoreError> for GhError {
    fn from(e: StoreError) -> GhError {
        match e {
            StoreError::NotFound => GhError::not_found(),
            StoreError::Conflict(m) => GhError::unprocessable(m),
            StoreError::DeploymentActive => {
                GhError::unprocessable(ferry_domain::deployment::DELETE_ACTIVE_MESSAGE)
            }
            StoreError::ContextsFailed(c) => GhError::contexts_failed("", c),
            StoreError::LimitReached(m) => GhError::unprocessable(m),
            StoreError::Unavailable(m) => {
                tracing::error!(error.cause = %m, "database unavailable");
                GhError::new(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
            }
            other => GhError::internal(other),
        }
    }
}

impl IntoResponse for GhError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            message: self.message,
            errors: self.errors,
            documentation_url: self.doc.to_owned(),
            status: self.status.as_u16().to_string(),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut res = (self.status, bytes).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        res
    }
}
