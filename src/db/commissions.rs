//! Commissions and knowledge summaries: every write is one transaction with its history event;
//! awarding moves the needs to COMMISSIONED, publishing moves them to ANSWERED and cancelling
//! awarded work moves them back to PRIORITISED, in the same transaction.

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event, commission_interest, commission_need,
    enums::{CommissionEventKind, CommissionStatus, NeedStatus, UptakeStatus},
    milestone, need, need_cosign, summary, uptake,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use crate::{
    db::{Db, WriteError, duplicate_is_conflict, needs},
    domain::commissions::{CommissionMove, effect_on_needs, next},
};

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
        ..Default::default()
    }
    .insert(txn)
    .await?;
    crate::events::announce(txn, 'c', recorded.id).await?;
    Ok(())
}

async fn find(txn: &DatabaseTransaction, id: i32) -> Result<commission::Model, WriteError> {
    commission::Entity::find_by_id(id).one(txn).await?.ok_or(WriteError::NotFound { field: "commission" })
}

/// Moves a commission by the state machine, with its event, and its needs by
/// `effect_on_needs` (awarded: COMMISSIONED, published: ANSWERED, awarded work cancelled:
/// PRIORITISED again); returns the saved row.
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

async fn needs_of(txn: &DatabaseTransaction, commission_id: i32) -> Result<Vec<i32>, WriteError> {
    Ok(commission_need::Entity::find()
        .filter(commission_need::Column::CommissionId.eq(commission_id))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect())
}

/// What a coordinator drafts.
pub struct NewCommission {
    pub region_id: i32,
    pub question: String,
    pub product_type_id: i32,
    pub deadline: DateTime<Utc>,
    pub budget_nok: Option<i64>,
    pub need_ids: Vec<i32>,
}

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
        region_id: Set(new.region_id),
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
    crate::db::audit::note_subject("Commission", created.id);
    commission_need::Entity::insert_many(new.need_ids.iter().map(|&need_id| commission_need::ActiveModel {
        commission_id: Set(created.id),
        need_id: Set(need_id),
    }))
    .exec_without_returning(&txn)
    .await?;
    event(&txn, created.id, actor, CommissionEventKind::Created, None, None).await?;
    db.commit(txn).await?;
    Ok(created)
}

/// Opens, starts or cancels a commission (cancelling awarded work gives its needs back to the
/// pool of prioritised needs, see `shift`).
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
    db.commit(txn).await?;
    Ok(saved)
}

/// An institution's interest, with its proposal; one per institution, editable while OPEN.
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
    db.commit(txn).await?;
    Ok(saved)
}

/// Awards an open commission to an interested institution, or assigns a draft directly; its
/// needs become COMMISSIONED in the same transaction.
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
    db.commit(txn).await?;
    Ok(saved)
}

/// A progress note from the awarded institution; the first one starts the work.
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
    db.commit(txn).await?;
    Ok(read)
}

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
    crate::db::audit::note_subject("Milestone", saved.id);
    event(&txn, id, actor, CommissionEventKind::MilestoneAdded, None, Some(title)).await?;
    db.commit(txn).await?;
    Ok(saved)
}

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
    db.commit(txn).await?;
    Ok(saved)
}

/// A delivered knowledge summary.
pub struct NewSummary {
    pub title: String,
    pub abstract_text: String,
    pub language: String,
    pub url: Option<String>,
    pub doi: Option<String>,
    pub authors: String,
}

pub async fn deliver(db: &Db, actor: i32, id: i32, new: NewSummary) -> Result<summary::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    shift(&txn, actor, read, CommissionMove::Deliver, None, None).await?;
    let saved = summary::ActiveModel {
        commission_id: Set(id),
        title: Set(new.title),
        abstract_text: Set(new.abstract_text),
        language: Set(new.language),
        url: Set(new.url),
        doi: Set(new.doi),
        authors: Set(new.authors),
        delivered_by_person_id: Set(actor),
        delivered_at: Set(Utc::now()),
        published_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(duplicate_is_conflict("commission", "a summary has been delivered already"))?;
    crate::db::audit::note_subject("Summary", saved.id);
    db.commit(txn).await?;
    Ok(saved)
}

/// Publishes the delivered summary: it becomes public, the commission PUBLISHED and its needs
/// ANSWERED, all in one transaction.
pub async fn publish(db: &Db, actor: i32, id: i32) -> Result<commission::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    let saved = shift(&txn, actor, read, CommissionMove::Publish, None, None).await?;
    let delivered = summary::Entity::find()
        .filter(summary::Column::CommissionId.eq(id))
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "summary" })?;
    let mut model = delivered.into_active_model();
    model.published_at = Set(Some(Utc::now()));
    model.update(&txn).await?;
    db.commit(txn).await?;
    Ok(saved)
}

/// The municipalities behind the needs a commission answered (owners and co-signers).
pub async fn municipalities_behind(
    db: &impl sea_orm::ConnectionTrait,
    commission_id: i32,
) -> Result<Vec<i32>, sea_orm::DbErr> {
    let need_ids: Vec<i32> = commission_need::Entity::find()
        .filter(commission_need::Column::CommissionId.eq(commission_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect();
    let mut municipalities: Vec<i32> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| n.municipality_id)
        .collect();
    municipalities.extend(
        need_cosign::Entity::find()
            .filter(need_cosign::Column::NeedId.is_in(need_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.municipality_id),
    );
    municipalities.sort_unstable();
    municipalities.dedup();
    Ok(municipalities)
}

/// Records (or updates) whether a municipality used a published summary.
pub async fn record_uptake(
    db: &Db,
    actor: i32,
    summary_id: i32,
    municipality_id: i32,
    status: UptakeStatus,
    note: Option<String>,
) -> Result<uptake::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = summary::Entity::find_by_id(summary_id)
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "summary" })?;
    if found.published_at.is_none() {
        return Err(WriteError::Conflict {
            field: "summary",
            message: "uptake is recorded for published summaries".into(),
        });
    }
    if !municipalities_behind(&txn, found.commission_id).await?.contains(&municipality_id) {
        return Err(WriteError::Invalid {
            field: "municipality",
            message: "only municipalities behind the answered needs record uptake".into(),
        });
    }
    let existing = uptake::Entity::find()
        .filter(uptake::Column::SummaryId.eq(summary_id))
        .filter(uptake::Column::MunicipalityId.eq(municipality_id))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(row) => {
            let mut model = row.into_active_model();
            model.status = Set(status);
            model.note = Set(note);
            model.person_id = Set(actor);
            model.recorded_at = Set(Utc::now());
            model.update(&txn).await?
        }
        None => {
            uptake::ActiveModel {
                summary_id: Set(summary_id),
                municipality_id: Set(municipality_id),
                status: Set(status),
                note: Set(note),
                person_id: Set(actor),
                recorded_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    crate::db::audit::note_subject("Uptake", saved.id);
    db.commit(txn).await?;
    Ok(saved)
}
