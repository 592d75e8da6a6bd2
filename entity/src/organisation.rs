//! An organisation: one node of the tree of every unit the hub serves, from the national body to
//! a project in a city district. Its ancestors are in `organisation_ancestor`.

use sea_orm::entity::prelude::*;

use crate::enums::OrganisationKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "organisation")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub kind: OrganisationKind,
    /// The key its users know it by, for kinds that have one (`ksf`, `rso-vest`, `uib`).
    #[sea_orm(unique)]
    pub key: Option<String>,
    /// The official number, for kinds that have one: county `46`, municipality `4601`,
    /// district `030112`.
    #[sea_orm(unique)]
    pub code: Option<String>,
    pub name: String,
    pub parent_id: Option<i32>,
    /// Closed organisations keep their history but take no new needs or members.
    pub closed_at: Option<DateTimeUtc>,
    /// When a coordinator last changed it through the API; the reference-data loader leaves such
    /// rows as they are.
    pub edited_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
