//! Prioritisation rounds: opening, scoring, and closing (one transaction that prioritises the top
//! needs and defers the rest, each with its history event).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    enums::{NeedStatus, RoundStatus},
    need, round, round_candidate, round_criterion, round_score,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor, Event},
        needs,
    },
    domain::{
        needs::{Move, in_pool},
        rounds::{Candidate, MAX_SCORERS_PER_NEED, Ranked, SCORE_RANGE, Score, Scorer, rank},
    },
};

/// A criterion for a new round.
#[derive(Clone, Debug)]
pub struct NewCriterion {
    pub key: String,
    pub label_nb: String,
    pub label_nn: String,
    pub label_en: String,
    pub weight: f64,
}

/// What a coordinator asks for when opening a round.
pub struct NewRound {
    pub partnership_id: i32,
    pub name: String,
    pub closes_at: DateTime<Utc>,
    pub prioritise_count: i32,
    pub criteria: Vec<NewCriterion>,
    pub candidate_ids: Vec<i32>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn open(db: &Db, actor: Actor, person_id: i32, new: NewRound) -> Result<round::Model, WriteError> {
    let txn = db.begin_write().await?;
    for &need_id in &new.candidate_ids {
        let need = need::Entity::find_by_id(need_id)
            .one(&txn)
            .await?
            .ok_or(WriteError::NotFound { field: "candidates" })?;
        if !in_pool(need.status) {
            return Err(WriteError::Conflict {
                field: "candidates",
                message: format!(
                    "“{}” is {}; candidates must be ACCEPTED, FORWARDED or DEFERRED",
                    need.title, need.status
                ),
            });
        }
        if need.partnership_id != Some(new.partnership_id) {
            return Err(WriteError::Invalid {
                field: "candidates",
                message: format!("“{}” is in another partnership's pool", need.title),
            });
        }
        let busy = round_candidate::Entity::find()
            .filter(round_candidate::Column::NeedId.eq(need_id))
            .all(&txn)
            .await?;
        for candidacy in busy {
            let other = round::Entity::find_by_id(candidacy.round_id).one(&txn).await?;
            if other.is_some_and(|r| r.status == RoundStatus::Open) {
                return Err(WriteError::Conflict {
                    field: "candidates",
                    message: format!("“{}” is a candidate in another open round", need.title),
                });
            }
        }
    }
    let now = Utc::now();
    let round = round::ActiveModel {
        partnership_id: Set(new.partnership_id),
        name: Set(new.name),
        closes_at: Set(new.closes_at),
        prioritise_count: Set(new.prioritise_count),
        status: Set(RoundStatus::Open),
        created_by_person_id: Set(person_id),
        created_at: Set(now),
        closed_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    round_criterion::Entity::insert_many(new.criteria.into_iter().map(|c| round_criterion::ActiveModel {
        round_id: Set(round.id),
        key: Set(c.key),
        label_nb: Set(c.label_nb),
        label_nn: Set(c.label_nn),
        label_en: Set(c.label_en),
        weight: Set(c.weight),
        ..Default::default()
    }))
    .exec_without_returning(&txn)
    .await?;
    round_candidate::Entity::insert_many(new.candidate_ids.iter().map(|&need_id| {
        round_candidate::ActiveModel {
            round_id: Set(round.id),
            need_id: Set(need_id),
            outcome: Set(None),
            position: Set(None),
        }
    }))
    .exec_without_returning(&txn)
    .await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "round.open",
            target_type: NodeType::Round,
            target_id: round.id,
            partnership_id: Some(round.partnership_id),
            detail: Some(json!({ "candidates": new.candidate_ids, "prioritise": round.prioritise_count })),
        },
    )
    .await?;
    db.commit(txn, Effect::Created(NodeType::Round, round.id)).await?;
    Ok(round)
}

