//! Writes of people and memberships, each one transaction with its audit event: create, register
//! and unregister a person; add and remove a membership (a region keeps its last coordinator).

use chrono::Utc;
use entity::{enums::Role, membership, person, person_region};
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
    domain::identity::{Email, OrganisationKind, PersonName},
};

/// Creates a person (and, if given, their first membership).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_person(
    db: &Db,
    actor: Actor,
    name: PersonName,
    email: Email,
    home_region_id: Option<i32>,
    membership: Option<NewMembership>,
) -> Result<person::Model, WriteError> {
    let txn = db.begin_write().await?;
    let person = person::ActiveModel {
        name: Set(name.into_inner()),
        email: Set(email.into_inner()),
        home_region_id: Set(home_region_id),
        created_at: Set(Utc::now()),
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
            region_id: home_region_id,
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

/// Registers an existing person in `region_id` (their coordinators manage the person from now on)
/// and, if given, adds a membership: what `createPerson` does for an e-mail address that belongs
/// to someone the caller could not see, instead of creating a duplicate or saying they exist. The
/// person's home region is told in its own audit log.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn register_person(
    db: &Db,
    actor: Actor,
    existing: &person::Model,
    region_id: i32,
    membership: Option<NewMembership>,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let already = person_region::Entity::find_by_id((existing.id, region_id)).one(&txn).await?;
    if already.is_none() && existing.home_region_id != Some(region_id) {
        person_region::ActiveModel {
            person_id: Set(existing.id),
            region_id: Set(region_id),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    let regions = std::iter::once(Some(region_id))
        .chain((existing.home_region_id != Some(region_id)).then_some(existing.home_region_id));
    for region in regions.flatten() {
        audit::record(
            &txn,
            actor,
            Event {
                action: "person.register",
                target_type: NodeType::Person,
                target_id: existing.id,
                region_id: Some(region),
                detail: Some(json!({ "region": region_id })),
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

/// Ends a person's registration in `region_id` (not their home region): its coordinators no
/// longer manage the person unless a membership there says otherwise. Both regions' logs say so.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unregister_person(
    db: &Db,
    actor: Actor,
    existing: &person::Model,
    region_id: i32,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let removed = person_region::Entity::delete_by_id((existing.id, region_id)).exec(&txn).await?;
    if removed.rows_affected == 0 {
        return Err(WriteError::NotFound { field: "region" });
    }
    let regions = std::iter::once(Some(region_id)).chain(std::iter::once(existing.home_region_id));
    for region in regions.flatten() {
        audit::record(
            &txn,
            actor,
            Event {
                action: "person.unregister",
                target_type: NodeType::Person,
                target_id: existing.id,
                region_id: Some(region),
                detail: Some(json!({ "region": region_id })),
            },
        )
        .await?;
    }
    db.commit(txn, Effect::Changed(NodeType::Person, existing.id)).await?;
    Ok(())
}

/// A membership to add: the role, the organisation's id (of the role's kind) and its region.
#[derive(Clone, Copy, Debug)]
pub struct NewMembership {
    pub role: Role,
    pub organisation_id: i32,
    pub region_id: Option<i32>,
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
    let org = Some(new.organisation_id);
    let kind = OrganisationKind::of(new.role);
    let mut model = membership::ActiveModel {
        person_id: Set(person_id),
        role: Set(new.role),
        region_id: Set(None),
        cluster_id: Set(None),
        municipality_id: Set(None),
        institution_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    match kind {
        OrganisationKind::Region => model.region_id = Set(org),
        OrganisationKind::Cluster => model.cluster_id = Set(org),
        OrganisationKind::Municipality => model.municipality_id = Set(org),
        OrganisationKind::Institution => model.institution_id = Set(org),
    }
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
            region_id: new.region_id,
            detail: Some(
                json!({ "person": person_id, "role": new.role, "organisation": new.organisation_id }),
            ),
        },
    )
    .await?;
    Ok(membership)
}

/// Removes a membership; `region_id` is the organisation's region, for the audit log.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remove_membership(
    db: &Db,
    actor: Actor,
    membership_id: i32,
    region_id: Option<i32>,
) -> Result<membership::Model, WriteError> {
    let txn = db.begin_write().await?;
    let Some(existing) = membership::Entity::find_by_id(membership_id).one(&txn).await? else {
        return Err(WriteError::NotFound { field: "membership" });
    };
    // A region must keep a coordinator, or nobody could manage its people any more.
    if let (Role::Coordinator, Some(region)) = (existing.role, existing.region_id) {
        let coordinators = membership::Entity::find()
            .filter(membership::Column::Role.eq(Role::Coordinator))
            .filter(membership::Column::RegionId.eq(region))
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
            region_id,
            detail: Some(json!({ "person": existing.person_id, "role": existing.role })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Membership, membership_id)).await?;
    Ok(existing)
}
