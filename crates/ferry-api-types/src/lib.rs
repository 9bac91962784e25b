//! Wire types of ferry's HTTP API families: plain serde structs, no logic.
//!
//! Map:
//! - [`github`]: the GitHub-compatible `/api/v3` objects (compat/github.md §2.6) and GitHub's
//!   error body.
//! - [`native`]: ferry's own `/api/v1` requests and responses, with utoipa schemas from which
//!   `/api/openapi.json` is generated.
//!
//! The server converts store records into these; the CLI deserialises them.

pub mod github;
pub mod native;
