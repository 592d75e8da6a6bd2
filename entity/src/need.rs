//! A knowledge need: a municipality's practical question that research could answer.

use sea_orm::entity::prelude::*;

use crate::enums::{NeedStatus, Urgency};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "need")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The municipality the need was raised in (the raising unit's), which owns it.
    pub municipality_id: i32,
    /// The organisation (unit) the need was raised in: a municipality, a district, a programme,
    /// a sub-programme or a project. It stays the same when the unit moves in the tree.
    pub organisation_id: Option<i32>,
    /// The partnership whose pool the need is in: the one that reviews and prioritises it.
    pub partnership_id: Option<i32>,
    pub created_by_person_id: i32,
    /// Who to ask about the need (personal data).
    pub contact_person_id: Option<i32>,
    pub title: String,
    pub question: String,
    /// Why it matters locally.
    pub background: String,
    /// The decision the answer will inform.
    pub intended_use: String,
    pub target_group: String,
    pub urgency: Urgency,
    pub product_type_id: Option<i32>,
    pub population: Option<String>,
    pub intervention: Option<String>,
    pub comparison: Option<String>,
    pub outcome: Option<String>,
    pub status: NeedStatus,
    /// Raised by every edit and move, for optimistic concurrency.
    pub version: i32,
    pub merged_into_id: Option<i32>,
    /// Co-signing municipalities (besides the owner), kept with every co-signature so that
    /// ordering by reach is an index scan.
    pub cosigner_count: i32,
    pub submitted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
