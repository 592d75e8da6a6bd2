//! A prioritisation round of a region over candidate needs.

use sea_orm::entity::prelude::*;

use crate::enums::RoundStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "round")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub partnership_id: i32,
    pub name: String,
    pub closes_at: DateTimeUtc,
    /// How many needs the round prioritises.
    pub prioritise_count: i32,
    pub status: RoundStatus,
    pub created_by_person_id: i32,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    /// When the scheduled notices told of its opening (`notify::schedule`), or found it too late
    /// to; `None` until then.
    pub opened_notified_at: Option<DateTimeUtc>,
    /// When they told that it closes soon, or found there was nothing to tell.
    pub closing_notified_at: Option<DateTimeUtc>,
    /// When they told the webhooks it closed.
    pub closed_notified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
