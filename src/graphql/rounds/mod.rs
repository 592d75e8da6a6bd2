//! Prioritisation rounds in the API: the round and its ranking, `rounds`, and the mutations that
//! open a round, score in it and close it.

pub mod mutation;
pub mod query;
pub mod types;
