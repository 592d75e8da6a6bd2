//! A commission for a knowledge product that answers one or more prioritised needs.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::enums::{CommissionStatus, UptakeStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub partnership_id: i32,
    pub question: String,
    pub product_type_id: i32,
    pub deadline: DateTimeUtc,
    /// In Norwegian kroner, when known.
    pub budget_nok: Option<i64>,
    pub status: CommissionStatus,
    pub awarded_institution_id: Option<i32>,
    pub created_by_person_id: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the scheduled notices told its parties that its deadline is near, or found there was
    /// nothing to tell (`notify::schedule`); `None` until then.
    pub due_notified_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
