//! Error strategy.
//!
//! - Each API family has one error type that renders that family's body: [`GhError`] for
//!   `/api/v3` (GitHub's `{message, documentation_url, status, errors?}`), [`ApiError`] for
//!   `/api/v1` (`{"error": {code, message}}`). Handlers return `Result<_, ThatError>`.
//! - Store and domain errors convert with `From`, written once per family. User mistakes map
//!   to 4xx with a precise message; anything else becomes an opaque 500 whose cause is logged
//!   here, once, and never sent to the client.
//! - Extractor failures (auth, body too large, bad JSON, undecodable path) are rendered by the
//!   same types, so even a request that never reaches a handler gets its family's body, as do
//!   unknown paths and unserved methods (the router's fallbacks). `/api/v3` handlers take
//!   body and path extractors as `Result`s and add their operation's docs link.

mod github;
mod native;

pub use github::{GhError, GhResult, DOCS_ROOT};
pub use native::{ApiError, ApiResult};
