//! Plain Rust rules of the domain: newtypes that parse input, and what a role means.
//! No GraphQL, no SQL.

pub mod commissions;
pub mod identity;
pub mod institutions;
pub mod needs;
pub mod nodes;
pub mod notify;
pub mod organisations;
pub mod rounds;
pub mod time;
pub mod token;
pub mod webhooks;
