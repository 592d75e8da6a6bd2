//! Knowledge needs in the API: the need and its history, finding and counting needs, and the
//! mutations of a need's life.

pub mod mutation;
pub mod query;
pub mod stats;
pub mod types;
