//! Who stands behind a need: co-signatures (and their withdrawal), merges of duplicates and
//! their undoing. `carry` is the one place that writes the co-signatures a need carries from the
//! duplicates merged into it, so every one of these writes leaves each need in a chain of merges
//! with exactly the units still behind it. A unit is a municipality or a unit within one (a
//! district, a programme, ...); each co-signature also keeps the municipality its unit is in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use entity::{
    enums::{NeedEventKind, NeedStatus},
    need, need_cosign, need_event,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};

use super::write::{NewEvent, Unit, cosigning_unit, lock, record, save};
use crate::{
    db::{Db, Effect, NodeType, WriteError, duplicate_is_conflict},
    domain::needs::{Move, is_open, next},
};

/// Adds the unit `organisation_id` as a co-signer of an open, submitted need.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn cosign(
    db: &Db,
    actor: i32,
    need_id: i32,
    organisation_id: i32,
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = lock(&txn, need_id, None).await?;
    if read.status == NeedStatus::Draft || !is_open(read.status) {
        return Err(WriteError::Conflict {
            field: "need",
            message: format!("a need that is {} cannot be co-signed", read.status),
        });
    }
    if read.organisation_id == Some(organisation_id) {
        return Err(WriteError::Invalid {
            field: "organisation",
            message: "a unit cannot co-sign its own need".into(),
        });
    }
    let unit = cosigning_unit(&txn, organisation_id).await?;
    insert_cosign(&txn, need_id, unit, Some(actor), None)
        .await
        .map_err(duplicate_is_conflict("organisation", "the unit has co-signed this need already"))?;
    let saved = recount(&txn, &read).await?;
    record(&txn, NewEvent::of(need_id, Some(actor), NeedEventKind::Cosigned).signed_by(unit)).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// Takes the unit `organisation_id`'s own co-signature back. A co-signature carried by a merge
/// is not the unit's to withdraw: it leaves with `unmerge`. The reach of the needs this one is
/// merged into follows (see `carry`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn withdraw_cosign(
    db: &Db,
    actor: i32,
    need_id: i32,
    organisation_id: i32,
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = lock(&txn, need_id, None).await?;
    let row = need_cosign::Entity::find()
        .filter(need_cosign::Column::NeedId.eq(need_id))
        .filter(need_cosign::Column::OrganisationId.eq(organisation_id))
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "organisation" })?;
    if row.carried_from_need_id.is_some() {
        return Err(WriteError::Conflict {
            field: "organisation",
            message: "the co-signature came with a merged duplicate; unmerging it takes it back".into(),
        });
    }
    need_cosign::Entity::delete_by_id(row.id).exec(&txn).await?;
    let saved = carry(&txn, &read, true).await?;
    carry_up(&txn, saved.merged_into_id).await?;
    let unit = Unit { organisation_id, municipality_id: row.municipality_id };
    record(&txn, NewEvent::of(need_id, Some(actor), NeedEventKind::CosignatureWithdrawn).signed_by(unit))
        .await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// The unit that raised a need.
fn raised_in(need: &need::Model) -> Option<Unit> {
    need.organisation_id
        .map(|organisation_id| Unit { organisation_id, municipality_id: need.municipality_id })
}

/// The unit of a co-signature.
fn cosigner(row: &need_cosign::Model) -> Option<Unit> {
    row.organisation_id.map(|organisation_id| Unit { organisation_id, municipality_id: row.municipality_id })
}

