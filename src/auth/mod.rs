//! Who is calling and what they may do: the bearer token (its secret's format is in
//! `domain::token`), the `Viewer`, and the one policy every resolver asks (`viewer.can(action)`).

pub mod authenticator;
pub mod policy;
pub mod viewer;

pub use authenticator::Authenticator;
pub use policy::Action;
pub use viewer::{Grant, Identity, Viewer};
