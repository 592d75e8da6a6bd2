//! A municipality, identified by its official four-digit number kept as text.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "municipality")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub code: String,
    pub name: String,
    pub county_id: i32,
    pub cluster_id: Option<i32>,
    pub cluster_membership: crate::enums::ClusterMembership,
    /// Inhabitants, where known (coordinators set it); counts towards a need's reach.
    pub population: Option<i32>,
    /// Its node in the organisation tree.
    #[sea_orm(unique)]
    pub organisation_id: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
