//! Typed extractors: who is calling ([`auth`]), path parameters ([`path`]) and request bodies
//! ([`body`]), each failing with the error body of the API family it serves.

pub mod auth;
pub mod body;
pub mod path;

pub use auth::{ApiCaller, Caller, GhCaller};
pub use body::{ApiJson, GhBody, GhBodyError};
pub use path::{ApiPath, GhPath};
