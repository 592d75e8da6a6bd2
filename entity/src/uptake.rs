//! Whether, and how, a municipality used a knowledge summary.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::enums::{CommissionStatus, UptakeStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "uptake")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub summary_id: i32,
    pub municipality_id: i32,
    pub status: UptakeStatus,
    pub note: Option<String>,
    pub person_id: i32,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
