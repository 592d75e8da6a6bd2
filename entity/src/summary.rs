//! The knowledge summary delivered for a commission; public once published.

use sea_orm::entity::prelude::*;

#[allow(unused_imports)]
use crate::enums::{CommissionStatus, UptakeStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "summary")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub commission_id: i32,
    pub title: String,
    pub abstract_text: String,
    /// `nb`, `nn` or `en`.
    pub language: String,
    pub url: Option<String>,
    pub doi: Option<String>,
    /// As free text, as printed on the product.
    pub authors: String,
    pub delivered_by_person_id: i32,
    pub delivered_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
