//! Notifications in the database: the pending history events that wait for the fan-out
//! (`pending`) and the deliveries it writes for the workers (`deliveries`).

pub mod deliveries;
pub mod pending;
