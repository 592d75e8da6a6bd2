//! A milestone of an awarded commission.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::enums::{CommissionStatus, UptakeStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "milestone")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub commission_id: i32,
    pub title: String,
    pub due_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// When the scheduled notices told that it is due soon, or found there was nothing to tell
    /// (`notify::schedule`); `None` until then.
    pub due_notified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
