//! The organisation tree and partnerships in the API: `Organisation` (`types.rs`), `Partnership`
//! and its members (`partnerships.rs`), and the root fields (`query.rs`).

pub mod partnerships;
pub mod query;
pub mod types;
