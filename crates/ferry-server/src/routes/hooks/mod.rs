//! Signed inbound webhooks (`/webhooks/…`): plain status codes, small JSON answers.

pub mod github;
