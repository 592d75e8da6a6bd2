//! One entry in a commission's history: a move, a progress note, a milestone.

use sea_orm::entity::prelude::*;

use crate::enums::{CommissionEventKind, CommissionStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub commission_id: i32,
    pub occurred_at: DateTimeUtc,
    pub actor_person_id: Option<i32>,
    /// What happened: a move, an interest, a progress note, a milestone.
    pub kind: CommissionEventKind,
    pub from_status: Option<CommissionStatus>,
    pub to_status: Option<CommissionStatus>,
    pub note: Option<String>,
    /// Waiting for the notification fan-out (set by the writer; cleared when its deliveries are
    /// written).
    pub notify_pending: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
