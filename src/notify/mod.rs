//! Notifications to people and systems that hold no connection open: signed webhooks (and
//! e-mail). Above `db/`, beside `events.rs`: nothing below reaches up here.

pub mod webhook;
