//! Something that changed who may do what: kept forever, never with secrets or e-mail addresses.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub occurred_at: DateTimeUtc,
    /// Who did it; `None` for the command line (`actor_label` says so).
    pub actor_person_id: Option<i32>,
    pub actor_token_id: Option<i32>,
    pub actor_label: Option<String>,
    /// What was done, e.g. `membership.add`.
    pub action: String,
    pub target_type: String,
    pub target_id: i32,
    /// The region whose coordinators may read the event.
    pub region_id: Option<i32>,
    /// Extra facts (a role, an organisation id) as JSON; never personal data or secrets.
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
