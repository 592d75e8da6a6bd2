//! What notifications keep in the database: webhook endpoints, their secrets and attempts.

pub mod webhooks;
