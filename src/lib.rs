//! knowledge-hub: a GraphQL server where municipalities raise knowledge needs, regional bodies
//! prioritise them and commission knowledge summaries. Read ARCHITECTURE.md first.

/// Build the router and state, serve, shut down gracefully.
pub mod app;
/// Tokens, the viewer, and the one authorization policy.
pub mod auth;
/// `token create` and `demo`: acting at the command line, without a token.
pub mod bootstrap;
/// Command-line flags and environment settings.
pub mod config;
/// Connecting, migrating, and the SQL of each area (no GraphQL here).
pub mod db;
/// Plain domain rules and newtypes (no GraphQL, no SQL).
pub mod domain;
/// The one error type and its codes.
pub mod error;
/// Committed changes announced to subscribers, across instances.
pub mod events;
/// CSV and XLSX exports: signed download links, the columns, and the files written page by page.
pub mod export;
/// The GraphQL schema, resolvers, loaders and limits.
pub mod graphql;
/// Routes, middleware and handlers.
pub mod http;
/// Notifications by e-mail and signed webhook: the mailer, templates, links, unsubscribe tokens,
/// webhook signing and the SSRF guard.
pub mod notify;
/// Work each instance does by itself every so often (closing due rounds, folding the tallies).
pub mod periodic;
/// Cost-based rate limiting per token and per IP address.
pub mod rate_limit;
/// Closing prioritisation rounds at their closing time, on every instance, exactly once.
pub mod rounds_closer;
/// Signed tokens under the hub's key (unsubscribe links, export links).
pub mod signing;
/// Logging setup.
pub mod telemetry;

#[cfg(test)]
mod layers;
