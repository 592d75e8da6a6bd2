//! Notifications in the database: the pending history events that wait for the fan-out
//! (`pending`).

pub mod pending;
