//! One attempt to deliver a message to a webhook endpoint: what the receiver answered and how
//! long it took, shown to those who manage the endpoint.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempt")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub endpoint_id: i32,
    /// The message's id (`webhook-id`), the same on each retry of it.
    pub message_id: String,
    pub attempted_at: DateTimeUtc,
    /// The receiver's HTTP status; none when it gave no answer.
    pub status_code: Option<i32>,
    pub duration_ms: i64,
    /// Why it failed; none for a success.
    pub error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