/// Makes the carried co-signatures of a need what its duplicates bring, and nothing else: the
/// one place where carried co-signatures are written. The units behind a need are its own, its
/// co-signers' and, in turn, those behind each duplicate merged into it; each counts once. A
/// unit that raised the need or co-signed it itself is not carried; any other behind a duplicate
/// is carried from (the lowest id of) a duplicate that brings it. Rows whose
/// duplicate no longer brings them go. Raises the need's version and stores its count when
/// something changed (or always, with `touch`). Returns the need as saved.
#[tracing::instrument(level = "debug", skip_all)]
async fn carry(
    txn: &DatabaseTransaction,
    read: &need::Model,
    touch: bool,
) -> Result<need::Model, WriteError> {
    let rows = need_cosign::Entity::find().filter(need_cosign::Column::NeedId.eq(read.id)).all(txn).await?;
    let own: BTreeSet<i32> = raised_in(read)
        .into_iter()
        .chain(rows.iter().filter(|r| r.carried_from_need_id.is_none()).filter_map(cosigner))
        .map(|u| u.organisation_id)
        .collect();
    let duplicates = need::Entity::find()
        .filter(need::Column::MergedIntoId.eq(read.id))
        .filter(need::Column::Status.eq(NeedStatus::Merged))
        .order_by_asc(need::Column::Id)
        .all(txn)
        .await?;
    let duplicate_ids: Vec<i32> = duplicates.iter().map(|d| d.id).collect();
    let behind_duplicates = if duplicate_ids.is_empty() {
        Vec::new()
    } else {
        need_cosign::Entity::find()
            .filter(need_cosign::Column::NeedId.is_in(duplicate_ids))
            .order_by_asc(need_cosign::Column::NeedId)
            .all(txn)
            .await?
    };
    // Unit -> the duplicates that bring it, lowest id first.
    let mut brought: BTreeMap<i32, (Unit, Vec<i32>)> = BTreeMap::new();
    for duplicate in &duplicates {
        let behind = raised_in(duplicate)
            .into_iter()
            .chain(behind_duplicates.iter().filter(|c| c.need_id == duplicate.id).filter_map(cosigner));
        for unit in behind {
            if !own.contains(&unit.organisation_id) {
                brought
                    .entry(unit.organisation_id)
                    .or_insert_with(|| (unit, Vec::new()))
                    .1
                    .push(duplicate.id);
            }
        }
    }
    let mut changed = false;
    for row in rows.iter().filter(|r| r.carried_from_need_id.is_some()) {
        let unit = row.organisation_id.unwrap_or_default();
        let still = brought.get(&unit).is_some_and(|(_, from)| {
            row.carried_from_need_id.is_some_and(|carried_from| from.contains(&carried_from))
        });
        if still {
            brought.remove(&unit);
        } else {
            need_cosign::Entity::delete_by_id(row.id).exec(txn).await?;
            changed = true;
        }
    }
    for (unit, from) in brought.into_values() {
        insert_cosign(txn, read.id, unit, None, from.first().copied()).await?;
        changed = true;
    }
    if changed || touch { recount(txn, read).await } else { Ok(read.clone()) }
}

/// `carry` for `need_id` and every need it is merged into in turn, as far as the chain goes.
#[tracing::instrument(level = "debug", skip_all)]
async fn carry_up(txn: &DatabaseTransaction, mut need_id: Option<i32>) -> Result<(), WriteError> {
    let mut seen = Vec::new();
    while let Some(id) = need_id {
        if seen.contains(&id) {
            break;
        }
        seen.push(id);
        let read = lock(txn, id, None).await?;
        carry(txn, &read, false).await?;
        need_id = read.merged_into_id;
    }
    Ok(())
}

/// Stores the number of co-signers with the need (for ordering by reach) and raises its version.
#[tracing::instrument(level = "debug", skip_all)]
async fn recount(txn: &DatabaseTransaction, read: &need::Model) -> Result<need::Model, WriteError> {
    let count =
        need_cosign::Entity::find().filter(need_cosign::Column::NeedId.eq(read.id)).count(txn).await?;
    let mut model = read.clone().into_active_model();
    model.cosigner_count = Set(i32::try_from(count).unwrap_or(i32::MAX));
    save(txn, read, model).await
}

