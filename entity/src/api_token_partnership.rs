//! The regions a region-bound token carries its owner's grants in (see `api_token.partnership_bound`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_token_partnership")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub partnership_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
