//! The audit log: one event per change to who may do what, written in the transaction of the change.

use chrono::Utc;
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A caller of the API, through a token.
    Person { person_id: i32, token_id: i32 },
    /// Someone at the server's command line (bootstrap, demo).
    CommandLine,
}

/// What changed, for the log. Never put an e-mail address or a token secret in `detail`.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: i32,
    pub region_id: Option<i32>,
    pub detail: Option<serde_json::Value>,
}

pub async fn record(db: &impl ConnectionTrait, actor: Actor, event: Event<'_>) -> Result<(), DbErr> {
    let (person, token, label) = match actor {
        Actor::Person { person_id, token_id } => (Some(person_id), Some(token_id), None),
        Actor::CommandLine => (None, None, Some("command line".to_owned())),
    };
    audit_event::ActiveModel {
        occurred_at: Set(Utc::now()),
        actor_person_id: Set(person),
        actor_token_id: Set(token),
        actor_label: Set(label),
        action: Set(event.action.to_owned()),
        target_type: Set(event.target_type.to_owned()),
        target_id: Set(event.target_id),
        region_id: Set(event.region_id),
        detail: Set(event.detail.map(|d| d.to_string())),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}
