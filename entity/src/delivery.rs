//! One notification to one recipient (a person's e-mail, an endpoint's webhook), written by the
//! fan-out of a history event and worked off by the delivery workers. `message_id` is the same
//! on every attempt, so a receiver can drop a repeat.

use sea_orm::entity::prelude::*;

use crate::enums::{DeliveryChannel, DeliveryStatus, DeliveryTopic, NotificationKind, WebhookEventKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Unique: one delivery per channel, recipient and event (or digest day).
    pub message_id: String,
    pub channel: DeliveryChannel,
    /// The recipient of an e-mail.
    pub person_id: Option<i32>,
    /// The endpoint of a webhook.
    pub endpoint_id: Option<i32>,
    /// What it tells of: `subject_id` is a history event's id (a need's or a commission's), or
    /// what else `topic` says.
    pub topic: DeliveryTopic,
    pub subject_id: i32,
    /// An e-mail's kind: the preference it is sent under.
    pub notification_kind: Option<NotificationKind>,
    /// A webhook's kind of event: its `type`, and what its endpoint subscribed to.
    pub webhook_kind: Option<WebhookEventKind>,
    /// Collected into the recipient's daily digest rather than sent on its own.
    pub digest: bool,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When it may be sent (the next attempt, or the digest's morning).
    pub due_at: DateTimeUtc,
    /// A worker holds it until then; past it, another may take it (the holder crashed).
    pub claimed_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
