//! A partnership: a prioritising body (KSF, RSO Vest, Områdesatsingene, Universitetskommunen
//! Oslo), run by its body organisation, with member organisations.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    /// The organisation that runs it.
    #[sea_orm(unique)]
    pub organisation_id: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
