//! The one error type of the domain: a value or a transition that the rules refuse.
//!
//! Each variant names the rule, so the HTTP layer can map it to the right status code and the
//! error body of its API family without parsing messages.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A value could not be parsed; `field` names the input, `reason` says what is wrong.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
