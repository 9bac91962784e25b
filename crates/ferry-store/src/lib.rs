//! ferry's persistence.
//!
//! Map:
//! - [`traits`]: the narrow store traits (`TokenStore`, `RepoStore`, `DeploymentStore`,
//!   `IngestStore`, `DoraStore`, `WebhookStore`, `GithubStore`, …) and
//!   [`Store`], their union. The server only sees these.
//! - [`model`]: records returned and inputs taken, in domain types.
//! - [`error`]: [`StoreError`], the only error callers see.
//! - `sql`: the one implementation, [`SqlStore`]. Its queries are written once in the SQL
//!   subset SQLite and PostgreSQL share (`$N` parameters, `RETURNING`, `ON CONFLICT`) and run
//!   through sqlx's `Any` driver; everything dialect-specific (connection tuning, migrations,
//!   locking) lives in `sql/sqlite.rs` and `sql/postgres.rs`, with the schemas in
//!   `migrations/{sqlite,postgres}`.
//! - [`testing`]: fresh per-test databases on both backends, for this crate's tests and others'.

pub mod error;
pub mod model;
mod sql;
pub mod testing;
pub mod traits;

pub use error::{StoreError, StoreResult};
pub use sql::{connect, migrate, SqlStore};
pub use traits::{
    CommitStatusStore, DeploymentStore, DoraStore, EnvironmentStore, GithubStore, IngestStore,
    RepoStore, Store, TokenStore, WebhookStore,
};
