//! A person's role in one organisation. The role decides which organisation column is set:
//! coordinator -> region, cluster coordinator -> cluster, municipality member -> municipality,
//! institution member -> institution (a CHECK constraint holds the database to it).

use sea_orm::entity::prelude::*;

use crate::enums::Role;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub person_id: i32,
    pub role: Role,
    pub region_id: Option<i32>,
    pub cluster_id: Option<i32>,
    pub municipality_id: Option<i32>,
    pub institution_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
