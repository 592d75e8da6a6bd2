//! Identity and access in the API: the viewer, people, memberships and tokens, and a person's
//! notification preferences.

pub mod mutation;
pub mod preferences;
pub mod query;
pub mod types;
