//! The GraphQL API: schema, context helpers, loaders, ids, connections, limits, and one folder per area.

pub mod audit;
pub mod batch;
pub mod commissions;
pub mod connection;
pub mod context;
pub mod export;
pub(crate) mod fifo;
pub mod idempotency;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod loaders;
pub mod needs;
pub mod node;
pub mod organisations;
pub mod persisted;
pub mod reference;
pub mod rounds;
pub mod schema;
pub mod subscriptions;
pub mod time;
pub mod user_error;
pub mod webhooks;
