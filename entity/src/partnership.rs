//! A partnership: a prioritising body (KSF, RSO Vest, Områdesatsingene, Universitetskommunen
//! Oslo), run by its body organisation, with member organisations. It holds authority: the
//! `partnership_id` columns elsewhere name a partnership (the first ones were regions' RSOs, whose
//! table this was), and a region's RSO is the partnership whose body is the region.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "partnership")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub key: String,
    pub name: String,
    /// The organisation that runs it (set for every row by the reference-data loader and by
    /// whoever creates a partnership).
    #[sea_orm(unique)]
    pub organisation_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
