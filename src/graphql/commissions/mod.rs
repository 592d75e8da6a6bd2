//! Commissions and knowledge summaries in the API: the commission and its summary, `commissions`,
//! `summaries`, and the mutations from draft to published summary and its uptake.

pub mod mutation;
pub mod query;
pub mod types;
