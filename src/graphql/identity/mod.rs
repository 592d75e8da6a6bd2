//! Identity and access in the API: the viewer, people, memberships and tokens.

pub mod mutation;
pub mod query;
pub mod types;
