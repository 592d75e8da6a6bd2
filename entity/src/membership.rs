//! A person's role in one partnership or organisation. The role decides which column is set: a
//! coordinator (COORDINATOR) holds it in a partnership; a unit's coordinator (UNIT_COORDINATOR),
//! a unit's member (UNIT_MEMBER) and an institution's member (INSTITUTION_MEMBER) in an
//! organisation (a CHECK constraint holds the database to it).

use sea_orm::entity::prelude::*;

use crate::enums::Role;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "membership")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub person_id: i32,
    pub role: Role,
    /// The partnership a coordinator coordinates (COORDINATOR only).
    pub partnership_id: Option<i32>,
    /// The unit or institution of every other role.
    pub organisation_id: Option<i32>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
