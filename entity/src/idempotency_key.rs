//! An idempotency key a caller sent with a create-style mutation, and what the mutation created:
//! replaying the key returns that result instead of creating again.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_key")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// Keys are per person: two people may use the same key.
    pub person_id: i32,
    pub key: String,
    /// The mutation, e.g. `submitNeed`.
    pub operation: String,
    /// SHA-256 of the mutation's input (without the key), to refuse a key reused for other input.
    pub input_hash: String,
    /// What was created (a node type name) and its key.
    pub result_type: String,
    pub result_id: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
