//! A municipality that shares a need and has co-signed it (once per municipality).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "need_cosign")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub need_id: i32,
    pub municipality_id: i32,
    /// The organisation the co-signature was given for (the municipality's, so far).
    pub organisation_id: Option<i32>,
    /// Who co-signed on the municipality's behalf (none when carried over by a merge).
    pub person_id: Option<i32>,
    /// Set when the co-signature came with a merged duplicate; an unmerge takes it back.
    pub carried_from_need_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
