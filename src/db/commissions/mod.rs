//! Commissions and knowledge summaries: every write is one transaction with its history event;
//! awarding moves the needs to COMMISSIONED, publishing moves them to ANSWERED and cancelling
//! awarded work moves them back to PRIORITISED, in the same transaction.
//!
//! - `work`: draft a commission, move it (open, start, cancel), interest, award, progress and
//!   milestones.
//! - `summaries`: deliver and publish the summary, and record its uptake by the municipalities
//!   behind the answered needs.
//! - `read`: the list of the commissions a viewer may see (`CommissionScope`,
//!   `CommissionFilter`), the commissions of needs, published summaries, milestones and uptake.
//!
//! Below: the history event every write records, and `shift`, the one place a commission moves
//! by its state machine (taking its needs along).

mod read;
mod summaries;
mod work;

use chrono::Utc;
use entity::{
    commission, commission_event, commission_need,
    enums::{CommissionEventKind, CommissionStatus},
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter,
};

pub use read::{
    CommissionFilter, CommissionScope, count, milestone, of_needs, page, published_summaries, uptake,
};
pub use summaries::{NewSummary, deliver, municipalities_behind, publish, record_uptake};
pub use work::{
    NewCommission, add_milestone, award, complete_milestone, create, express_interest, report_progress,
    simple_move,
};

use crate::{
    db::{WriteError, needs},
    domain::commissions::{CommissionMove, effect_on_needs, next},
};

#[tracing::instrument(level = "debug", skip_all)]
async fn event(
    txn: &DatabaseTransaction,
    commission_id: i32,
    actor: i32,
    kind: CommissionEventKind,
    change: Option<(CommissionStatus, CommissionStatus)>,
    note: Option<String>,
) -> Result<(), WriteError> {
    let recorded = commission_event::ActiveModel {
        commission_id: Set(commission_id),
        occurred_at: Set(Utc::now()),
        actor_person_id: Set(Some(actor)),
        kind: Set(kind),
        from_status: Set(change.map(|c| c.0)),
        to_status: Set(change.map(|c| c.1)),
        note: Set(note),
        notify_pending: Set(true),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    super::outbox::announce(txn, super::outbox::Topic::Commission, recorded.id).await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all)]
async fn find(txn: &DatabaseTransaction, id: i32) -> Result<commission::Model, WriteError> {
    commission::Entity::find_by_id(id).one(txn).await?.ok_or(WriteError::NotFound { field: "commission" })
}

/// Moves a commission by the state machine, with its event, and its needs by
/// `effect_on_needs` (awarded: COMMISSIONED, published: ANSWERED, awarded work cancelled:
/// PRIORITISED again); returns the saved row.
#[tracing::instrument(level = "debug", skip_all)]
async fn shift(
    txn: &DatabaseTransaction,
    actor: i32,
    read: commission::Model,
    attempted: CommissionMove,
    note: Option<String>,
    awarded: Option<i32>,
) -> Result<commission::Model, WriteError> {
    let to = next(read.status, attempted)
        .map_err(|illegal| WriteError::Conflict { field: "commission", message: illegal.to_string() })?;
    let from = read.status;
    let id = read.id;
    let mut model = read.into_active_model();
    model.status = Set(to);
    model.updated_at = Set(Utc::now());
    if let Some(institution) = awarded {
        model.awarded_institution_id = Set(Some(institution));
    }
    let saved = model.update(txn).await?;
    event(txn, id, actor, CommissionEventKind::StatusChanged, Some((from, to)), note).await?;
    // The needs follow, through their own state machine, in the same transaction.
    if let Some(need_move) = effect_on_needs(from, attempted) {
        let reason = match attempted {
            CommissionMove::Award => format!("Commission {id} awarded"),
            CommissionMove::Publish => format!("Summary of commission {id} published"),
            _ => format!("Commission {id} cancelled"),
        };
        for need_id in needs_of(txn, id).await? {
            needs::move_in(txn, Some(actor), need_id, None, need_move, Some(reason.clone())).await?;
        }
    }
    Ok(saved)
}

#[tracing::instrument(level = "debug", skip_all)]
async fn needs_of(txn: &DatabaseTransaction, commission_id: i32) -> Result<Vec<i32>, WriteError> {
    Ok(commission_need::Entity::find()
        .filter(commission_need::Column::CommissionId.eq(commission_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect())
}