/// Merges `duplicates` into `survivor`: each duplicate becomes MERGED and points at the survivor,
/// keeping its own text and history; the units behind it (owner, co-signers and what
/// its own duplicates carried) become carried co-signers of the survivor unless they are there
/// already (`carry`). All or nothing.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn merge(
    db: &Db,
    actor: i32,
    survivor_id: i32,
    duplicate_ids: &[i32],
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let survivor = lock(&txn, survivor_id, None).await?;
    if survivor.status == NeedStatus::Draft || !is_open(survivor.status) {
        return Err(WriteError::Conflict {
            field: "survivor",
            message: format!("a need that is {} cannot take in duplicates", survivor.status),
        });
    }
    for &duplicate_id in duplicate_ids {
        if duplicate_id == survivor_id {
            return Err(WriteError::Invalid {
                field: "duplicates",
                message: "a need cannot be merged into itself".into(),
            });
        }
        let duplicate = lock(&txn, duplicate_id, None).await?;
        let to = next(duplicate.status, Move::Merge)
            .map_err(|illegal| WriteError::Conflict { field: "duplicates", message: illegal.to_string() })?;
        let mut model = duplicate.clone().into_active_model();
        model.status = Set(to);
        model.merged_into_id = Set(Some(survivor_id));
        save(&txn, &duplicate, model).await?;

        record(
            &txn,
            NewEvent {
                from: Some(duplicate.status),
                to: Some(to),
                related_need_id: Some(survivor_id),
                ..NewEvent::of(duplicate_id, Some(actor), NeedEventKind::Merged)
            },
        )
        .await?;
        record(
            &txn,
            NewEvent {
                related_need_id: Some(duplicate_id),
                ..NewEvent::of(survivor_id, Some(actor), NeedEventKind::Absorbed)
            },
        )
        .await?;
    }
    // The units behind the duplicates become carried co-signers of the survivor.
    let survivor = lock(&txn, survivor_id, None).await?;
    let saved = carry(&txn, &survivor, true).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, survivor_id)).await?;
    Ok(saved)
}

/// Undoes the merge of `duplicate_id`: it gets back the state it had, and the units
/// only it brought leave the survivor and every need the survivor is merged into in turn
/// (`carry`). Returns the duplicate.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn unmerge(db: &Db, actor: i32, duplicate_id: i32) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let duplicate = lock(&txn, duplicate_id, None).await?;
    let (Some(survivor_id), NeedStatus::Merged) = (duplicate.merged_into_id, duplicate.status) else {
        return Err(WriteError::Conflict { field: "need", message: "the need is not merged".into() });
    };
    let merge_event = need_event::Entity::find()
        .filter(need_event::Column::NeedId.eq(duplicate_id))
        .filter(need_event::Column::Kind.eq(NeedEventKind::Merged))
        .order_by_desc(need_event::Column::Id)
        .one(&txn)
        .await?;
    let restore = merge_event.and_then(|e| e.from_status).ok_or_else(|| WriteError::Conflict {
        field: "need",
        message: "the merge has no recorded state to go back to".into(),
    })?;
    let to = next(duplicate.status, Move::Unmerge { restore })
        .map_err(|illegal| WriteError::Conflict { field: "need", message: illegal.to_string() })?;
    let mut model = duplicate.clone().into_active_model();
    model.status = Set(to);
    model.merged_into_id = Set(None);
    let restored = save(&txn, &duplicate, model).await?;
    // The survivor, and whatever it is merged into in turn, keep exactly the units
    // still behind them.
    let survivor = lock(&txn, survivor_id, None).await?;
    carry(&txn, &survivor, true).await?;
    carry_up(&txn, survivor.merged_into_id).await?;
    for (need_id, related) in [(duplicate_id, survivor_id), (survivor_id, duplicate_id)] {
        let (from, to) =
            if need_id == duplicate_id { (Some(NeedStatus::Merged), Some(to)) } else { (None, None) };
        record(
            &txn,
            NewEvent {
                from,
                to,
                related_need_id: Some(related),
                ..NewEvent::of(need_id, Some(actor), NeedEventKind::Unmerged)
            },
        )
        .await?;
    }
    db.commit(txn, Effect::Changed(NodeType::Need, duplicate_id)).await?;
    Ok(restored)
}

/// A co-signature of `unit` (carried from a merged duplicate when `carried_from`).
async fn insert_cosign(
    txn: &DatabaseTransaction,
    need_id: i32,
    unit: Unit,
    person_id: Option<i32>,
    carried_from: Option<i32>,
) -> Result<(), DbErr> {
    need_cosign::ActiveModel {
        need_id: Set(need_id),
        municipality_id: Set(unit.municipality_id),
        organisation_id: Set(Some(unit.organisation_id)),
        person_id: Set(person_id),
        carried_from_need_id: Set(carried_from),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}
