//! [`StoreError`]: what every store method may fail with.
//!
//! Strategy: backends map driver errors into these few variants (unique violations become
//! `Conflict`, lost connections `Unavailable`), so callers never see sqlx. Rule refusals that
//! depend on stored data (an active deployment cannot be deleted, failing required contexts)
//! are their own variants, because the API answers them with specific bodies.

use ferry_domain::CommitState;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// The deployment is active and not the only one: it may not be deleted.
    #[error("deployment is active")]
    DeploymentActive,
    /// Required contexts are not all `success`; every checked context with its state.
    #[error("required contexts failed")]
    ContextsFailed(Vec<(String, CommitState)>),
    /// A per-sha, per-context limit was reached.
    #[error("limit reached: {0}")]
    LimitReached(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Other(e.to_string()),
        }
    }
}

impl From<ferry_domain::DomainError> for StoreError {
    fn from(e: ferry_domain::DomainError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
