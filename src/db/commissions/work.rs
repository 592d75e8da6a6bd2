//! The work of a commission, each write one transaction with its history event: draft it, open,
//! start or cancel it, an institution's interest, the award (its needs become COMMISSIONED),
//! progress notes and milestones.

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_interest, commission_need,
    enums::{CommissionEventKind, CommissionStatus, NeedStatus},
    milestone, need,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};

use super::{event, find, shift};
use crate::{
    db::{Db, Effect, NodeType, WriteError, duplicate_is_conflict},
    domain::commissions::CommissionMove,
};

/// What a coordinator drafts.
pub struct NewCommission {
    pub partnership_id: i32,
    pub question: String,
    pub product_type_id: i32,
    pub deadline: DateTime<Utc>,
    pub budget_nok: Option<i64>,
    pub need_ids: Vec<i32>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(db: &Db, actor: i32, new: NewCommission) -> Result<commission::Model, WriteError> {
    let txn = db.begin_write().await?;
    for &need_id in &new.need_ids {
        let need = need::Entity::find_by_id(need_id)
            .one(&txn)
            .await?
            .ok_or(WriteError::NotFound { field: "needs" })?;
        if need.status != NeedStatus::Prioritised {
            return Err(WriteError::Conflict {
                field: "needs",
                message: format!(
                    "“{}” is {}; a commission answers PRIORITISED needs",
                    need.title, need.status
                ),
            });
        }
    }
    let now = Utc::now();
    let created = commission::ActiveModel {
        partnership_id: Set(new.partnership_id),
        question: Set(new.question),
        product_type_id: Set(new.product_type_id),
        deadline: Set(new.deadline),
        budget_nok: Set(new.budget_nok),
        status: Set(CommissionStatus::Draft),
        awarded_institution_id: Set(None),
        created_by_person_id: Set(actor),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    commission_need::Entity::insert_many(new.need_ids.iter().map(|&need_id| commission_need::ActiveModel {
        commission_id: Set(created.id),
        need_id: Set(need_id),
    }))
    .exec_without_returning(&txn)
    .await?;
    event(&txn, created.id, actor, CommissionEventKind::Created, None, None).await?;
    db.commit(txn, Effect::Created(NodeType::Commission, created.id)).await?;
    Ok(created)
}

/// Opens, starts or cancels a commission (cancelling awarded work gives its needs back to the
/// pool of prioritised needs, see `shift`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn simple_move(
    db: &Db,
    actor: i32,
    id: i32,
    attempted: CommissionMove,
    note: Option<String>,
) -> Result<commission::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    let saved = shift(&txn, actor, read, attempted, note, None).await?;
    db.commit(txn, Effect::Changed(NodeType::Commission, id)).await?;
    Ok(saved)
}

/// An institution's interest, with its proposal; one per institution, editable while OPEN.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn express_interest(
    db: &Db,
    actor: i32,
    id: i32,
    institution_id: i32,
    proposal: String,
) -> Result<commission_interest::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    if read.status != CommissionStatus::Open {
        return Err(WriteError::Conflict {
            field: "commission",
            message: "the commission is not open for interest".into(),
        });
    }
    let now = Utc::now();
    let existing = commission_interest::Entity::find()
        .filter(commission_interest::Column::CommissionId.eq(id))
        .filter(commission_interest::Column::InstitutionId.eq(institution_id))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(interest) => {
            let mut model = interest.into_active_model();
            model.proposal = Set(proposal);
            model.person_id = Set(actor);
            model.updated_at = Set(now);
            model.update(&txn).await?
        }
        None => commission_interest::ActiveModel {
            commission_id: Set(id),
            institution_id: Set(institution_id),
            proposal: Set(proposal),
            person_id: Set(actor),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(duplicate_is_conflict("institution", "the institution has expressed interest already"))?,
    };
    event(&txn, id, actor, CommissionEventKind::Interest, None, None).await?;
    db.commit(txn, Effect::Changed(NodeType::Commission, id)).await?;
    Ok(saved)
}

/// Awards an open commission to an interested institution, or assigns a draft directly; its
/// needs become COMMISSIONED in the same transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn award(
    db: &Db,
    actor: i32,
    id: i32,
    institution_id: i32,
) -> Result<commission::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    if read.status == CommissionStatus::Open {
        let interested = commission_interest::Entity::find()
            .filter(commission_interest::Column::CommissionId.eq(id))
            .filter(commission_interest::Column::InstitutionId.eq(institution_id))
            .one(&txn)
            .await?;
        if interested.is_none() {
            return Err(WriteError::Invalid {
                field: "institution",
                message: "an open commission is awarded to an institution that expressed interest".into(),
            });
        }
    }
    let saved = shift(&txn, actor, read, CommissionMove::Award, None, Some(institution_id)).await?;
    db.commit(txn, Effect::Changed(NodeType::Commission, id)).await?;
    Ok(saved)
}

/// A progress note from the awarded institution; the first one starts the work.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn report_progress(
    db: &Db,
    actor: i32,
    id: i32,
    note: String,
) -> Result<commission::Model, WriteError> {
    let txn = db.begin_write().await?;
    let mut read = find(&txn, id).await?;
    if read.status == CommissionStatus::Awarded {
        read = shift(&txn, actor, read, CommissionMove::Start, None, None).await?;
    }
    if read.status != CommissionStatus::InProgress {
        return Err(WriteError::Conflict {
            field: "commission",
            message: "progress is reported while work is under way".into(),
        });
    }
    event(&txn, id, actor, CommissionEventKind::Progress, None, Some(note)).await?;
    db.commit(txn, Effect::Changed(NodeType::Commission, id)).await?;
    Ok(read)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_milestone(
    db: &Db,
    actor: i32,
    id: i32,
    title: String,
    due_at: DateTime<Utc>,
) -> Result<milestone::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    if !matches!(read.status, CommissionStatus::Awarded | CommissionStatus::InProgress) {
        return Err(WriteError::Conflict {
            field: "commission",
            message: "milestones belong to awarded work".into(),
        });
    }
    let saved = milestone::ActiveModel {
        commission_id: Set(id),
        title: Set(title.clone()),
        due_at: Set(due_at),
        done_at: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    event(&txn, id, actor, CommissionEventKind::MilestoneAdded, None, Some(title)).await?;
    db.commit(txn, Effect::Created(NodeType::Milestone, saved.id)).await?;
    Ok(saved)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn complete_milestone(
    db: &Db,
    actor: i32,
    milestone_id: i32,
) -> Result<milestone::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = milestone::Entity::find_by_id(milestone_id)
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "milestone" })?;
    if found.done_at.is_some() {
        return Err(WriteError::Conflict {
            field: "milestone",
            message: "the milestone is done already".into(),
        });
    }
    let (commission_id, title) = (found.commission_id, found.title.clone());
    let mut model = found.into_active_model();
    model.done_at = Set(Some(Utc::now()));
    let saved = model.update(&txn).await?;
    event(&txn, commission_id, actor, CommissionEventKind::MilestoneDone, None, Some(title)).await?;
    db.commit(txn, Effect::Changed(NodeType::Milestone, milestone_id)).await?;
    Ok(saved)
}
