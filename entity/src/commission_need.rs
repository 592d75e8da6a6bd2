//! A need that a commission answers.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::enums::{CommissionStatus, UptakeStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "commission_need")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub commission_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::commission::Entity",
        from = "Column::CommissionId",
        to = "super::commission::Column::Id"
    )]
    Commission,
    #[sea_orm(belongs_to = "super::need::Entity", from = "Column::NeedId", to = "super::need::Column::Id")]
    Need,
}

impl Related<super::commission::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Commission.def()
    }
}

impl Related<super::need::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Need.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
