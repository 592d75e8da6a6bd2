//! An institution's interest in an open commission, with a short proposal.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::enums::{CommissionStatus, UptakeStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_interest")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub commission_id: i32,
    pub institution_id: i32,
    pub proposal: String,
    pub person_id: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
