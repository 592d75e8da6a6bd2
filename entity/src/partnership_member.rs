//! A member organisation of a partnership: the partnership serves its subtree, and takes needs
//! from it when `accepts_needs`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership_member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub partnership_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub organisation_id: i32,
    pub accepts_needs: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
