//! Knowledge needs: writes (each one transaction with its history events), the filtered and
//! searchable list with keyset paging, and the aggregates for dashboards.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    enums::{NeedStatus, Urgency},
    municipality, need, need_cosign, need_event, need_evidence, need_theme, theme,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction,
    DbErr, EntityTrait, FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Statement,
    Value,
};

use crate::{
    db::{Db, Effect, NodeType, WriteError, duplicate_is_conflict},
    domain::needs::{Move, NeedText, next},
};

/// Kinds of history events.
pub mod kind {
    pub const CREATED: &str = "CREATED";
    pub const STATUS_CHANGED: &str = "STATUS_CHANGED";
    pub const EDITED: &str = "EDITED";
    pub const COSIGNED: &str = "COSIGNED";
    pub const COSIGNATURE_WITHDRAWN: &str = "COSIGNATURE_WITHDRAWN";
    pub const EVIDENCE_LINKED: &str = "EVIDENCE_LINKED";
    /// On the duplicate: it was merged into `related_need_id`.
    pub const MERGED: &str = "MERGED";
    /// On the survivor: `related_need_id` was merged into it.
    pub const ABSORBED: &str = "ABSORBED";
    pub const UNMERGED: &str = "UNMERGED";
}

/// One history event to write.
#[derive(Default)]
struct NewEvent<'a> {
    need_id: i32,
    actor: Option<i32>,
    kind: &'a str,
    from: Option<NeedStatus>,
    to: Option<NeedStatus>,
    reason: Option<String>,
    related_need_id: Option<i32>,
    municipality_id: Option<i32>,
}

