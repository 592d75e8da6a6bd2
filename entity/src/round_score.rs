//! One organisation's value (1-5) for one need on one criterion of a round.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "round_score")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub round_id: i32,
    pub need_id: i32,
    pub criterion_id: i32,
    /// The scoring organisation: a unit (an organisation of the tree) or an institution (exactly
    /// one is set).
    pub organisation_id: Option<i32>,
    pub institution_id: Option<i32>,
    pub value: i32,
    /// The member who scored on the organisation's behalf.
    pub person_id: i32,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
