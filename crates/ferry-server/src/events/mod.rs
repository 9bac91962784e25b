//! GitHub-shaped events, in and out (compat/github.md §5, §6).
//!
//! Map:
//! - [`signature`]: `X-Hub-Signature-256`, signing and constant-time verification.
//! - [`outbox`]: the worker that delivers enqueued `deployment`, `deployment_status` and `ping`
//!   events to subscriptions, with retries and a dead-letter state.
//! - [`payloads`]: store records → webhook bodies.
//! - [`github`]: GitHub mirror mode: the same events as REST calls on the repository's GitHub.
//! - [`inbound`]: what a received GitHub delivery does (the handler is
//!   `routes::hooks::github`), including auto-deploys from `.ferry.yml`.

pub mod github;
pub mod inbound;
pub mod outbox;
pub mod payloads;
pub mod signature;