async fn record(txn: &DatabaseTransaction, event: NewEvent<'_>) -> Result<(), DbErr> {
    let recorded = need_event::ActiveModel {
        need_id: Set(event.need_id),
        occurred_at: Set(Utc::now()),
        actor_person_id: Set(event.actor),
        kind: Set(event.kind.to_owned()),
        from_status: Set(event.from),
        to_status: Set(event.to),
        reason: Set(event.reason),
        related_need_id: Set(event.related_need_id),
        municipality_id: Set(event.municipality_id),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    super::outbox::announce(txn, super::outbox::Topic::Need, recorded.id).await
}

/// Everything about a need that its municipality writes.
#[derive(Clone, Debug)]
pub struct NeedContent {
    pub text: NeedText,
    pub urgency: Urgency,
    pub product_type_id: Option<i32>,
    pub theme_ids: Vec<i32>,
    pub contact_person_id: Option<i32>,
}

/// Replaces the themes of a need.
async fn set_themes(txn: &DatabaseTransaction, need_id: i32, theme_ids: &[i32]) -> Result<(), DbErr> {
    need_theme::Entity::delete_many().filter(need_theme::Column::NeedId.eq(need_id)).exec(txn).await?;
    add_themes(txn, need_id, theme_ids).await
}

/// Gives a need (a new one, or one whose themes were removed) its themes.
async fn add_themes(txn: &DatabaseTransaction, need_id: i32, theme_ids: &[i32]) -> Result<(), DbErr> {
    if !theme_ids.is_empty() {
        need_theme::Entity::insert_many(
            theme_ids
                .iter()
                .map(|&theme_id| need_theme::ActiveModel { need_id: Set(need_id), theme_id: Set(theme_id) }),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

fn apply_content(model: &mut need::ActiveModel, content: NeedContent) {
    let text = content.text;
    model.title = Set(text.title);
    model.question = Set(text.question);
    model.background = Set(text.background);
    model.intended_use = Set(text.intended_use);
    model.target_group = Set(text.target_group);
    model.population = Set(text.population);
    model.intervention = Set(text.intervention);
    model.comparison = Set(text.comparison);
    model.outcome = Set(text.outcome);
    model.urgency = Set(content.urgency);
    model.product_type_id = Set(content.product_type_id);
    model.contact_person_id = Set(content.contact_person_id);
}

/// Creates a need of `municipality_id`, as a draft or submitted at once.
pub async fn create(
    db: &Db,
    actor: i32,
    municipality_id: i32,
    content: NeedContent,
    submit: bool,
) -> Result<need::Model, WriteError> {
    let now = Utc::now();
    let status = if submit { NeedStatus::Submitted } else { NeedStatus::Draft };
    let txn = db.begin_write().await?;
    let theme_ids = content.theme_ids.clone();
    let mut model = need::ActiveModel {
        municipality_id: Set(municipality_id),
        created_by_person_id: Set(actor),
        status: Set(status),
        version: Set(1),
        merged_into_id: Set(None),
        cosigner_count: Set(0),
        submitted_at: Set(submit.then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    apply_content(&mut model, content);
    let need = model.insert(&txn).await?;
    add_themes(&txn, need.id, &theme_ids).await?;
    record(
        &txn,
        NewEvent {
            need_id: need.id,
            actor: Some(actor),
            kind: kind::CREATED,
            to: Some(status),
            ..Default::default()
        },
    )
    .await?;
    db.commit(txn, Effect::Created(NodeType::Need, need.id)).await?;
    Ok(need)
}

/// Reads a need for a change and checks the version the caller read.
async fn lock(
    txn: &DatabaseTransaction,
    need_id: i32,
    expected_version: Option<i32>,
) -> Result<need::Model, WriteError> {
    let need =
        need::Entity::find_by_id(need_id).one(txn).await?.ok_or(WriteError::NotFound { field: "need" })?;
    if let Some(expected) = expected_version
        && expected != need.version
    {
        return Err(WriteError::Conflict {
            field: "version",
            message: format!(
                "the need has changed since you read it (version {expected}, now {})",
                need.version
            ),
        });
    }
    Ok(need)
}

/// Saves a changed need with its version raised, only if nobody else raised it meanwhile.
async fn save(
    txn: &DatabaseTransaction,
    read: &need::Model,
    mut model: need::ActiveModel,
) -> Result<need::Model, WriteError> {
    model.version = Set(read.version + 1);
    model.updated_at = Set(Utc::now());
    let result = need::Entity::update_many()
        .set(model)
        .filter(need::Column::Id.eq(read.id))
        .filter(need::Column::Version.eq(read.version))
        .exec(txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(WriteError::Conflict {
            field: "version",
            message: "the need changed while you saved it".into(),
        });
    }
    need::Entity::find_by_id(read.id).one(txn).await?.ok_or(WriteError::NotFound { field: "need" })
}

/// Replaces what the municipality wrote; only while the need is a draft, submitted or returned.
pub async fn update(
    db: &Db,
    actor: i32,
    need_id: i32,
    expected_version: i32,
    content: NeedContent,
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = lock(&txn, need_id, Some(expected_version)).await?;
    if !matches!(read.status, NeedStatus::Draft | NeedStatus::Submitted | NeedStatus::Returned) {
        return Err(WriteError::Conflict {
            field: "need",
            message: format!("a need that is {} can no longer be edited", read.status),
        });
    }
    let theme_ids = content.theme_ids.clone();
    let mut model = read.clone().into_active_model();
    apply_content(&mut model, content);
    let saved = save(&txn, &read, model).await?;
    set_themes(&txn, need_id, &theme_ids).await?;
    record(&txn, NewEvent { need_id, actor: Some(actor), kind: kind::EDITED, ..Default::default() }).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// Moves a need to its next state (see `domain::needs::next`), with a history event.
pub async fn apply_move(
    db: &Db,
    actor: i32,
    need_id: i32,
    expected_version: Option<i32>,
    attempted: Move,
    reason: Option<String>,
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let saved = move_in(&txn, Some(actor), need_id, expected_version, attempted, reason).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// `apply_move` inside the caller's transaction (a round closing moves many needs at once); the
/// actor is `None` when the hub moves the need itself (a round closing at its closing time).
pub async fn move_in(
    txn: &DatabaseTransaction,
    actor: Option<i32>,
    need_id: i32,
    expected_version: Option<i32>,
    attempted: Move,
    reason: Option<String>,
) -> Result<need::Model, WriteError> {
    let read = lock(txn, need_id, expected_version).await?;
    let to = next(read.status, attempted)
        .map_err(|illegal| WriteError::Conflict { field: "need", message: illegal.to_string() })?;
    let mut model = read.clone().into_active_model();
    model.status = Set(to);
    if to == NeedStatus::Submitted && read.submitted_at.is_none() {
        model.submitted_at = Set(Some(Utc::now()));
    }
    let saved = save(txn, &read, model).await?;
    record(
        txn,
        NewEvent {
            need_id,
            actor,
            kind: kind::STATUS_CHANGED,
            from: Some(read.status),
            to: Some(to),
            reason,
            ..Default::default()
        },
    )
    .await?;
    Ok(saved)
}

/// Adds `municipality_id` as a co-signer of an open, submitted need.
pub async fn cosign(
    db: &Db,
    actor: i32,
    need_id: i32,
    municipality_id: i32,
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = lock(&txn, need_id, None).await?;
    if read.status == NeedStatus::Draft || !crate::domain::needs::is_open(read.status) {
        return Err(WriteError::Conflict {
            field: "need",
            message: format!("a need that is {} cannot be co-signed", read.status),
        });
    }
    if read.municipality_id == municipality_id {
        return Err(WriteError::Invalid {
            field: "municipality",
            message: "a municipality cannot co-sign its own need".into(),
        });
    }
    need_cosign::ActiveModel {
        need_id: Set(need_id),
        municipality_id: Set(municipality_id),
        person_id: Set(Some(actor)),
        carried_from_need_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(duplicate_is_conflict("municipality", "the municipality has co-signed this need already"))?;
    let saved = recount(&txn, &read).await?;
    record(
        &txn,
        NewEvent {
            need_id,
            actor: Some(actor),
            kind: kind::COSIGNED,
            municipality_id: Some(municipality_id),
            ..Default::default()
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// Takes `municipality_id`'s own co-signature back. A co-signature carried by a merge is not
/// the municipality's to withdraw: it leaves with `unmerge`. The reach of the needs this one is
/// merged into follows (see `carry`).
pub async fn withdraw_cosign(
    db: &Db,
    actor: i32,
    need_id: i32,
    municipality_id: i32,
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = lock(&txn, need_id, None).await?;
    let row = need_cosign::Entity::find()
        .filter(need_cosign::Column::NeedId.eq(need_id))
        .filter(need_cosign::Column::MunicipalityId.eq(municipality_id))
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "municipality" })?;
    if row.carried_from_need_id.is_some() {
        return Err(WriteError::Conflict {
            field: "municipality",
            message: "the co-signature came with a merged duplicate; unmerging it takes it back".into(),
        });
    }
    need_cosign::Entity::delete_by_id(row.id).exec(&txn).await?;
    let saved = carry(&txn, &read, true).await?;
    carry_up(&txn, saved.merged_into_id).await?;
    record(
        &txn,
        NewEvent {
            need_id,
            actor: Some(actor),
            kind: kind::COSIGNATURE_WITHDRAWN,
            municipality_id: Some(municipality_id),
            ..Default::default()
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// Makes the carried co-signatures of a need what its duplicates bring, and nothing else: the
/// one place where carried co-signatures are written. The municipalities behind a need are its
/// own, its co-signers' and, in turn, those behind each duplicate merged into it; each counts
/// once. A municipality that is the need's own or co-signed it itself is not carried; any other
/// behind a duplicate is carried from (the lowest id of) a duplicate that brings it. Rows whose
/// duplicate no longer brings them go. Raises the need's version and stores its count when
/// something changed (or always, with `touch`). Returns the need as saved.
async fn carry(
    txn: &DatabaseTransaction,
    read: &need::Model,
    touch: bool,
) -> Result<need::Model, WriteError> {
    use std::collections::{BTreeMap, BTreeSet};
    let rows = need_cosign::Entity::find().filter(need_cosign::Column::NeedId.eq(read.id)).all(txn).await?;
    let own: BTreeSet<i32> = std::iter::once(read.municipality_id)
        .chain(rows.iter().filter(|r| r.carried_from_need_id.is_none()).map(|r| r.municipality_id))
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
    // Municipality -> the duplicates that bring it, lowest id first.
    let mut brought: BTreeMap<i32, Vec<i32>> = BTreeMap::new();
    for duplicate in &duplicates {
        let behind = std::iter::once(duplicate.municipality_id)
            .chain(behind_duplicates.iter().filter(|c| c.need_id == duplicate.id).map(|c| c.municipality_id));
        for municipality_id in behind {
            if !own.contains(&municipality_id) {
                brought.entry(municipality_id).or_default().push(duplicate.id);
            }
        }
    }
    let mut changed = false;
    for row in rows.iter().filter(|r| r.carried_from_need_id.is_some()) {
        let still = brought.get(&row.municipality_id).is_some_and(|from| {
            row.carried_from_need_id.is_some_and(|carried_from| from.contains(&carried_from))
        });
        if still {
            brought.remove(&row.municipality_id);
        } else {
            need_cosign::Entity::delete_by_id(row.id).exec(txn).await?;
            changed = true;
        }
    }
    for (municipality_id, from) in brought {
        need_cosign::ActiveModel {
            need_id: Set(read.id),
            municipality_id: Set(municipality_id),
            person_id: Set(None),
            carried_from_need_id: Set(from.first().copied()),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        changed = true;
    }
    if changed || touch { recount(txn, read).await } else { Ok(read.clone()) }
}

/// `carry` for `need_id` and every need it is merged into in turn, as far as the chain goes.
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
async fn recount(txn: &DatabaseTransaction, read: &need::Model) -> Result<need::Model, WriteError> {
    let count =
        need_cosign::Entity::find().filter(need_cosign::Column::NeedId.eq(read.id)).count(txn).await?;
    let mut model = read.clone().into_active_model();
    model.cosigner_count = Set(i32::try_from(count).unwrap_or(i32::MAX));
    save(txn, read, model).await
}

/// Evidence found in the evidence check.
pub struct NewEvidence {
    pub title: String,
    pub url: Option<String>,
    pub doi: Option<String>,
    pub note: Option<String>,
}

pub async fn link_evidence(
    db: &Db,
    actor: i32,
    need_id: i32,
    evidence: NewEvidence,
) -> Result<need_evidence::Model, WriteError> {
    let txn = db.begin_write().await?;
    lock(&txn, need_id, None).await?;
    let linked = need_evidence::ActiveModel {
        need_id: Set(need_id),
        title: Set(evidence.title),
        url: Set(evidence.url),
        doi: Set(evidence.doi),
        note: Set(evidence.note),
        created_by_person_id: Set(Some(actor)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    record(&txn, NewEvent { need_id, actor: Some(actor), kind: kind::EVIDENCE_LINKED, ..Default::default() })
        .await?;
    db.commit(txn, Effect::Created(NodeType::Evidence, linked.id)).await?;
    Ok(linked)
}

/// Merges `duplicates` into `survivor`: each duplicate becomes MERGED and points at the survivor,
/// keeping its own text and history; the municipalities behind it (owner, co-signers and what
/// its own duplicates carried) become carried co-signers of the survivor unless they are there
/// already (`carry`). All or nothing.
pub async fn merge(
    db: &Db,
    actor: i32,
    survivor_id: i32,
    duplicate_ids: &[i32],
) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let survivor = lock(&txn, survivor_id, None).await?;
    if survivor.status == NeedStatus::Draft || !crate::domain::needs::is_open(survivor.status) {
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
                need_id: duplicate_id,
                actor: Some(actor),
                kind: kind::MERGED,
                from: Some(duplicate.status),
                to: Some(to),
                related_need_id: Some(survivor_id),
                ..Default::default()
            },
        )
        .await?;
        record(
            &txn,
            NewEvent {
                need_id: survivor_id,
                actor: Some(actor),
                kind: kind::ABSORBED,
                related_need_id: Some(duplicate_id),
                ..Default::default()
            },
        )
        .await?;
    }
    // The municipalities behind the duplicates become carried co-signers of the survivor.
    let survivor = lock(&txn, survivor_id, None).await?;
    let saved = carry(&txn, &survivor, true).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, survivor_id)).await?;
    Ok(saved)
}

/// Undoes the merge of `duplicate_id`: it gets back the state it had, and the municipalities
/// only it brought leave the survivor and every need the survivor is merged into in turn
/// (`carry`). Returns the duplicate.
pub async fn unmerge(db: &Db, actor: i32, duplicate_id: i32) -> Result<need::Model, WriteError> {
    let txn = db.begin_write().await?;
    let duplicate = lock(&txn, duplicate_id, None).await?;
    let (Some(survivor_id), NeedStatus::Merged) = (duplicate.merged_into_id, duplicate.status) else {
        return Err(WriteError::Conflict { field: "need", message: "the need is not merged".into() });
    };
    let merge_event = need_event::Entity::find()
        .filter(need_event::Column::NeedId.eq(duplicate_id))
        .filter(need_event::Column::Kind.eq(kind::MERGED))
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
    // The survivor, and whatever it is merged into in turn, keep exactly the municipalities
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
                need_id,
                actor: Some(actor),
                kind: kind::UNMERGED,
                from,
                to,
                related_need_id: Some(related),
                ..Default::default()
            },
        )
        .await?;
    }
    db.commit(txn, Effect::Changed(NodeType::Need, duplicate_id)).await?;
    Ok(restored)
}

/// Sets (or clears) a municipality's number of inhabitants.
pub async fn set_population(
    db: &Db,
    actor: crate::db::audit::Actor,
    municipality_id: i32,
    region_id: Option<i32>,
    population: Option<i32>,
) -> Result<municipality::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = municipality::Entity::find_by_id(municipality_id)
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "municipality" })?;
    let mut model = found.into_active_model();
    model.population = Set(population);
    let saved = model.update(&txn).await?;
    crate::db::audit::record(
        &txn,
        actor,
        crate::db::audit::Event {
            action: "municipality.set_population",
            target_type: NodeType::Municipality,
            target_id: municipality_id,
            region_id,
            detail: Some(serde_json::json!({ "population": population })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Municipality, municipality_id)).await?;
    Ok(saved)
}

/// The themes of several needs, by need: one statement.
pub async fn themes_of(
    db: &impl ConnectionTrait,
    need_ids: &[i32],
) -> Result<HashMap<i32, Vec<theme::Model>>, DbErr> {
    // One statement: the links with their themes.
    let rows = need_theme::Entity::find()
        .filter(need_theme::Column::NeedId.is_in(need_ids.iter().copied()))
        .find_also_related(theme::Entity)
        .order_by_asc(theme::Column::Id)
        .all(db)
        .await?;
    let mut grouped: HashMap<i32, Vec<theme::Model>> = HashMap::new();
    for (link, theme) in rows {
        if let Some(theme) = theme {
            grouped.entry(link.need_id).or_default().push(theme);
        }
    }
    Ok(grouped)
}

// ---------------------------------------------------------------------------------------------
// Listing and searching.

/// Which needs to list. Empty lists and `None` mean no restriction.
#[derive(Clone, Debug, Default)]
pub struct NeedFilter {
    pub statuses: Vec<NeedStatus>,
    pub theme_ids: Vec<i32>,
    pub region_id: Option<i32>,
    pub cluster_id: Option<i32>,
    pub municipality_id: Option<i32>,
    pub product_type_id: Option<i32>,
    pub urgency: Option<Urgency>,
    pub submitted_after: Option<DateTime<Utc>>,
    pub submitted_before: Option<DateTime<Utc>>,
    /// Words to find in title, question and background (all must match, as prefixes).
    pub search: Vec<String>,
}

/// Whose drafts the caller may see (drafts are visible only within their municipality).
#[derive(Clone, Debug, Default)]
pub struct Visibility {
    pub draft_municipalities: Vec<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NeedOrder {
    Newest,
    Oldest,
    Updated,
    Reach,
    Relevance,
}

/// Where a page starts: the sort key and id of the row before it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CursorKey {
    Time(DateTime<Utc>),
    Count(i64),
    Rank(f64),
}

/// A cursor belongs to the order its page was read in (the order a page is really read in:
/// RELEVANCE without a search is NEWEST): a cursor of another order is refused, not compared
/// with a column of another type.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub order: NeedOrder,
    pub key: CursorKey,
    pub id: i32,
}

impl Cursor {
    /// Whether the cursor belongs to pages in `order` (see [`NeedOrder::effective`]): the same
    /// order, and a key of the kind that order sorts by.
    pub fn fits(&self, order: NeedOrder) -> bool {
        self.order == order
            && matches!(
                (order, &self.key),
                (NeedOrder::Newest | NeedOrder::Oldest | NeedOrder::Updated, CursorKey::Time(_))
                    | (NeedOrder::Reach, CursorKey::Count(_))
                    | (NeedOrder::Relevance, CursorKey::Rank(_))
            )
    }
}

impl NeedOrder {
    /// The order a page is read in: RELEVANCE without search words is NEWEST.
    pub fn effective(self, filter: &NeedFilter) -> Self {
        if self == Self::Relevance && filter.search.is_empty() { Self::Newest } else { self }
    }
}

/// A need row with the value it was sorted by.
pub struct Listed {
    pub need: need::Model,
    /// Its themes' ids, read in the same statement.
    pub theme_ids: Vec<i32>,
    pub cursor: Cursor,
}

/// SQL text with its bound values, numbering placeholders for the backend.
struct Sql {
    backend: DatabaseBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn new(backend: DatabaseBackend) -> Self {
        Self { backend, text: String::new(), values: Vec::new() }
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        let placeholder = match self.backend {
            DatabaseBackend::Postgres => format!("${}", self.values.len()),
            _ => "?".to_owned(),
        };
        self.text.push_str(&placeholder);
        self
    }

    fn bind_list(&mut self, values: impl IntoIterator<Item = impl Into<Value>>) -> &mut Self {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    fn statement(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// `FROM need n [JOIN search s] WHERE ...` for a filter and a viewer.
fn from_where(sql: &mut Sql, filter: &NeedFilter, visibility: &Visibility) {
    from_join_where(sql, "", filter, visibility);
}

/// `from_where` with `join` (tables joined to `need n`, for groupings) before the conditions.
fn from_join_where(sql: &mut Sql, join: &str, filter: &NeedFilter, visibility: &Visibility) {
    from_join_where_among(sql, join, filter, visibility, None);
}

/// The best-ranked search matches a relevance page is first looked for among: the matches
/// within the page's keyset, from the end the page is read from, at most `limit`.
struct Candidates<'a> {
    limit: usize,
    window: &'a Window,
}

/// `from_join_where`, the search matches narrowed to `candidates` when given.
fn from_join_where_among(
    sql: &mut Sql,
    join: &str,
    filter: &NeedFilter,
    visibility: &Visibility,
    candidates: Option<&Candidates<'_>>,
) {
    sql.push(" FROM need n");
    sql.push(join);
    if !filter.search.is_empty() {
        // The matches with their rank, ascending (better first), from the search index alone:
        // the statement before the bound query, the query, the statement after it.
        let (before, query, after) = match sql.backend {
            DatabaseBackend::Postgres => (
                // Every word stemmed by the `norwegian` configuration and matched as a prefix;
                // the vectors are read from the narrow `need_search`, not from `need`.
                "SELECT m.need_id AS id, -ts_rank(m.search, q) AS rank FROM need_search m, to_tsquery('norwegian', ",
                filter.search.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "),
                ") q WHERE m.search @@ q",
            ),
            // FTS5 has no Norwegian stemmer: every word matches as a prefix ("sjukeheim*").
            _ => (
                "SELECT rowid AS id, bm25(need_fts, 10.0, 5.0, 1.0) AS rank FROM need_fts WHERE need_fts MATCH ",
                filter.search.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" "),
                "",
            ),
        };
        match candidates {
            None => {
                sql.push(&format!(" JOIN ({before}")).bind(query).push(&format!("{after}) s ON s.id = n.id"));
            }
            Some(candidates) => {
                // Ranked in the index and cut before the join: the rows of `need` are read for
                // these few, not for every match.
                sql.push(&format!(" JOIN (SELECT id, rank FROM ({before}"))
                    .bind(query)
                    .push(&format!("{after}) c WHERE 1 = 1"));
                keyset(sql, "rank", "id", false, candidates.window);
                let direction = if candidates.window.from_end { "DESC" } else { "ASC" };
                sql.push(&format!(" ORDER BY rank {direction}, id {direction} LIMIT "))
                    .bind(i64::try_from(candidates.limit).unwrap_or(i64::MAX))
                    .push(") s ON s.id = n.id");
            }
        }
    }
    sql.push(" WHERE (n.status <> 'DRAFT'");
    if !visibility.draft_municipalities.is_empty() {
        sql.push(" OR n.municipality_id IN ").bind_list(visibility.draft_municipalities.iter().copied());
    }
    sql.push(")");
    if !filter.statuses.is_empty() {
        sql.push(" AND n.status IN ").bind_list(filter.statuses.iter().map(sea_orm::ActiveEnum::to_value));
    }
    if !filter.theme_ids.is_empty() {
        sql.push(" AND EXISTS (SELECT 1 FROM need_theme nt WHERE nt.need_id = n.id AND nt.theme_id IN ")
            .bind_list(filter.theme_ids.iter().copied())
            .push(")");
    }
    if let Some(id) = filter.municipality_id {
        sql.push(" AND n.municipality_id = ").bind(id);
    }
    if let Some(id) = filter.cluster_id {
        sql.push(" AND n.municipality_id IN (SELECT id FROM municipality WHERE cluster_id = ")
            .bind(id)
            .push(")");
    }
    if let Some(id) = filter.region_id {
        sql.push(" AND n.municipality_id IN (SELECT m.id FROM municipality m JOIN county c ON c.id = m.county_id WHERE c.region_id = ")
            .bind(id)
            .push(")");
    }
    if let Some(id) = filter.product_type_id {
        sql.push(" AND n.product_type_id = ").bind(id);
    }
    if let Some(urgency) = filter.urgency {
        sql.push(" AND n.urgency = ").bind(sea_orm::ActiveEnum::to_value(&urgency));
    }
    if let Some(after) = filter.submitted_after {
        sql.push(" AND n.submitted_at >= ").bind(after);
    }
    if let Some(before) = filter.submitted_before {
        sql.push(" AND n.submitted_at < ").bind(before);
    }
}

/// The sort column of an order, and whether it runs descending.
fn sort_column(order: NeedOrder) -> (&'static str, bool) {
    match order {
        NeedOrder::Newest => ("n.created_at", true),
        NeedOrder::Oldest => ("n.created_at", false),
        NeedOrder::Updated => ("n.updated_at", true),
        NeedOrder::Reach => ("n.cosigner_count", true),
        NeedOrder::Relevance => ("s.rank", false),
    }
}

/// Keyset conditions: rows strictly after the window's `after` and before its `before`, in the
/// order of `(column, id)`.
fn keyset(sql: &mut Sql, column: &str, id: &str, descending: bool, window: &Window) {
    let (forward_cmp, backward_cmp) = if descending { ("<", ">") } else { (">", "<") };
    if let Some(after) = &window.after {
        sql.push(&format!(" AND ({column}, {id}) {forward_cmp} ("));
        bind_key(sql, &after.key);
        sql.push(", ").bind(after.id).push(")");
    }
    if let Some(before) = &window.before {
        sql.push(&format!(" AND ({column}, {id}) {backward_cmp} ("));
        bind_key(sql, &before.key);
        sql.push(", ").bind(before.id).push(")");
    }
}

fn bind_key(sql: &mut Sql, key: &CursorKey) {
    match key {
        CursorKey::Time(at) => sql.bind(*at),
        CursorKey::Count(n) => sql.bind(*n),
        CursorKey::Rank(r) => sql.bind(*r),
    };
}

/// A page request in SQL terms.
pub struct Window {
    pub size: usize,
    pub from_end: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

#[derive(FromQueryResult)]
struct SortValues {
    sort_time: Option<DateTime<Utc>>,
    sort_count: Option<i64>,
    sort_rank: Option<f64>,
}

/// How many of the best-ranked matches a relevance page is first looked for among.
pub const CANDIDATES: usize = 200;

/// Every column of `need n`, for statements that select more than a need.
fn need_columns() -> String {
    let columns: Vec<String> = <need::Column as sea_orm::Iterable>::iter()
        .map(|c| format!("n.{}", sea_orm::IdenStatic::as_str(&c)))
        .collect();
    columns.join(", ")
}

/// The ids of a need's themes as one text column `theme_ids` ("3,7"), read with the need.
fn theme_ids_column(backend: DatabaseBackend) -> &'static str {
    match backend {
        DatabaseBackend::Postgres => {
            "(SELECT string_agg(CAST(nt.theme_id AS text), ',') FROM need_theme nt WHERE nt.need_id = n.id) AS theme_ids"
        }
        _ => "(SELECT group_concat(nt.theme_id) FROM need_theme nt WHERE nt.need_id = n.id) AS theme_ids",
    }
}

#[derive(FromQueryResult)]
struct ThemeIds {
    theme_ids: Option<String>,
}

impl ThemeIds {
    /// The ids, in ascending order (the order themes are shown in).
    fn parse(self) -> Vec<i32> {
        let mut ids: Vec<i32> =
            self.theme_ids.unwrap_or_default().split(',').filter_map(|id| id.trim().parse().ok()).collect();
        ids.sort_unstable();
        ids
    }
}

/// A need and its themes' ids from a row that selected `need_columns()` and `theme_ids_column`.
fn with_theme_ids(row: &sea_orm::QueryResult) -> Result<(need::Model, Vec<i32>), DbErr> {
    Ok((need::Model::from_query_result(row, "")?, ThemeIds::from_query_result(row, "")?.parse()))
}

/// Needs by id, each with its themes' ids, in one statement.
pub async fn by_ids_with_themes(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<Vec<(need::Model, Vec<i32>)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push(&format!("SELECT {}, {} FROM need n WHERE n.id IN ", need_columns(), theme_ids_column(backend)))
        .bind_list(ids.iter().copied());
    let rows = db.query_all_raw(sql.statement()).await?;
    rows.iter().map(with_theme_ids).collect()
}

#[derive(FromQueryResult)]
struct CommissionId {
    commission_id: i32,
}

/// The needs that commissions answer, by commission, each with its themes' ids, in one
/// statement.
pub async fn of_commissions_with_themes(
    db: &impl ConnectionTrait,
    commission_ids: &[i32],
) -> Result<Vec<(i32, need::Model, Vec<i32>)>, DbErr> {
    if commission_ids.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push(&format!(
        "SELECT cn.commission_id AS commission_id, {}, {} FROM commission_need cn JOIN need n ON n.id = cn.need_id \
         WHERE cn.commission_id IN ",
        need_columns(),
        theme_ids_column(backend)
    ))
    .bind_list(commission_ids.iter().copied())
    .push(" ORDER BY n.id");
    let rows = db.query_all_raw(sql.statement()).await?;
    rows.iter()
        .map(|row| {
            let (need, theme_ids) = with_theme_ids(row)?;
            Ok((CommissionId::from_query_result(row, "")?.commission_id, need, theme_ids))
        })
        .collect()
}

#[derive(FromQueryResult)]
struct Place {
    cluster_id: Option<i32>,
    region_id: Option<i32>,
}

/// A need with what the event relay filters on: its municipality's cluster and region, and its
/// themes' ids.
pub struct Placed {
    pub need: need::Model,
    pub cluster_id: Option<i32>,
    pub region_id: Option<i32>,
    pub theme_ids: Vec<i32>,
}

/// A need with its place and themes, in one statement (for the event relay).
pub async fn with_place(db: &impl ConnectionTrait, id: i32) -> Result<Option<Placed>, DbErr> {
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push(&format!(
        "SELECT {}, {}, m.cluster_id AS cluster_id, c.region_id AS region_id FROM need n \
         LEFT JOIN municipality m ON m.id = n.municipality_id LEFT JOIN county c ON c.id = m.county_id \
         WHERE n.id = ",
        need_columns(),
        theme_ids_column(backend)
    ))
    .bind(id);
    let Some(row) = db.query_one_raw(sql.statement()).await? else {
        return Ok(None);
    };
    let (need, theme_ids) = with_theme_ids(&row)?;
    let place = Place::from_query_result(&row, "")?;
    Ok(Some(Placed { need, cluster_id: place.cluster_id, region_id: place.region_id, theme_ids }))
}

/// The statement of one page (and one row more, to tell whether more follow).
fn page(
    backend: DatabaseBackend,
    filter: &NeedFilter,
    visibility: &Visibility,
    order: NeedOrder,
    window: &Window,
    candidates: Option<&Candidates<'_>>,
) -> Statement {
    let (column, descending) = sort_column(order);
    let mut sql = Sql::new(backend);
    let (time, count, rank) = match order {
        NeedOrder::Newest | NeedOrder::Oldest | NeedOrder::Updated => (column, "NULL", "NULL"),
        NeedOrder::Reach => ("NULL", column, "NULL"),
        NeedOrder::Relevance => ("NULL", "NULL", column),
    };
    let cast =
        |expr: &str, ty: &str| if expr == "NULL" { format!("CAST(NULL AS {ty})") } else { expr.to_owned() };
    // The rows come with their sort values: the page is one statement.
    sql.push(&format!(
        "SELECT {}, {}, {} AS sort_time, {} AS sort_count, {} AS sort_rank",
        need_columns(),
        theme_ids_column(backend),
        if time == "NULL" {
            cast(time, if backend == DatabaseBackend::Postgres { "timestamptz" } else { "text" })
        } else {
            time.to_owned()
        },
        if count == "NULL" { cast(count, "bigint") } else { format!("CAST({count} AS bigint)") },
        if rank == "NULL" {
            cast(rank, "double precision")
        } else {
            format!("CAST({rank} AS double precision)")
        },
    ));
    from_join_where_among(&mut sql, "", filter, visibility, candidates);
    keyset(&mut sql, column, "n.id", descending, window);
    // Reading from the end runs the order backwards and turns the page round afterwards.
    let reverse = descending == window.from_end;
    let direction = if reverse { "ASC" } else { "DESC" };
    sql.push(&format!(" ORDER BY {column} {direction}, n.id {direction} LIMIT "));
    sql.bind(i64::try_from(window.size + 1).unwrap_or(i64::MAX));
    sql.statement()
}

/// One page of needs and whether there are more in the direction of travel.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    order: NeedOrder,
    window: &Window,
) -> Result<(Vec<Listed>, bool), DbErr> {
    let order = order.effective(filter);
    let backend = db.get_database_backend();
    let mut rows = Vec::new();
    if order == NeedOrder::Relevance {
        // A broad search matches thousands of needs: look for the page among the best-ranked
        // few hundred first. When they fill it (with one to spare), no other match can come
        // before them; when they do not (strict filters, the last page), the whole query runs.
        let candidates = Candidates { limit: CANDIDATES.max(4 * (window.size + 1)), window };
        rows = db.query_all_raw(page(backend, filter, visibility, order, window, Some(&candidates))).await?;
    }
    if rows.len() <= window.size {
        rows = db.query_all_raw(page(backend, filter, visibility, order, window, None)).await?;
    }
    let more = rows.len() > window.size;
    rows.truncate(window.size);
    if window.from_end {
        rows.reverse();
    }
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows {
        let (need, theme_ids) = with_theme_ids(&row)?;
        let k = SortValues::from_query_result(&row, "")?;
        let key = match order {
            NeedOrder::Newest | NeedOrder::Oldest | NeedOrder::Updated => k.sort_time.map(CursorKey::Time),
            NeedOrder::Reach => k.sort_count.map(CursorKey::Count),
            NeedOrder::Relevance => k.sort_rank.map(CursorKey::Rank),
        };
        if let Some(key) = key {
            listed.push(Listed { cursor: Cursor { order, key, id: need.id }, need, theme_ids });
        }
    }
    Ok((listed, more))
}

#[derive(FromQueryResult)]
struct Counted {
    n: i64,
}

/// How many needs match (for `totalCount`, computed only when asked for).
pub async fn count(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
) -> Result<i64, DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT COUNT(*) AS n");
    from_where(&mut sql, filter, visibility);
    Ok(Counted::find_by_statement(sql.statement()).one(db).await?.map_or(0, |c| c.n))
}

/// A page of need events in the order they were recorded (by id): those after the event `after`
/// and at or after `since`, of the needs that match `filter` and that the viewer may see; and
/// whether more follow. This is how a subscriber catches up after a reconnect.
pub async fn events(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    after: Option<i32>,
    since: Option<DateTime<Utc>>,
    size: usize,
) -> Result<(Vec<need_event::Model>, bool), DbErr> {
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT e.* FROM need_event e WHERE e.need_id IN (SELECT n.id");
    from_where(&mut sql, filter, visibility);
    sql.push(")");
    if let Some(after) = after {
        sql.push(" AND e.id > ").bind(after);
    }
    if let Some(since) = since {
        sql.push(" AND e.occurred_at >= ").bind(since);
    }
    sql.push(" ORDER BY e.id LIMIT ").bind(i64::try_from(size + 1).unwrap_or(i64::MAX));
    let mut rows = need_event::Entity::find().from_raw_sql(sql.statement()).all(db).await?;
    let more = rows.len() > size;
    rows.truncate(size);
    Ok((rows, more))
}

/// A group and its count, for dashboards.
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct GroupCount {
    pub key: Option<String>,
    pub n: i64,
}

/// What to count by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    Status,
    Theme,
    Cluster,
    Municipality,
    SubmittedMonth,
}

/// Counts of matching needs by one grouping, computed with GROUP BY.
pub async fn count_by(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    grouping: Grouping,
) -> Result<Vec<GroupCount>, DbErr> {
    let backend = db.get_database_backend();
    let month = match backend {
        DatabaseBackend::Postgres => "to_char(n.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')",
        // SQLite keeps timestamps as ISO text starting with the UTC date.
        _ => "substr(n.submitted_at, 1, 7)",
    };
    let (key, join) = match grouping {
        Grouping::Status => ("n.status".to_owned(), ""),
        Grouping::Theme => {
            ("CAST(nt.theme_id AS TEXT)".to_owned(), " JOIN need_theme nt ON nt.need_id = n.id")
        }
        Grouping::Cluster => {
            ("CAST(m.cluster_id AS TEXT)".to_owned(), " JOIN municipality m ON m.id = n.municipality_id")
        }
        Grouping::Municipality => ("CAST(n.municipality_id AS TEXT)".to_owned(), ""),
        Grouping::SubmittedMonth => (month.to_owned(), ""),
    };
    // One pass over the matching needs, joined to what they are grouped by.
    let mut sql = Sql::new(backend);
    sql.push(&format!("SELECT {key} AS key, COUNT(*) AS n"));
    from_join_where(&mut sql, join, filter, visibility);
    if grouping == Grouping::SubmittedMonth {
        // Drafts have no submission month.
        sql.push(" AND n.submitted_at IS NOT NULL");
    }
    sql.push(&format!(" GROUP BY {key} ORDER BY {key}"));
    GroupCount::find_by_statement(sql.statement()).all(db).await
}

/// Needs like the given text (for duplicate suggestions): published, open, best match first.
pub async fn similar(
    db: &impl ConnectionTrait,
    words: Vec<String>,
    except: i32,
    limit: u64,
) -> Result<Vec<need::Model>, DbErr> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    // Any word may match (OR), ranked; the strongest matches share most words.
    match backend {
        DatabaseBackend::Postgres => {
            let query: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
            sql.push("SELECT n.id AS id FROM need_search m JOIN need n ON n.id = m.need_id, to_tsquery('norwegian', ")
                .bind(query.join(" | "))
                .push(") q WHERE m.search @@ q AND n.id <> ")
                .bind(except)
                .push(" AND n.status NOT IN ('DRAFT', 'REJECTED', 'WITHDRAWN', 'MERGED', 'ANSWERED', 'ANSWERED_BY_EXISTING_EVIDENCE') ORDER BY ts_rank(m.search, q) DESC, n.id LIMIT ")
                .bind(i64::try_from(limit).unwrap_or(5));
        }
        _ => {
            let query: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
            sql.push("SELECT n.id AS id FROM need_fts f JOIN need n ON n.id = f.rowid WHERE need_fts MATCH ")
                .bind(query.join(" OR "))
                .push(" AND n.id <> ")
                .bind(except)
                .push(" AND n.status NOT IN ('DRAFT', 'REJECTED', 'WITHDRAWN', 'MERGED', 'ANSWERED', 'ANSWERED_BY_EXISTING_EVIDENCE') ORDER BY bm25(need_fts, 10.0, 5.0, 1.0), n.id LIMIT ")
                .bind(i64::try_from(limit).unwrap_or(5));
        }
    }
    #[derive(FromQueryResult)]
    struct Id {
        id: i32,
    }
    let ids: Vec<i32> =
        Id::find_by_statement(sql.statement()).all(db).await?.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: HashMap<i32, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    Ok(ids.into_iter().filter_map(|id| rows.remove(&id)).collect())
}

// ---------------------------------------------------------------------------------------------
// Single rows the API and the command line read by id or title.

/// A piece of evidence by id.
pub async fn evidence(db: &impl ConnectionTrait, id: i32) -> Result<Option<need_evidence::Model>, DbErr> {
    need_evidence::Entity::find_by_id(id).one(db).await
}

/// A need with exactly this title (the demo's check that its needs are there already).
pub async fn by_title(db: &impl ConnectionTrait, title: &str) -> Result<Option<need::Model>, DbErr> {
    need::Entity::find().filter(need::Column::Title.eq(title)).one(db).await
}
