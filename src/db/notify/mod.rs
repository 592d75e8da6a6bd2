//! Notifications' tables: people's preferences and the language of their mails
//! (`preferences`), the hub's signing key (`keys`), webhook endpoints with their secrets and
//! attempts (`webhooks`), the pending history events that wait for the fan-out (`pending`) and
//! the deliveries it writes for the workers (`deliveries`), who hears of what (`audience`), and the
//! rows the scheduled notices look at and mark (`scheduled`).

pub mod audience;
pub mod deliveries;
pub mod keys;
pub mod pending;
pub mod preferences;
pub mod scheduled;
pub mod webhooks;
