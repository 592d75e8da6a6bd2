//! A need that a round ranks, and what the round decided for it.

use sea_orm::entity::prelude::*;

use crate::enums::NeedStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "round_candidate")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub round_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: i32,
    /// PRIORITISED or DEFERRED once the round has closed.
    pub outcome: Option<NeedStatus>,
    /// The need's place in the final ranking.
    pub position: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
