//! The search index: each term (a stem) of each need, with its rank there (lower is better), read
//! best first by `(term, rank, need_id)`. Written by the hub with the need (`db::needs::search`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "need_term")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub need_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: String,
    pub rank: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
