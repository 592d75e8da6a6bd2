//! `OrganisationChange`: one change coordinators made to an organisation (created, renamed,
//! moved, closed), read from the audit log, which records each in the transaction of the change.
//! Public like the organisation itself; who made it is shown only to those who may see them.

use async_graphql::{Context, Object};
use chrono::{DateTime, Utc};
use entity::audit_event;

use crate::{
    db::organisations::write::HISTORY_PREFIX,
    error::Result,
    graphql::identity::types::{Person, visible_person},
};

/// A change made to an organisation through the API.
#[derive(Clone, Debug)]
pub struct OrganisationChange(pub audit_event::Model);

impl OrganisationChange {
    /// Newest first: the key a page of changes is sorted by.
    pub fn cursor_key(&self) -> i64 {
        -i64::from(self.0.id)
    }
}

#[Object]
impl OrganisationChange {
    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// `create`, `rename`, `move` or `close`.
    async fn change(&self) -> &str {
        self.0.action.strip_prefix(HISTORY_PREFIX).unwrap_or(&self.0.action)
    }

    /// What changed, as JSON: a rename's `from` and `to` names, a move's `from` and `to` parents
    /// (organisation numbers of the database), a creation's kind, name and parent.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// Who made it; null for the command line or someone the caller may not see.
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = self.0.actor_person_id else {
            return Ok(None);
        };
        Ok(visible_person(ctx, id).await?.map(Person))
    }
}
