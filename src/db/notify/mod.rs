//! Notifications' tables: people's preferences and the language of their mails
//! (`preferences`), the hub's signing key (`keys`), webhook endpoints with their secrets and
//! attempts (`webhooks`).

pub mod keys;
pub mod preferences;
pub mod webhooks;
