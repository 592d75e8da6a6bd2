//! The organisation tree and partnerships in the API: `Organisation` (`types.rs`) and its history
//! (`history.rs`), `Partnership` and its members (`partnerships.rs`), the root fields (`query.rs`)
//! the coordinators' edits of the reference data (`mutation.rs`) and institutions' profiles
//! (`profile.rs`).

pub mod history;
pub mod mutation;
pub mod partnerships;
pub mod profile;
pub mod query;
pub mod types;
