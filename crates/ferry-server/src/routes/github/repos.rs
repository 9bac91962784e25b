//! `GET /repos/{owner}/{repo}`: the minimal repository object PyGithub's `get_repo` needs.

use super::{json, load_repo};
use crate::error::{GhError, GhResult};
use crate::extract::{GhCaller, GhPath};
use crate::state::AppState;
use crate::wire::github as wire;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use ferry_domain::Scope;

const DOC: &str = "https://docs.github.com/rest/repos/repos#get-a-repository";

pub async fn get(
    State(state): State<AppState>,
    caller: GhCaller,
    path: Result<GhPath<(String, String)>, GhError>,
) -> GhResult<Response> {
    caller.require(Scope::Read).map_err(|e| e.doc(DOC))?;
    let GhPath((owner, name)) = path.map_err(|e| e.doc(DOC))?;
    let repo = load_repo(&state, &owner, &name)
        .await
        .map_err(|e| e.doc(DOC))?;
    json(StatusCode::OK, &wire::repository(&state.urls, &repo))
}
