//! Reference data in the API: regions, counties, clusters, municipalities, institutions, themes,
//! product types and criteria, with their relations in both directions.

pub mod labelled;
pub mod query;
pub mod types;

pub use labelled::{Labels, Language};
