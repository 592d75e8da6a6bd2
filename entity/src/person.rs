//! A person who uses the hub. Name and e-mail are personal data (see ARCHITECTURE.md).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "person")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// Lower-case, unique.
    #[sea_orm(unique)]
    pub email: String,
    /// The region whose coordinator created the person; they manage the person even before
    /// the person has a membership there.
    pub home_partnership_id: Option<i32>,
    /// The language of the person's mails.
    pub language: crate::enums::Language,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
