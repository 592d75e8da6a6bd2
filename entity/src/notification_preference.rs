//! A person's choice of how to hear of one kind of notification; without a row, their roles'
//! default holds (`domain::notify`).

use sea_orm::entity::prelude::*;

use crate::enums::{Cadence, NotificationKind};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notification_preference")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub person_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_kind: NotificationKind,
    pub cadence: Cadence,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
