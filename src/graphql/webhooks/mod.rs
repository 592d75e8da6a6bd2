//! Webhooks in the API: `WebhookEndpoint` and its attempts, `Organisation.webhooks` (`types.rs`),
//! and registering, rotating, disabling, enabling and deleting endpoints (`mutation.rs`). All of
//! it is seen only by those who may manage the organisation's webhooks; to others an endpoint is
//! as if it did not exist.

pub mod mutation;
pub mod types;
