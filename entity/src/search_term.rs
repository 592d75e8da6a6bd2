//! The terms of the search index and how many needs have each, kept by triggers on `need_term`
//! (a count that falls to 0 stays as a row). A search word's terms are found here.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "search_term")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: String,
    pub needs: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
