//! The hub's own secret keys, made at random on first start and shared by every instance on the
//! database: what signs the links in its mails (unsubscribing) so no one can forge them.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "hub_key")]
pub struct Model {
    /// What the key is for (`signing`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// 32 random bytes, base64.
    pub secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