/// Reads an open round for a change to its scores. The row is read with a shared lock
/// (PostgreSQL; SQLite writers are serialised anyway), so a round cannot close between this
/// check and the commit of the scores: the closing waits for the scorer, or the scorer for the
/// closing, and then finds the round closed.
#[tracing::instrument(level = "debug", skip_all)]
async fn open_round(txn: &DatabaseTransaction, round_id: i32) -> Result<round::Model, WriteError> {
    let round = round::Entity::find_by_id(round_id)
        .lock_shared()
        .one(txn)
        .await?
        .ok_or(WriteError::NotFound { field: "round" })?;
    if round.status != RoundStatus::Open {
        return Err(WriteError::Conflict { field: "round", message: "the round is closed".into() });
    }
    if round.closes_at <= Utc::now() {
        return Err(WriteError::Conflict {
            field: "round",
            message: format!(
                "the round closed at {}; scores are no longer taken",
                round.closes_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        });
    }
    Ok(round)
}

fn scorer_filter(scorer: Scorer) -> sea_orm::Condition {
    match scorer {
        Scorer::Unit(id) => sea_orm::Condition::all().add(round_score::Column::OrganisationId.eq(id)),
        Scorer::Institution(id) => sea_orm::Condition::all().add(round_score::Column::InstitutionId.eq(id)),
    }
}

/// Records (or, with `revise`, replaces) an organisation's scores for one candidate. Criteria
/// left out are abstentions.
#[tracing::instrument(level = "debug", skip_all)]
/// Refuses a new scoring organisation for a need that `MAX_SCORERS_PER_NEED` score already.
async fn room_for_scorer(txn: &DatabaseTransaction, round_id: i32, need_id: i32) -> Result<(), WriteError> {
    let scorers: Vec<(Option<i32>, Option<i32>)> = round_score::Entity::find()
        .select_only()
        .columns([round_score::Column::OrganisationId, round_score::Column::InstitutionId])
        .distinct()
        .filter(round_score::Column::RoundId.eq(round_id))
        .filter(round_score::Column::NeedId.eq(need_id))
        .into_tuple()
        .all(txn)
        .await?;
    if scorers.len() < MAX_SCORERS_PER_NEED {
        return Ok(());
    }
    Err(WriteError::Conflict {
        field: "organisation",
        message: format!(
            "{MAX_SCORERS_PER_NEED} organisations have scored this need already, the most a round takes"
        ),
    })
}

pub async fn score(
    db: &Db,
    person_id: i32,
    round_id: i32,
    need_id: i32,
    scorer: Scorer,
    values: &[(i32, i32)],
    revise: bool,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    open_round(&txn, round_id).await?;
    let candidate = round_candidate::Entity::find_by_id((round_id, need_id)).one(&txn).await?;
    if candidate.is_none() {
        return Err(WriteError::Invalid {
            field: "need",
            message: "the need is not a candidate of this round".to_owned(),
        });
    }
    let criteria = round_criterion::Entity::find()
        .filter(round_criterion::Column::RoundId.eq(round_id))
        .all(&txn)
        .await?;
    for &(criterion_id, value) in values {
        if !criteria.iter().any(|c| c.id == criterion_id) {
            return Err(WriteError::NotFound { field: "scores" });
        }
        if !SCORE_RANGE.contains(&value) {
            return Err(WriteError::Invalid {
                field: "scores",
                message: format!("a score is {} to {}, not {value}", SCORE_RANGE.start(), SCORE_RANGE.end()),
            });
        }
    }
    let existing = round_score::Entity::find()
        .filter(round_score::Column::RoundId.eq(round_id))
        .filter(round_score::Column::NeedId.eq(need_id))
        .filter(scorer_filter(scorer))
        .all(&txn)
        .await?;
    match (revise, existing.is_empty()) {
        (false, false) => {
            return Err(WriteError::Conflict {
                field: "need",
                message: "your organisation has scored this need already; revise the scores instead".into(),
            });
        }
        (true, true) => return Err(WriteError::NotFound { field: "scores" }),
        (false, true) => room_for_scorer(&txn, round_id, need_id).await?,
        (true, false) => {}
    }
    round_score::Entity::delete_many()
        .filter(round_score::Column::RoundId.eq(round_id))
        .filter(round_score::Column::NeedId.eq(need_id))
        .filter(scorer_filter(scorer))
        .exec(&txn)
        .await?;
    let (organisation_id, institution_id) = match scorer {
        Scorer::Unit(id) => (Some(id), None),
        Scorer::Institution(id) => (None, Some(id)),
    };
    if !values.is_empty() {
        round_score::Entity::insert_many(values.iter().map(|&(criterion_id, value)| {
            round_score::ActiveModel {
                round_id: Set(round_id),
                need_id: Set(need_id),
                criterion_id: Set(criterion_id),
                organisation_id: Set(organisation_id),
                institution_id: Set(institution_id),
                value: Set(value),
                person_id: Set(person_id),
                updated_at: Set(Utc::now()),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
    }
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(())
}

/// Everything the ranking of a round is computed from.
#[derive(Clone, Debug, Default)]
pub struct RoundData {
    pub criteria: Vec<round_criterion::Model>,
    pub candidates: Vec<(round_candidate::Model, need::Model)>,
    pub scores: Vec<round_score::Model>,
}

impl RoundData {
    /// The ranking, computed by `domain::rounds::rank`.
    pub fn ranking(&self) -> Vec<Ranked> {
        let candidates: Vec<Candidate> = self
            .candidates
            .iter()
            .map(|(_, n)| Candidate {
                need_id: n.id,
                reach: 1 + n.cosigner_count,
                submitted_at: n.submitted_at,
            })
            .collect();
        let weights: Vec<(i32, f64)> = self.criteria.iter().map(|c| (c.id, c.weight)).collect();
        let scores: Vec<Score> = self
            .scores
            .iter()
            .filter_map(|s| {
                Some(Score {
                    need_id: s.need_id,
                    criterion_id: s.criterion_id,
                    scorer: scorer_of(s)?,
                    value: s.value,
                })
            })
            .collect();
        rank(&candidates, &weights, &scores)
    }
}

/// Who gave a score.
pub fn scorer_of(score: &round_score::Model) -> Option<Scorer> {
    match (score.organisation_id, score.institution_id) {
        (Some(id), _) => Some(Scorer::Unit(id)),
        (_, Some(id)) => Some(Scorer::Institution(id)),
        (None, None) => None,
    }
}

/// The rounds of `partnership_ids`, of one status if given, newest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn in_regions(
    db: &impl ConnectionTrait,
    partnership_ids: &[i32],
    status: Option<RoundStatus>,
) -> Result<Vec<round::Model>, DbErr> {
    let mut select =
        round::Entity::find().filter(round::Column::PartnershipId.is_in(partnership_ids.iter().copied()));
    if let Some(status) = status {
        select = select.filter(round::Column::Status.eq(status));
    }
    select.order_by_desc(round::Column::Id).all(db).await
}

/// Loads the criteria, candidates (with their needs) and scores of several rounds: four
/// statements, whatever the number of rounds.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn data_of(db: &impl ConnectionTrait, round_ids: &[i32]) -> Result<HashMap<i32, RoundData>, DbErr> {
    let ids = round_ids.iter().copied();
    let criteria = round_criterion::Entity::find()
        .filter(round_criterion::Column::RoundId.is_in(ids.clone()))
        .order_by_asc(round_criterion::Column::Id)
        .all(db)
        .await?;
    let candidates = round_candidate::Entity::find()
        .filter(round_candidate::Column::RoundId.is_in(ids.clone()))
        .order_by_asc(round_candidate::Column::NeedId)
        .all(db)
        .await?;
    let need_ids: Vec<i32> = candidates.iter().map(|c| c.need_id).collect();
    let needs: HashMap<i32, need::Model> = if need_ids.is_empty() {
        HashMap::new()
    } else {
        need::Entity::find()
            .filter(need::Column::Id.is_in(need_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|n| (n.id, n))
            .collect()
    };
    let scores = round_score::Entity::find()
        .filter(round_score::Column::RoundId.is_in(ids))
        .order_by_asc(round_score::Column::Id)
        .all(db)
        .await?;
    let mut data: HashMap<i32, RoundData> = round_ids.iter().map(|id| (*id, RoundData::default())).collect();
    for c in criteria {
        data.entry(c.round_id).or_default().criteria.push(c);
    }
    for c in candidates {
        if let Some(need) = needs.get(&c.need_id) {
            data.entry(c.round_id).or_default().candidates.push((c, need.clone()));
        }
    }
    for s in scores {
        data.entry(s.round_id).or_default().scores.push(s);
    }
    Ok(data)
}

/// Closes a round in one transaction: the top N candidates become PRIORITISED, the others
/// DEFERRED, each with a history event; positions and outcomes are kept with the round.
/// Candidates that left the pool meanwhile (withdrawn, merged) keep their state. A coordinator
/// closes it (`person_id`); a round that was closed meanwhile, by another coordinator or by the
/// hub at its closing time, is a `Conflict` and nothing changes.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn close(db: &Db, actor: Actor, person_id: i32, round_id: i32) -> Result<round::Model, WriteError> {
    let txn = db.begin_write().await?;
    if !claim(&txn, round_id, None).await? {
        let found = round::Entity::find_by_id(round_id).one(&txn).await?;
        return Err(match found {
            None => WriteError::NotFound { field: "round" },
            Some(_) => WriteError::Conflict { field: "round", message: "the round is closed already".into() },
        });
    }
    let closed = finish(&txn, actor, Some(person_id), round_id).await?;
    db.commit(txn, Effect::Changed(NodeType::Round, round_id)).await?;
    Ok(closed)
}

/// Closes every open round whose closing time has come, each in a transaction of its own with
/// the same effects as [`close`], by the hub itself (no person: `Actor::Hub`). Any number of
/// instances may run this at once: a round is closed by the one transaction that claims it, and
/// the others skip it. Returns the rounds this call closed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn close_due(db: &Db, now: DateTime<Utc>) -> Result<Vec<i32>, WriteError> {
    let due: Vec<i32> = round::Entity::find()
        .filter(round::Column::Status.eq(RoundStatus::Open))
        .filter(round::Column::ClosesAt.lte(now))
        .order_by_asc(round::Column::ClosesAt)
        .all(db.conn())
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let mut closed = Vec::new();
    for round_id in due {
        let txn = db.begin_write().await?;
        if !claim(&txn, round_id, Some(now)).await? {
            // Closed meanwhile, by a coordinator or another instance.
            txn.rollback().await?;
            continue;
        }
        match finish(&txn, Actor::Hub, None, round_id).await {
            Ok(_) => {
                db.commit(txn, Effect::Changed(NodeType::Round, round_id)).await?;
                closed.push(round_id);
            }
            // Rolled back; the next pass tries again. Other due rounds still close.
            Err(WriteError::Db(err)) => return Err(WriteError::Db(err)),
            Err(err) => tracing::warn!(round_id, error = ?err, "a due round could not be closed"),
        }
    }
    Ok(closed)
}

/// Marks an open round (due by `due_by`, when given) CLOSED as the first write of a closing
/// transaction; whether this transaction got it. The conditional update is the lock: of two
/// transactions closing one round, the second waits for the first (PostgreSQL row lock, SQLite's
/// one writer), then finds it closed and changes nothing.
#[tracing::instrument(level = "debug", skip_all)]
async fn claim(
    txn: &DatabaseTransaction,
    round_id: i32,
    due_by: Option<DateTime<Utc>>,
) -> Result<bool, DbErr> {
    let mut update = round::Entity::update_many()
        .col_expr(round::Column::Status, sea_orm::sea_query::Expr::value(RoundStatus::Closed))
        .col_expr(round::Column::ClosedAt, sea_orm::sea_query::Expr::value(Some(Utc::now())))
        .filter(round::Column::Id.eq(round_id))
        .filter(round::Column::Status.eq(RoundStatus::Open));
    if let Some(due_by) = due_by {
        update = update.filter(round::Column::ClosesAt.lte(due_by));
    }
    Ok(update.exec(txn).await?.rows_affected == 1)
}

/// The rest of closing a claimed round: move every eligible candidate by its place in the
/// ranking, keep positions and outcomes, write the audit event.
#[tracing::instrument(level = "debug", skip_all)]
async fn finish(
    txn: &DatabaseTransaction,
    actor: Actor,
    person_id: Option<i32>,
    round_id: i32,
) -> Result<round::Model, WriteError> {
    let round =
        round::Entity::find_by_id(round_id).one(txn).await?.ok_or(WriteError::NotFound { field: "round" })?;
    let data = data_of(txn, &[round_id]).await?.remove(&round_id).unwrap_or_default();
    let eligible = |need_id: i32| data.candidates.iter().any(|(_, n)| n.id == need_id && in_pool(n.status));
    let mut prioritised = 0;
    for line in data.ranking() {
        if !eligible(line.need_id) {
            continue;
        }
        let (attempted, outcome) = if prioritised < round.prioritise_count {
            prioritised += 1;
            (Move::Prioritise, NeedStatus::Prioritised)
        } else {
            (Move::Defer, NeedStatus::Deferred)
        };
        let reason = Some(format!("{}: position {}", round.name, line.position));
        needs::move_in(txn, person_id, line.need_id, None, attempted, reason).await?;
        let mut candidate = round_candidate::ActiveModel {
            round_id: Set(round_id),
            need_id: Set(line.need_id),
            ..Default::default()
        };
        candidate.outcome = Set(Some(outcome));
        candidate.position = Set(Some(i32::try_from(line.position).unwrap_or(i32::MAX)));
        candidate.update(txn).await?;
    }
    audit::record(
        txn,
        actor,
        Event {
            action: "round.close",
            target_type: NodeType::Round,
            target_id: round_id,
            partnership_id: Some(round.partnership_id),
            detail: Some(json!({ "prioritised": prioritised, "atClosingTime": actor == Actor::Hub })),
        },
    )
    .await?;
    Ok(round)
}
