//! One entry in a need's history: a move between states, a co-signature, a merge, an edit.
//! Kept forever, written in the transaction of the change.

use sea_orm::entity::prelude::*;

use crate::enums::{NeedEventKind, NeedStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "need_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub need_id: i32,
    pub occurred_at: DateTimeUtc,
    pub actor_person_id: Option<i32>,
    /// What happened: a move, a co-signature, a merge, an edit.
    pub kind: NeedEventKind,
    pub from_status: Option<NeedStatus>,
    pub to_status: Option<NeedStatus>,
    /// The reason or comment given.
    pub reason: Option<String>,
    /// The other need of a merge.
    pub related_need_id: Option<i32>,
    /// The municipality of a co-signature (the one the co-signing unit is in).
    pub municipality_id: Option<i32>,
    /// The unit of a co-signature, or the national authority a need was passed on to.
    pub organisation_id: Option<i32>,
    /// The partnership whose pool a forwarded need left.
    pub partnership_id: Option<i32>,
    /// Waiting for the notification fan-out (set by the writer; cleared when its deliveries are
    /// written).
    pub notify_pending: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
