//! Token authentication: `Authorization: token T` or `Bearer T` (scheme case-insensitive).
//!
//! Tokens are stored as SHA-256 hashes and looked up by hash: the secret is never stored or
//! compared, and a lookup by the hash of a 190-bit random token reveals nothing through timing.

use crate::error::{ApiError, GhError};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use ferry_domain::Scope;
use ferry_store::model::{Actor, Token};
use ferry_store::StoreError;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Prefix of every token ferry issues, so secret scanners can spot them.
pub const TOKEN_PREFIX: &str = "ferry_";

/// A fresh random token (32 alphanumerics ≈ 190 bits).
pub fn generate_token() -> String {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    format!("{TOKEN_PREFIX}{body}")
}

/// What the store keeps instead of the token.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: Token,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        self.token.actor()
    }

    pub fn has(&self, needed: Scope) -> bool {
        Scope::any_grants(&self.token.scopes, needed)
    }
}

enum AuthFailure {
    Missing,
    Bad,
    Store(StoreError),
}

fn bearer(parts: &Parts) -> Result<&str, AuthFailure> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(AuthFailure::Missing)?
        .to_str()
        .map_err(|_| AuthFailure::Bad)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthFailure::Bad)?;
    if scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer") {
        Ok(token.trim())
    } else {
        Err(AuthFailure::Bad)
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, AuthFailure> {
    let hash = hash_token(bearer(parts)?);
    if let Some(token) = state.tokens.get(&hash) {
        return Ok(Caller { token });
    }
    match state.store.token_by_hash(&hash).await {
        Ok(Some(token)) => {
            state.tokens.put(hash, token.clone());
            Ok(Caller { token })
        }
        Ok(None) => Err(AuthFailure::Bad),
        Err(e) => Err(AuthFailure::Store(e)),
    }
}

/// A caller of the GitHub-compatible API; rejections are GitHub-shaped.
pub struct GhCaller(pub Caller);

impl GhCaller {
    /// `403` unless the token grants `needed`.
    pub fn require(&self, needed: Scope) -> Result<&Caller, GhError> {
        if self.0.has(needed) {
            Ok(&self.0)
        } else {
            Err(GhError::forbidden())
        }
    }
}

impl FromRequestParts<AppState> for GhCaller {
    type Rejection = GhError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, GhError> {
        match authenticate(parts, state).await {
            Ok(c) => Ok(GhCaller(c)),
            Err(AuthFailure::Missing) => Err(GhError::unauthenticated()),
            Err(AuthFailure::Bad) => Err(GhError::bad_credentials()),
            Err(AuthFailure::Store(e)) => Err(e.into()),
        }
    }
}

/// A caller of ferry's own API; rejections are `{"error": …}`.
pub struct ApiCaller(pub Caller);

impl ApiCaller {
    /// `403` unless the token grants `needed`.
    pub fn require(&self, needed: Scope) -> Result<&Caller, ApiError> {
        if self.0.has(needed) {
            Ok(&self.0)
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the {needed} scope"
            )))
        }
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await {
            Ok(c) => Ok(ApiCaller(c)),
            Err(AuthFailure::Missing) => Err(ApiError::unauthenticated(
                "authentication required: send Authorization: token <T>",
            )),
            Err(AuthFailure::Bad) => Err(ApiError::unauthenticated("bad credentials")),
            Err(AuthFailure::Store(e)) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate_token();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 32);
        assert_ne!(a, generate_token());
        assert_eq!(hash_token("x").len(), 64);
        assert_ne!(hash_token(&a), a);
    }
}
