//! ferry's HTTP server.
//!
//! Map (request path, outside in):
//! - [`startup`]: build the [`App`] from a [`Config`]: store, migrations, admin token, bind.
//! - [`router`]: the one route table.
//! - [`telemetry`]: request ids, logs, Prometheus metrics.
//! - [`extract`]: typed extractors (who is calling, request bodies) failing in the family's
//!   error format.
//! - [`routes`]: handlers, a file per resource: `routes/github` (`/api/v3`, GitHub-compatible),
//!   `routes/native` (`/api/v1`), `routes/ops` (health, metrics, OpenAPI).
//! - [`wire`]: store records → wire types of each family; [`urls`]: absolute URLs and `Link`.
//! - [`error`]: one error type per API family and the error strategy.
//! - [`git`]: git mirrors and in-memory ref resolution.
//! - [`dora`]: DORA change data upkeep (mirror walks) and report inputs.
//! - [`events`]: GitHub webhooks in (auto-deploys) and out (the outbox worker).
//! - [`admin`]: what `ferry admin …` does on the database directly.
//! - [`cache`]: one-second caches of the token and repository every request looks up.
//! - [`config`], [`secret`], [`state`].

pub mod admin;
pub mod cache;
pub mod config;
pub mod dora;
pub mod error;
pub mod events;
pub mod extract;
pub mod git;
pub mod router;
pub mod routes;
pub mod secret;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod urls;
pub mod wire;

pub use config::{Config, Overrides};
pub use secret::Secret;
pub use startup::{open_store, App};
