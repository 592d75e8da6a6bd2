//! A webhook endpoint an organisation registered: where the hub sends the events it subscribes
//! to, signed with its secrets (`webhook_secret`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoint")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The organisation it receives events for; its coordinators manage it.
    pub organisation_id: i32,
    pub url: String,
    /// The kinds of event it subscribes to: `WebhookEventKind` words, comma-separated.
    pub event_kinds: String,
    pub description: Option<String>,
    pub created_by_person_id: Option<i32>,
    /// When it stopped receiving (by a coordinator, or by the hub after persistent failure).
    pub disabled_at: Option<DateTimeUtc>,
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success (any message).
    pub consecutive_failures: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
