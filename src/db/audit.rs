//! The audit log: one event per change to who may do what, written in the transaction of the
//! change; and one per mutation and per refused request, written by the GraphQL and HTTP layers
//! (see `graphql::audit`).
//!
//! A request's audit facts (its id, the user errors it returned, what its writes did) are
//! gathered in a task-local [`Scope`] while it runs, so no resolver has to pass them along: what a
//! write did is the `Effect` its caller names to `Db::commit`.

use std::cell::RefCell;

use chrono::Utc;
use entity::audit_event;

use crate::domain::nodes::NodeType;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbErr};

/// What the audit log learns about a mutation while it runs.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub request_id: Option<String>,
    /// The codes of the user errors it returned.
    pub user_errors: Vec<&'static str>,
    /// What its first committed write created or changed.
    pub subject: Option<(NodeType, i32)>,
}

tokio::task_local! {
    static SCOPE: RefCell<Scope>;
}

/// Runs `work` with an audit scope and returns what was gathered.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn scoped<T>(request_id: Option<String>, work: impl Future<Output = T>) -> (T, Scope) {
    let scope = RefCell::new(Scope { request_id, ..Scope::default() });
    SCOPE
        .scope(scope, async move {
            let result = work.await;
            (result, SCOPE.with(|s| s.take()))
        })
        .await
}

/// Notes a user error of the running mutation (no-op outside a scope).
pub fn note_user_error(code: &'static str) {
    let _ = SCOPE.try_with(|s| s.borrow_mut().user_errors.push(code));
}

/// Notes what a committed write of the running mutation did; the first is its subject (no-op
/// outside a scope). Called by `Db::commit`.
pub(super) fn note_subject(subject: (NodeType, i32)) {
    let _ = SCOPE.try_with(|s| {
        s.borrow_mut().subject.get_or_insert(subject);
    });
}

fn current_request_id() -> Option<String> {
    SCOPE.try_with(|s| s.borrow().request_id.clone()).ok().flatten()
}

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A caller of the API, through a token.
    Person { person_id: i32, token_id: i32 },
    /// Someone at the server's command line (bootstrap, demo).
    CommandLine,
    /// The hub itself, keeping a rule on time (closing a round at its closing time).
    Hub,
    /// A person acting without a token through a link the hub signed for them in a mail
    /// (unsubscribing).
    SignedLink { person_id: i32 },
}

/// What changed, for the log. Never put an e-mail address or a token secret in `detail`.
pub struct Event<'a> {
    pub action: &'a str,
    pub target_type: NodeType,
    pub target_id: i32,
    pub partnership_id: Option<i32>,
    pub detail: Option<serde_json::Value>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn record(db: &impl ConnectionTrait, actor: Actor, event: Event<'_>) -> Result<(), DbErr> {
    let (person, token, label) = match actor {
        Actor::Person { person_id, token_id } => (Some(person_id), Some(token_id), None),
        Actor::CommandLine => (None, None, Some("command line".to_owned())),
        Actor::Hub => (None, None, Some("hub".to_owned())),
        Actor::SignedLink { person_id } => (Some(person_id), None, Some("signed link".to_owned())),
    };
    audit_event::ActiveModel {
        occurred_at: Set(Utc::now()),
        actor_person_id: Set(person),
        actor_token_id: Set(token),
        actor_label: Set(label),
        action: Set(event.action.to_owned()),
        target_type: Set(Some(event.target_type.name().to_owned())),
        target_id: Set(Some(event.target_id)),
        partnership_id: Set(event.partnership_id),
        detail: Set(event.detail.map(|d| d.to_string())),
        outcome: Set(OK.to_owned()),
        request_id: Set(current_request_id()),
        repeats: Set(1),
        last_occurred_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The outcome of what succeeded.
pub const OK: &str = "OK";
/// The outcome of a mutation that returned user errors.
pub const USER_ERROR: &str = "USER_ERROR";

/// A request as the audit log keeps it: who, what, to what, with which outcome.
#[derive(Clone, Debug, Default)]
pub struct Attempt {
    pub person_id: Option<i32>,
    pub token_id: Option<i32>,
    pub action: String,
    pub target: Option<(NodeType, i32)>,
    pub partnership_id: Option<i32>,
    pub outcome: String,
    pub detail: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// Records a mutation or a refused request; returns the new event's id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn attempt(db: &impl ConnectionTrait, attempt: Attempt) -> Result<i32, DbErr> {
    let event = audit_event::ActiveModel {
        occurred_at: Set(Utc::now()),
        actor_person_id: Set(attempt.person_id),
        actor_token_id: Set(attempt.token_id),
        actor_label: Set(attempt.person_id.is_none().then(|| "public".to_owned())),
        action: Set(attempt.action),
        target_type: Set(attempt.target.map(|(t, _)| t.name().to_owned())),
        target_id: Set(attempt.target.map(|(_, id)| id)),
        partnership_id: Set(attempt.partnership_id),
        detail: Set(attempt.detail.map(|d| d.to_string())),
        outcome: Set(attempt.outcome),
        request_id: Set(attempt.request_id),
        repeats: Set(1),
        last_occurred_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(event.id)
}

/// Adds `repeats` more occurrences, the last at `last`, to the event `id`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_repeats(
    db: &impl ConnectionTrait,
    id: i32,
    repeats: u32,
    last: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    use sea_orm::{
        ColumnTrait, EntityTrait, QueryFilter,
        sea_query::{Expr, ExprTrait},
    };
    audit_event::Entity::update_many()
        .col_expr(
            audit_event::Column::Repeats,
            Expr::col(audit_event::Column::Repeats).add(i64::from(repeats)),
        )
        .col_expr(audit_event::Column::LastOccurredAt, Expr::value(last))
        .filter(audit_event::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Which audit events to read.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub outcome: Option<String>,
    pub person_id: Option<i32>,
    pub request_id: Option<String>,
    pub since: Option<chrono::DateTime<Utc>>,
}

/// Whose events a page lists.
#[derive(Clone, Copy, Debug)]
pub enum Log<'a> {
    /// The events of these regions (a coordinator's view).
    Regions(&'a [i32]),
    /// The events of no region: refused tokens that name no one, the public's refused requests
    /// (the operators' view, at the command line).
    Unassigned,
}

/// A page of a log, newest first, before the event `before`; and whether more follow.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn page(
    db: &impl ConnectionTrait,
    log: Log<'_>,
    filter: &Filter,
    before: Option<i32>,
    size: u64,
) -> Result<(Vec<audit_event::Model>, bool), DbErr> {
    use audit_event::Column;
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = audit_event::Entity::find().filter(match log {
        Log::Regions(regions) => Condition::all().add(Column::PartnershipId.is_in(regions.iter().copied())),
        Log::Unassigned => Condition::all().add(Column::PartnershipId.is_null()),
    });
    if let Some(action) = &filter.action {
        query = query.filter(Column::Action.eq(action.as_str()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(Column::Outcome.eq(outcome.as_str()));
    }
    if let Some(person) = filter.person_id {
        query = query.filter(Column::ActorPersonId.eq(person));
    }
    if let Some(request_id) = &filter.request_id {
        query = query.filter(Column::RequestId.eq(request_id.as_str()));
    }
    if let Some(since) = filter.since {
        query = query.filter(Column::OccurredAt.gte(since));
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let mut rows = query.order_by_desc(Column::Id).limit(size + 1).all(db).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    Ok((rows, more))
}
