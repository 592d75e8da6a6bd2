//! The audit log: every mutation and every refused request (and, in the transaction of the change,
//! every change to who may do what). Kept forever, never with secrets or e-mail addresses.

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
    /// What was done: a change (`membership.add`), a mutation (`mutation.submitNeed`) or a
    /// refusal (`authenticate`, `query.people`).
    pub action: String,
    /// What it was done to, when known (a node type and its key).
    pub target_type: Option<String>,
    pub target_id: Option<i32>,
    /// The region whose coordinators may read the event.
    pub partnership_id: Option<i32>,
    /// Extra facts (a role, an organisation id, user error codes) as JSON; never personal data
    /// or secrets.
    pub detail: Option<String>,
    /// `OK`, `USER_ERROR`, or the error code that refused it (`FORBIDDEN`, `UNAUTHENTICATED`, ...).
    pub outcome: String,
    /// The `x-request-id` of the request, to find it in the server's logs.
    pub request_id: Option<String>,
    /// How many times the same refusal happened (an event of a refusal aggregates its repeats).
    pub repeats: i32,
    /// The last repeat, when there were more than one.
    pub last_occurred_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
