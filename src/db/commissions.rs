//! Commissions and knowledge summaries: every write is one transaction with its history event;
//! awarding moves the needs to COMMISSIONED, publishing moves them to ANSWERED and cancelling
//! awarded work moves them back to PRIORITISED, in the same transaction.

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event, commission_interest, commission_need,
    enums::{CommissionEventKind, CommissionStatus, NeedStatus, UptakeStatus},
    milestone, need, need_cosign, need_theme, summary, uptake,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::{
    db::{Db, Effect, NodeType, WriteError, duplicate_is_conflict, needs, pages::KeyWindow},
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
    super::outbox::announce(txn, super::outbox::Topic::Commission, recorded.id).await?;
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
    db.commit(txn, Effect::Created(NodeType::Summary, saved.id)).await?;
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
    db.commit(txn, Effect::Changed(NodeType::Commission, id)).await?;
    Ok(saved)
}

/// The municipalities behind the needs a commission answered (owners and co-signers).
pub async fn municipalities_behind(db: &impl ConnectionTrait, commission_id: i32) -> Result<Vec<i32>, DbErr> {
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
    db.commit(txn, Effect::Created(NodeType::Uptake, saved.id)).await?;
    Ok(saved)
}

// ---------------------------------------------------------------------------------------------
// Reading.

/// The commissions a viewer may see, as conditions a query can apply: published ones, the drafts
/// of `draft_regions`, and past draft those of `regions` (or all of them). The same rule as
/// `Action::SeeCommission` in `auth::policy` (a test holds them together).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommissionScope {
    pub draft_regions: Vec<i32>,
    pub all_past_draft: bool,
    pub regions: Vec<i32>,
}

/// Which commissions to list: those of `scope`, narrowed by the rest. An empty list and `None`
/// mean no restriction.
#[derive(Clone, Debug, Default)]
pub struct CommissionFilter {
    /// The commissions the viewer may see.
    pub scope: CommissionScope,
    pub statuses: Vec<CommissionStatus>,
    /// Awarded to this institution.
    pub institution_id: Option<i32>,
    pub product_type_id: Option<i32>,
    /// Answering a need with this theme.
    pub theme_id: Option<i32>,
}

/// The commissions of `scope` (see [`CommissionScope`]), as a condition.
fn in_scope(scope: &CommissionScope) -> Condition {
    let status = commission::Column::Status;
    let mut visible = Condition::any().add(status.eq(CommissionStatus::Published));
    if !scope.draft_regions.is_empty() {
        visible = visible.add(
            Condition::all()
                .add(status.eq(CommissionStatus::Draft))
                .add(commission::Column::RegionId.is_in(scope.draft_regions.iter().copied())),
        );
    }
    let past_draft = status.is_not_in([CommissionStatus::Draft, CommissionStatus::Published]);
    if scope.all_past_draft {
        visible = visible.add(past_draft);
    } else if !scope.regions.is_empty() {
        visible = visible.add(
            Condition::all()
                .add(past_draft)
                .add(commission::Column::RegionId.is_in(scope.regions.iter().copied())),
        );
    }
    visible
}

/// The commissions matching `filter`, unordered and uncut.
fn matching(filter: &CommissionFilter) -> Select<commission::Entity> {
    let mut select = commission::Entity::find().filter(in_scope(&filter.scope));
    if !filter.statuses.is_empty() {
        select = select.filter(commission::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(id) = filter.institution_id {
        select = select.filter(commission::Column::AwardedInstitutionId.eq(id));
    }
    if let Some(id) = filter.product_type_id {
        select = select.filter(commission::Column::ProductTypeId.eq(id));
    }
    if let Some(theme) = filter.theme_id {
        // Themes come through the needs a commission answers.
        select = select.filter(
            commission::Column::Id.in_subquery(
                Query::select()
                    .column((commission_need::Entity, commission_need::Column::CommissionId))
                    .from(commission_need::Entity)
                    .inner_join(
                        need_theme::Entity,
                        Expr::col((need_theme::Entity, need_theme::Column::NeedId))
                            .equals((commission_need::Entity, commission_need::Column::NeedId)),
                    )
                    .and_where(Expr::col((need_theme::Entity, need_theme::Column::ThemeId)).eq(theme))
                    .to_owned(),
            ),
        );
    }
    select
}

/// One page of the commissions matching `filter`, newest first, cut in SQL by key: the window's
/// keys are negated ids (so that they grow along the order). The rows come newest first, with
/// whether more follow in the window's direction of travel. One statement.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &CommissionFilter,
    window: &KeyWindow,
) -> Result<(Vec<commission::Model>, bool), DbErr> {
    let mut select = matching(filter);
    // key > after, that is id < -after; key < before, that is id > -before.
    if let Some(after) = window.after {
        select = select.filter(commission::Column::Id.lt(-after));
    }
    if let Some(before) = window.before {
        select = select.filter(commission::Column::Id.gt(-before));
    }
    select = if window.from_end {
        select.order_by_asc(commission::Column::Id)
    } else {
        select.order_by_desc(commission::Column::Id)
    };
    let mut rows = select.limit(window.size as u64 + 1).all(db).await?;
    let more = rows.len() > window.size;
    rows.truncate(window.size);
    if window.from_end {
        rows.reverse();
    }
    Ok((rows, more))
}

/// How many commissions match `filter`, across all pages.
pub async fn count(db: &impl ConnectionTrait, filter: &CommissionFilter) -> Result<u64, DbErr> {
    matching(filter).count(db).await
}

/// The commissions answering each of `need_ids`, as (need id, commission) pairs, newest
/// commission first, through `commission_need`: one statement.
pub async fn of_needs(
    db: &impl ConnectionTrait,
    need_ids: &[i32],
) -> Result<Vec<(i32, commission::Model)>, DbErr> {
    let rows = commission_need::Entity::find()
        .filter(commission_need::Column::NeedId.is_in(need_ids.iter().copied()))
        .find_also_related(commission::Entity)
        .order_by_desc(commission::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, commission)| Some((link.need_id, commission?))).collect())
}

/// The published summaries whose title and abstract hold every word of `search` (any case),
/// newest first. The words are matched in memory, after one read of the published summaries, so
/// that case folds alike on both databases.
pub async fn published_summaries(
    db: &impl ConnectionTrait,
    search: Option<&str>,
) -> Result<Vec<summary::Model>, DbErr> {
    let rows = summary::Entity::find()
        .filter(summary::Column::PublishedAt.is_not_null())
        .order_by_desc(summary::Column::Id)
        .all(db)
        .await?;
    let words = search.map(crate::domain::needs::search_words).unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter(|s| {
            let text = format!("{} {}", s.title, s.abstract_text).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect())
}

/// A milestone by id.
pub async fn milestone(db: &impl ConnectionTrait, id: i32) -> Result<Option<milestone::Model>, DbErr> {
    milestone::Entity::find_by_id(id).one(db).await
}

/// An uptake record by id.
pub async fn uptake(db: &impl ConnectionTrait, id: i32) -> Result<Option<uptake::Model>, DbErr> {
    uptake::Entity::find_by_id(id).one(db).await
}
