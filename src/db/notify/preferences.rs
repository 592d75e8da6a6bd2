//! People's notification preferences and the language of their mails: read as stored or, where
//! nothing is stored, as their roles' default (`domain::notify`); written by the person through
//! the API or, to turn a kind off, through the signed unsubscribe link in a mail. Each write is
//! one transaction with its audit event, like every change to a person.

use chrono::Utc;
use entity::{
    enums::{Cadence, Language, NotificationKind, Role},
    membership, notification_preference, person,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    sea_query::OnConflict,
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor, Event},
    },
    domain::notify::{Preference, default_for, effective},
};

/// The roles a person holds in any membership (each once, old names read as new).
async fn roles_of(db: &impl ConnectionTrait, person_ids: &[i32]) -> Result<Vec<(i32, Role)>, DbErr> {
    let rows: Vec<(i32, Role)> = membership::Entity::find()
        .select_only()
        .column(membership::Column::PersonId)
        .column(membership::Column::Role)
        .filter(membership::Column::PersonId.is_in(person_ids.iter().copied()))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(person, role)| (person, role.current())).collect())
}

/// A person's preference for every kind: stored, else their roles' default. Two statements.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn of_person(db: &impl ConnectionTrait, person_id: i32) -> Result<Vec<Preference>, DbErr> {
    let stored: Vec<(NotificationKind, Cadence)> = notification_preference::Entity::find()
        .select_only()
        .column(notification_preference::Column::EventKind)
        .column(notification_preference::Column::Cadence)
        .filter(notification_preference::Column::PersonId.eq(person_id))
        .into_tuple()
        .all(db)
        .await?;
    let roles: Vec<Role> = roles_of(db, &[person_id]).await?.into_iter().map(|(_, role)| role).collect();
    Ok(effective(&stored, &roles))
}

/// How each of `person_ids` hears of `kind` (stored, else their roles' default), in their order;
/// for deciding who is told of an event. Two statements, whatever the number of people.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn cadences(
    db: &impl ConnectionTrait,
    person_ids: &[i32],
    kind: NotificationKind,
) -> Result<Vec<(i32, Cadence)>, DbErr> {
    let stored: Vec<(i32, Cadence)> = notification_preference::Entity::find()
        .select_only()
        .column(notification_preference::Column::PersonId)
        .column(notification_preference::Column::Cadence)
        .filter(notification_preference::Column::PersonId.is_in(person_ids.iter().copied()))
        .filter(notification_preference::Column::EventKind.eq(kind))
        .into_tuple()
        .all(db)
        .await?;
    let roles = roles_of(db, person_ids).await?;
    Ok(person_ids
        .iter()
        .map(|&person| {
            let cadence = stored.iter().find(|(p, _)| *p == person).map(|(_, c)| *c).unwrap_or_else(|| {
                let theirs: Vec<Role> = roles.iter().filter(|(p, _)| *p == person).map(|(_, r)| *r).collect();
                default_for(kind, &theirs)
            });
            (person, cadence)
        })
        .collect())
}

/// What `people` stored for `kinds`: one statement for a worker's batch, which takes the
/// defaults from the roles of the grants it read anyway (`domain::notify::default_for`).
pub async fn stored(
    db: &impl ConnectionTrait,
    people: &[i32],
    kinds: &[NotificationKind],
) -> Result<Vec<(i32, NotificationKind, Cadence)>, DbErr> {
    if people.is_empty() || kinds.is_empty() {
        return Ok(Vec::new());
    }
    notification_preference::Entity::find()
        .select_only()
        .column(notification_preference::Column::PersonId)
        .column(notification_preference::Column::EventKind)
        .column(notification_preference::Column::Cadence)
        .filter(notification_preference::Column::PersonId.is_in(people.iter().copied()))
        .filter(notification_preference::Column::EventKind.is_in(kinds.iter().copied()))
        .into_tuple()
        .all(db)
        .await
}

/// Stores `choices` (each kind at most once) and, if given, the language of the person's mails,
/// with a `person.notifications` audit event naming what was set. `NotFound` if the person is gone.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set(
    db: &Db,
    actor: Actor,
    person_id: i32,
    language: Option<Language>,
    choices: &[(NotificationKind, Cadence)],
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let home = home_partnership(&txn, person_id).await?;
    if let Some(language) = language {
        person::Entity::update_many()
            .col_expr(person::Column::Language, sea_orm::sea_query::Expr::value(language))
            .filter(person::Column::Id.eq(person_id))
            .exec(&txn)
            .await?;
    }
    store(&txn, person_id, choices).await?;
    let detail = json!({
        "language": language,
        "preferences": choices.iter().map(|(kind, cadence)| json!({ "kind": kind, "cadence": cadence })).collect::<Vec<_>>(),
    });
    audit::record(
        &txn,
        actor,
        Event {
            action: "person.notifications",
            target_type: NodeType::Person,
            target_id: person_id,
            partnership_id: home,
            detail: Some(detail),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Person, person_id)).await?;
    Ok(())
}

/// Turns `kind` (every kind when `None`) off for the person, through the signed link in a mail;
/// audited as the person acting through the link. `NotFound` if the person is gone.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unsubscribe(db: &Db, person_id: i32, kind: Option<NotificationKind>) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let home = home_partnership(&txn, person_id).await?;
    let kinds: Vec<NotificationKind> = match kind {
        Some(kind) => vec![kind],
        None => NotificationKind::ALL.to_vec(),
    };
    let choices: Vec<_> = kinds.iter().map(|kind| (*kind, Cadence::Off)).collect();
    store(&txn, person_id, &choices).await?;
    audit::record(
        &txn,
        Actor::SignedLink { person_id },
        Event {
            action: "person.unsubscribe",
            target_type: NodeType::Person,
            target_id: person_id,
            partnership_id: home,
            detail: Some(json!({ "kinds": kinds })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Person, person_id)).await?;
    Ok(())
}

/// The person's home partnership (whose coordinators read the audit event), or `NotFound`.
async fn home_partnership(db: &impl ConnectionTrait, person_id: i32) -> Result<Option<i32>, WriteError> {
    let home: Option<Option<i32>> = person::Entity::find_by_id(person_id)
        .select_only()
        .column(person::Column::HomePartnershipId)
        .into_tuple()
        .one(db)
        .await?;
    home.ok_or(WriteError::NotFound { field: "person" })
}

/// Inserts or replaces the rows of `choices` in one statement.
async fn store(
    db: &impl ConnectionTrait,
    person_id: i32,
    choices: &[(NotificationKind, Cadence)],
) -> Result<(), DbErr> {
    if choices.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let rows = choices.iter().map(|(kind, cadence)| notification_preference::ActiveModel {
        person_id: Set(person_id),
        event_kind: Set(*kind),
        cadence: Set(*cadence),
        updated_at: Set(now),
    });
    notification_preference::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                notification_preference::Column::PersonId,
                notification_preference::Column::EventKind,
            ])
            .update_columns([
                notification_preference::Column::Cadence,
                notification_preference::Column::UpdatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The language of the person's mails; `None` if there is no such person.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn language_of(db: &impl ConnectionTrait, person_id: i32) -> Result<Option<Language>, DbErr> {
    person::Entity::find_by_id(person_id)
        .select_only()
        .column(person::Column::Language)
        .into_tuple()
        .one(db)
        .await
}
