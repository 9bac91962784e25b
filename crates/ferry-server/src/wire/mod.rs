//! Conversions from store records to wire types (they live here because neither crate may
//! depend on the other). One module per API family.

pub mod github;
pub mod native;
