//! What a notification tells of, read when it is sent (`notify::compose` decides what it says):
//! the recipient, the event with its need or commission, a round, a deadline, and the names it
//! mentions.

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event, enums::DeliveryTopic, institution, milestone, need, need_event,
    organisation, partnership, person, round,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub async fn person(db: &impl ConnectionTrait, id: i32) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find_by_id(id).one(db).await
}

/// A need's history event with the need as it is now.
pub async fn need_event(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<(need_event::Model, need::Model)>, DbErr> {
    let Some(event) = need_event::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    Ok(need::Entity::find_by_id(event.need_id).one(db).await?.map(|need| (event, need)))
}

/// A commission's history event with the commission as it is now.
pub async fn commission_event(
    db: &impl ConnectionTrait,
    id: i32,
) -> Result<Option<(commission_event::Model, commission::Model)>, DbErr> {
    let Some(event) = commission_event::Entity::find_by_id(id).one(db).await? else { return Ok(None) };
    Ok(commission::Entity::find_by_id(event.commission_id).one(db).await?.map(|c| (event, c)))
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
