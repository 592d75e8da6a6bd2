//! What a notification tells of, read when it is sent (`notify::compose` decides what it says):
//! the recipient, the event with its need or commission, a round, a deadline, and the names it
//! mentions.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event, enums::DeliveryTopic, institution, milestone, need, need_event,
    organisation, partnership, person, round,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

/// The people among `ids` who are still there.
pub async fn people(db: &impl ConnectionTrait, ids: &[i32]) -> Result<Vec<person::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    person::Entity::find().filter(person::Column::Id.is_in(ids.iter().copied())).all(db).await
}

/// The need history events among `ids`, each with its need as it is now: two statements.
pub async fn need_events(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, (need_event::Model, need::Model)>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let events =
        need_event::Entity::find().filter(need_event::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    let needs: HashMap<i32, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(events.iter().map(|e| e.need_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    Ok(events.into_iter().filter_map(|e| Some((e.id, (e.clone(), needs.get(&e.need_id)?.clone())))).collect())
}

/// The commission history events among `ids`, each with its commission as it is now: two
/// statements.
pub async fn commission_events(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, (commission_event::Model, commission::Model)>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let events = commission_event::Entity::find()
        .filter(commission_event::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    let commissions: HashMap<i32, commission::Model> = commission::Entity::find()
        .filter(commission::Column::Id.is_in(events.iter().map(|e| e.commission_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    Ok(events
        .into_iter()
        .filter_map(|e| Some((e.id, (e.clone(), commissions.get(&e.commission_id)?.clone()))))
        .collect())
}

/// An organisation's name; empty for none.
pub async fn organisation_name(db: &impl ConnectionTrait, id: Option<i32>) -> Result<String, DbErr> {
    let Some(id) = id else { return Ok(String::new()) };
    Ok(organisation::Entity::find_by_id(id).one(db).await?.map(|o| o.name).unwrap_or_default())
}

pub async fn partnership_name(db: &impl ConnectionTrait, id: i32) -> Result<String, DbErr> {
    Ok(partnership::Entity::find_by_id(id).one(db).await?.map(|p| p.name).unwrap_or_default())
}

pub async fn institution_name(db: &impl ConnectionTrait, id: i32) -> Result<Option<String>, DbErr> {
    Ok(institution::Entity::find_by_id(id).one(db).await?.map(|i| i.name))
}

/// The institution whose organisation `organisation` is, if it is one.
pub async fn institution_of_organisation(
    db: &impl ConnectionTrait,
    organisation: i32,
) -> Result<Option<institution::Model>, DbErr> {
    institution::Entity::find().filter(institution::Column::OrganisationId.eq(organisation)).one(db).await
}

pub async fn round(db: &impl ConnectionTrait, id: i32) -> Result<Option<round::Model>, DbErr> {
    round::Entity::find_by_id(id).one(db).await
}

/// A deadline told of: a commission's own, or one of its milestones'.
pub struct Deadline {
    pub commission: commission::Model,
    /// The milestone's title; `None` for the commission's own deadline.
    pub what: Option<String>,
    pub due: DateTime<Utc>,
    /// The milestone is done.
    pub settled: bool,
}

pub async fn deadline(
    db: &impl ConnectionTrait,
    topic: DeliveryTopic,
    id: i32,
) -> Result<Option<Deadline>, DbErr> {
    if topic == DeliveryTopic::CommissionDue {
        let commission = commission::Entity::find_by_id(id).one(db).await?;
        return Ok(commission.map(|c| Deadline {
            due: c.deadline,
            commission: c,
            what: None,
            settled: false,
        }));
    }
    let Some(milestone) = milestone::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    let commission = commission::Entity::find_by_id(milestone.commission_id).one(db).await?;
    Ok(commission.map(|commission| Deadline {
        commission,
        what: Some(milestone.title),
        due: milestone.due_at,
        settled: milestone.done_at.is_some(),
    }))
}
