//! The GitHub-compatible API (`/api/v3`): helpers shared by its handlers.
//!
//! Every handler: authenticate ([`GhCaller`](crate::extract::GhCaller)), check the scope
//! (reads need `read`, writes `write`), load the repository (404 when unknown), then act.
//! Bodies are parsed field by field with the helpers below so each mistake becomes GitHub's
//! `422 Validation Failed` naming the field.

pub mod commit_statuses;
pub mod deployments;
pub mod environments;
pub mod repos;
pub mod statuses;

use crate::error::{GhError, GhResult};
use crate::state::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_domain::{Page, RepoSlug, Sha};
use ferry_store::model::Repo;
use serde::Serialize;
use serde_json::{Map, Value};

/// Loads `owner/repo` (case-insensitively); 404 when it is unknown or not a valid name.
pub async fn load_repo(state: &AppState, owner: &str, name: &str) -> GhResult<Repo> {
    let slug = RepoSlug::new(owner, name).map_err(|_| GhError::not_found())?;
    state
        .cached_repo(&slug)
        .await?
        .ok_or_else(GhError::not_found)
}

/// A JSON response with GitHub's content type.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> GhResult<Response> {
    let bytes = serde_json::to_vec(body).map_err(GhError::internal)?;
    let mut res = (status, bytes).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(res)
}

/// A page of items with GitHub's `Link` header.
pub fn paged<T: Serialize>(
    state: &AppState,
    path_and_query: &str,
    page: Page,
    total: u64,
    items: &[T],
) -> GhResult<Response> {
    let mut res = json(StatusCode::OK, &items)?;
    if let Some(link) = state
        .urls
        .link_header(path_and_query, page.page, page.last_page(total))
    {
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

/// Adds a `Location` header.
pub fn with_location(mut res: Response, location: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

/// Field readers over a JSON object body. `null` counts as absent; a value of the wrong type
/// is `422 invalid` for that field.
pub struct Fields<'a> {
    pub map: &'a Map<String, Value>,
    pub resource: &'static str,
    pub doc: &'static str,
}

impl Fields<'_> {
    fn invalid(&self, field: &str) -> GhError {
        GhError::field(self.resource, field, "invalid").doc(self.doc)
    }

    pub fn missing(&self, field: &str) -> GhError {
        GhError::field(self.resource, field, "missing_field").doc(self.doc)
    }

    pub fn present(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    pub fn string(&self, field: &str) -> GhResult<Option<String>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.invalid(field)),
        }
    }

    pub fn required_string(&self, field: &str) -> GhResult<String> {
        match self.string(field)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(self.invalid(field)),
            None => Err(self.missing(field)),
        }
    }

    pub fn bool(&self, field: &str) -> GhResult<Option<bool>> {
        match self.map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            // gh's -F sends typed values, but -f sends strings: accept "true"/"false".
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(self.invalid(field)),
        }
    }

    pub fn error_invalid(&self, field: &str) -> GhError {
        self.invalid(field)
    }
}

/// Resolves a ref to a commit through the repository's mirror. Without a mirror only a full
/// 40-hex sha resolves (decision D13). A fetch that fails (remote gone) is logged and the
/// ref counts as unknown: the client's ref is the problem it hears about.
pub async fn resolve_ref(state: &AppState, repo: &Repo, r: &str) -> GhResult<Option<Sha>> {
    let Some(git_url) = &repo.git_url else {
        return Ok(Sha::parse(r).ok());
    };
    let mirror = state
        .mirrors
        .get(repo.id, &repo.slug.key(), git_url)
        .await
        .map_err(GhError::internal)?;
    match mirror.resolve(r).await {
        Ok(sha) => Ok(sha),
        Err(e) => {
            tracing::warn!(repo = %repo.slug, error.cause = %e, "mirror refresh failed");
            Ok(None)
        }
    }
}
