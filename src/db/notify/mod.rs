//! Notifications' tables: people's preferences and the language of their mails
//! (`preferences`), the hub's signing key (`keys`).

pub mod keys;
pub mod preferences;
