//! Writes of people and memberships, each one transaction with its audit event: create, register
//! and unregister a person; add and remove a membership (a region keeps its last coordinator).

use chrono::Utc;
use entity::{enums::Role, membership, person, person_partnership};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter,
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor, Event},
        duplicate_is_conflict,
    },
    domain::identity::{Email, PersonName},
};

/// Creates a person (and, if given, their first membership).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_person(
    db: &Db,
    actor: Actor,
    name: PersonName,
    email: Email,
    home_partnership_id: Option<i32>,
    membership: Option<NewMembership>,
) -> Result<person::Model, WriteError> {
    let txn = db.begin_write().await?;
    let person = person::ActiveModel {
        name: Set(name.into_inner()),
        email: Set(email.into_inner()),
        home_partnership_id: Set(home_partnership_id),
        created_at: Set(Utc::now()),
        // Set, not left to the column's default: SQLite's `RETURNING` on a pooled connection
        // that read the table before migration 000013 added the column answers NULL for it.
        language: Set(entity::enums::Language::default()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(duplicate_is_conflict("email", "a person with this e-mail address exists"))?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "person.create",
            target_type: NodeType::Person,
            target_id: person.id,
            partnership_id: home_partnership_id,
            detail: None,
        },
    )
    .await?;
    if let Some(new) = membership {
        insert_membership(&txn, actor, person.id, new).await?;
    }
    db.commit(txn, Effect::Created(NodeType::Person, person.id)).await?;
    Ok(person)
}

/// Registers an existing person in `partnership_id` (their coordinators manage the person from now on)
/// and, if given, adds a membership: what `createPerson` does for an e-mail address that belongs
/// to someone the caller could not see, instead of creating a duplicate or saying they exist. The
/// person's home region is told in its own audit log.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn register_person(
    db: &Db,
    actor: Actor,
    existing: &person::Model,
    partnership_id: i32,
    membership: Option<NewMembership>,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let already = person_partnership::Entity::find_by_id((existing.id, partnership_id)).one(&txn).await?;
    if already.is_none() && existing.home_partnership_id != Some(partnership_id) {
        person_partnership::ActiveModel {
            person_id: Set(existing.id),
            partnership_id: Set(partnership_id),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    let regions = std::iter::once(Some(partnership_id)).chain(
        (existing.home_partnership_id != Some(partnership_id)).then_some(existing.home_partnership_id),
    );
    for region in regions.flatten() {
        audit::record(
            &txn,
            actor,
            Event {
                action: "person.register",
                target_type: NodeType::Person,
                target_id: existing.id,
                partnership_id: Some(region),
                detail: Some(json!({ "region": partnership_id })),
            },
        )
        .await?;
    }
    if let Some(new) = membership {
        insert_membership(&txn, actor, existing.id, new).await?;
    }
    db.commit(txn, Effect::Created(NodeType::Person, existing.id)).await?;
    Ok(())
}

/// Ends a person's registration in `partnership_id` (not their home region): its coordinators no
/// longer manage the person unless a membership there says otherwise. Both regions' logs say so.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unregister_person(
    db: &Db,
    actor: Actor,
    existing: &person::Model,
    partnership_id: i32,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let removed = person_partnership::Entity::delete_by_id((existing.id, partnership_id)).exec(&txn).await?;
    if removed.rows_affected == 0 {
        return Err(WriteError::NotFound { field: "region" });
    }
    let regions = std::iter::once(Some(partnership_id)).chain(std::iter::once(existing.home_partnership_id));
    for region in regions.flatten() {
        audit::record(
            &txn,
            actor,
            Event {
                action: "person.unregister",
                target_type: NodeType::Person,
                target_id: existing.id,
                partnership_id: Some(region),
                detail: Some(json!({ "region": partnership_id })),
            },
        )
        .await?;
    }
    db.commit(txn, Effect::Changed(NodeType::Person, existing.id)).await?;
    Ok(())
}

/// Where a membership is held: a coordinator's in a partnership, every other role's in an
/// organisation of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldIn {
    Partnership(i32),
    Organisation(i32),
}

/// A membership to add: the role, where it is held, and the partnership whose audit log records it.
#[derive(Clone, Copy, Debug)]
pub struct NewMembership {
    pub role: Role,
    pub held_in: HeldIn,
    pub audited_in: Option<i32>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_membership(
    db: &Db,
    actor: Actor,
    person_id: i32,
    new: NewMembership,
) -> Result<membership::Model, WriteError> {
    let txn = db.begin_write().await?;
    if person::Entity::find_by_id(person_id).one(&txn).await?.is_none() {
        return Err(WriteError::NotFound { field: "person" });
    }
    let membership = insert_membership(&txn, actor, person_id, new).await?;
    db.commit(txn, Effect::Created(NodeType::Membership, membership.id)).await?;
    Ok(membership)
}

#[tracing::instrument(level = "debug", skip_all)]
async fn insert_membership(
    txn: &impl ConnectionTrait,
    actor: Actor,
    person_id: i32,
    new: NewMembership,
) -> Result<membership::Model, WriteError> {
    let (partnership_id, organisation_id, named) = match new.held_in {
        HeldIn::Partnership(id) => (Some(id), None, id),
        HeldIn::Organisation(id) => (None, Some(id), id),
    };
    let model = membership::ActiveModel {
        person_id: Set(person_id),
        role: Set(new.role.current()),
        partnership_id: Set(partnership_id),
        organisation_id: Set(organisation_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    let membership = model.insert(txn).await.map_err(duplicate_is_conflict(
        "organisation",
        "the person already has a membership in this organisation",
    ))?;
    audit::record(
        txn,
        actor,
        Event {
            action: "membership.add",
            target_type: NodeType::Membership,
            target_id: membership.id,
            partnership_id: new.audited_in,
            detail: Some(json!({ "person": person_id, "role": new.role.current(), "organisation": named })),
        },
    )
    .await?;
    Ok(membership)
}

/// Removes a membership; `partnership_id` is the organisation's region, for the audit log.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remove_membership(
    db: &Db,
    actor: Actor,
    membership_id: i32,
    partnership_id: Option<i32>,
) -> Result<membership::Model, WriteError> {
    let txn = db.begin_write().await?;
    let Some(existing) = membership::Entity::find_by_id(membership_id).one(&txn).await? else {
        return Err(WriteError::NotFound { field: "membership" });
    };
    // A region must keep a coordinator, or nobody could manage its people any more.
    if let (Role::Coordinator, Some(region)) = (existing.role, existing.partnership_id) {
        let coordinators = membership::Entity::find()
            .filter(membership::Column::Role.eq(Role::Coordinator))
            .filter(membership::Column::PartnershipId.eq(region))
            .count(&txn)
            .await?;
        if coordinators <= 1 {
            return Err(WriteError::Conflict {
                field: "membership",
                message: "this is the region's last coordinator; add another coordinator first".into(),
            });
        }
    }
    membership::Entity::delete_by_id(membership_id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "membership.remove",
            target_type: NodeType::Membership,
            target_id: membership_id,
            partnership_id,
            detail: Some(json!({ "person": existing.person_id, "role": existing.role })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Membership, membership_id)).await?;
    Ok(existing)
}
