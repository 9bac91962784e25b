//! Typed extractors: who is calling ([`auth`]) and request bodies ([`body`]), each failing
//! with the error body of the API family it serves.

pub mod auth;
pub mod body;

pub use auth::{ApiCaller, Caller, GhCaller};
pub use body::{ApiJson, GhBody};
