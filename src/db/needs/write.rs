//! Writes of a need's own life: create (in a unit, into a partnership's pool), edit, move, forward
//! and pass on, link evidence, set a municipality's population. Each is one transaction that
//! records its history event (`record`), and every change of a need passes the version check
//! (`lock`, `save`).

use chrono::Utc;
use entity::{
    enums::{NeedEventKind, NeedStatus, OrganisationKind, Urgency},
    municipality, need, need_event, need_evidence, need_term, need_theme, organisation,
    organisation_ancestor, partnership, partnership_member,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QueryTrait,
    sea_query::{
        Asterisk, CommonTableExpression, Expr, ExprTrait, InsertStatement, JoinType, Query, WithClause,
        WithQuery,
    },
};

use super::search;
use crate::{
    db::{Db, Effect, NodeType, WriteError, sql},
    domain::{
        needs::{Move, NeedText, next},
        organisations::{Accepting, Pool, pool, raises_needs},
    },
};

/// One history event to write.
pub(super) struct NewEvent {
    pub need_id: i32,
    /// `None` when the hub acts itself (a round closing at its closing time).
    pub actor: Option<i32>,
    pub kind: NeedEventKind,
    pub from: Option<NeedStatus>,
    pub to: Option<NeedStatus>,
    pub reason: Option<String>,
    pub related_need_id: Option<i32>,
    /// The municipality of a co-signature (the one its unit is or is in).
    pub municipality_id: Option<i32>,
    /// The unit of a co-signature, or the national authority a need was passed on to.
    pub organisation_id: Option<i32>,
    /// The partnership whose pool a forwarded need left.
    pub partnership_id: Option<i32>,
}

impl NewEvent {
    /// An event of `kind` on a need, with nothing more to say than who.
    pub fn of(need_id: i32, actor: Option<i32>, kind: NeedEventKind) -> Self {
        Self {
            need_id,
            actor,
            kind,
            from: None,
            to: None,
            reason: None,
            related_need_id: None,
            municipality_id: None,
            organisation_id: None,
            partnership_id: None,
        }
    }

    /// The event, naming `unit` as the co-signer.
    pub fn signed_by(self, unit: Unit) -> Self {
        Self {
            municipality_id: Some(unit.municipality_id),
            organisation_id: Some(unit.organisation_id),
            ..self
        }
    }
}

/// Writes a history event in the transaction of its change, and announces it (see `events`).
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn record(txn: &DatabaseTransaction, event: NewEvent) -> Result<(), DbErr> {
    let recorded = event.row().insert(txn).await?;
    crate::db::outbox::announce(txn, crate::db::outbox::Topic::Need, recorded.id).await
}

impl NewEvent {
    /// The event's row, to be written now and announced.
    fn row(self) -> need_event::ActiveModel {
        need_event::ActiveModel {
            need_id: Set(self.need_id),
            occurred_at: Set(Utc::now()),
            actor_person_id: Set(self.actor),
            kind: Set(self.kind),
            from_status: Set(self.from),
            to_status: Set(self.to),
            reason: Set(self.reason),
            related_need_id: Set(self.related_need_id),
            municipality_id: Set(self.municipality_id),
            organisation_id: Set(self.organisation_id),
            partnership_id: Set(self.partnership_id),
            notify_pending: Set(true),
            ..Default::default()
        }
    }
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
#[tracing::instrument(level = "debug", skip_all)]
async fn set_themes(txn: &DatabaseTransaction, need_id: i32, theme_ids: &[i32]) -> Result<(), DbErr> {
    need_theme::Entity::delete_many().filter(need_theme::Column::NeedId.eq(need_id)).exec(txn).await?;
    add_themes(txn, need_id, theme_ids).await
}

/// Gives a need (a new one, or one whose themes were removed) its themes.
#[tracing::instrument(level = "debug", skip_all)]
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

/// A unit that raises or co-signs needs, with the municipality it is in (itself, for a
/// municipality).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit {
    pub organisation_id: i32,
    pub municipality_id: i32,
}

/// Where a unit sits, as a need raised or co-signed in it needs to know.
struct Place {
    unit: Unit,
    /// The partnerships that take needs from it, with their keys.
    accepting: Vec<(Accepting, String)>,
}

#[derive(FromQueryResult)]
struct PlaceRow {
    depth: i32,
    /// The unit's, on every row.
    kind: OrganisationKind,
    /// The unit's, on every row.
    closed_at: Option<chrono::DateTime<Utc>>,
    /// The ancestor's, if it is a municipality.
    municipality_id: Option<i32>,
    partnership_id: Option<i32>,
    partnership_key: Option<String>,
}

/// The unit `organisation_id` (which must raise needs, be open and lie within a municipality),
/// its municipality and the partnerships that take its needs: one statement over the closure,
/// a row per ancestor (and per partnership taking needs there), each with the unit's own kind
/// and state. The unit is joined by its id and an ancestor's municipality is a subquery, so that
/// PostgreSQL reads both through their indexes instead of hashing both tables whole: this runs
/// in every submission and co-signature.
async fn place(txn: &DatabaseTransaction, organisation_id: i32) -> Result<Place, WriteError> {
    const OA: &str = "oa";
    const U: &str = "u";
    const M: &str = "m";
    const PM: &str = "pm";
    const P: &str = "p";
    let municipality = Query::select()
        .column((M, municipality::Column::Id))
        .from_as(municipality::Entity, M)
        .and_where(
            Expr::col((M, municipality::Column::OrganisationId))
                .equals((OA, organisation_ancestor::Column::AncestorId)),
        )
        .to_owned();
    let select = Query::select()
        .column((OA, organisation_ancestor::Column::Depth))
        .columns([(U, organisation::Column::Kind), (U, organisation::Column::ClosedAt)])
        .expr_as(sql::scalar(municipality), "municipality_id")
        .column((PM, partnership_member::Column::PartnershipId))
        .expr_as(Expr::col((P, partnership::Column::Key)), "partnership_key")
        .from_as(organisation_ancestor::Entity, OA)
        .join_as(
            JoinType::InnerJoin,
            organisation::Entity,
            U,
            Expr::col((U, organisation::Column::Id))
                .equals((OA, organisation_ancestor::Column::OrganisationId)),
        )
        .join_as(
            JoinType::LeftJoin,
            partnership_member::Entity,
            PM,
            Expr::col((PM, partnership_member::Column::OrganisationId))
                .equals((OA, organisation_ancestor::Column::AncestorId))
                .and(Expr::col((PM, partnership_member::Column::AcceptsNeeds)).eq(true)),
        )
        .join_as(
            JoinType::LeftJoin,
            partnership::Entity,
            P,
            Expr::col((P, partnership::Column::Id)).equals((PM, partnership_member::Column::PartnershipId)),
        )
        .and_where(Expr::col((OA, organisation_ancestor::Column::OrganisationId)).eq(organisation_id))
        .to_owned();
    let rows = PlaceRow::find_by_statement(txn.get_database_backend().build(&select)).all(txn).await?;
    let unit = rows.iter().find(|r| r.depth == 0).ok_or(WriteError::NotFound { field: "organisation" })?;
    let municipality_id = rows.iter().find_map(|r| r.municipality_id);
    let Some(municipality_id) = municipality_id.filter(|_| raises_needs(unit.kind)) else {
        return Err(WriteError::Invalid {
            field: "organisation",
            message: "needs are raised in a municipality or a unit within one (a district, programme, \
                      sub-programme or project)"
                .into(),
        });
    };
    if unit.closed_at.is_some() {
        return Err(WriteError::Invalid { field: "organisation", message: "the unit is closed".into() });
    }
    let accepting = rows
        .iter()
        .filter_map(|r| {
            let partnership_id = r.partnership_id?;
            Some((
                Accepting { depth: r.depth, partnership_id },
                r.partnership_key.clone().unwrap_or_default(),
            ))
        })
        .collect();
    Ok(Place { unit: Unit { organisation_id, municipality_id }, accepting })
}

/// The unit `organisation_id` as a co-signer: its municipality, once it is checked to raise
/// needs (see `place`).
pub(super) async fn cosigning_unit(
    txn: &DatabaseTransaction,
    organisation_id: i32,
) -> Result<Unit, WriteError> {
    Ok(place(txn, organisation_id).await?.unit)
}

/// Creates a need raised in the unit `organisation_id`, in the pool of `partnership_id` if given
/// (it must take needs from the unit), else of the nearest partnership that takes them (see
/// `domain::organisations::pool`); submitted at once with `submit`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(
    db: &Db,
    actor: i32,
    organisation_id: i32,
    partnership_id: Option<i32>,
    content: NeedContent,
    submit: bool,
) -> Result<need::Model, WriteError> {
    let now = Utc::now();
    let status = if submit { NeedStatus::Submitted } else { NeedStatus::Draft };
    let txn = db.begin_write().await?;
    let place = place(&txn, organisation_id).await?;
    let accepting: Vec<Accepting> = place.accepting.iter().map(|(a, _)| *a).collect();
    let partnership_id = match pool(&accepting, partnership_id) {
        Pool::Chosen(id) => id,
        Pool::NotAccepted => {
            return Err(WriteError::Invalid {
                field: if partnership_id.is_some() { "partnership" } else { "organisation" },
                message: "no partnership of these takes needs from the unit".into(),
            });
        }
        Pool::Ambiguous(ids) => {
            let mut keys: Vec<&str> = place
                .accepting
                .iter()
                .filter(|(a, _)| ids.contains(&a.partnership_id))
                .map(|(_, key)| key.as_str())
                .collect();
            keys.sort_unstable();
            keys.dedup();
            return Err(WriteError::Invalid {
                field: "partnership",
                message: format!(
                    "several partnerships take needs from this unit: name one of {}",
                    keys.join(", ")
                ),
            });
        }
    };
    let mut model = need::ActiveModel {
        municipality_id: Set(place.unit.municipality_id),
        organisation_id: Set(Some(organisation_id)),
        partnership_id: Set(Some(partnership_id)),
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
    let terms =
        search::terms_of(NEW_NEED, &content.text.title, &content.text.question, &content.text.background);
    let themes: Vec<need_theme::ActiveModel> = content
        .theme_ids
        .iter()
        .map(|&theme_id| need_theme::ActiveModel { need_id: Set(NEW_NEED), theme_id: Set(theme_id) })
        .collect();
    apply_content(&mut model, content);
    let created =
        NewEvent { to: Some(status), ..NewEvent::of(NEW_NEED, Some(actor), NeedEventKind::Created) };
    // Boxed: the futures of the mutations are held by value in every resolver above them.
    let need = Box::pin(insert_new(&txn, model, NewRows { terms, themes, event: created.row() })).await?;
    db.commit(txn, Effect::Created(NodeType::Need, need.id)).await?;
    Ok(need)
}

/// The id the rows of a new need hold until [`insert_new`] gives them the one the need gets.
const NEW_NEED: i32 = 0;

/// Inserts a new need with its rows (index terms, themes, the history event of its creation),
/// which get its id, and announces the event. On PostgreSQL it is one statement (see
/// [`insert_new_at_once`]); SQLite has no data-modifying CTEs and runs the same inserts one by
/// one, in process.
async fn insert_new(
    txn: &DatabaseTransaction,
    need: need::ActiveModel,
    rows: NewRows,
) -> Result<need::Model, DbErr> {
    let backend = txn.get_database_backend();
    let insert_need = need::Entity::insert(need).into_query().returning_all().to_owned();
    if backend == DatabaseBackend::Postgres {
        let statement = backend.build(&insert_new_at_once(insert_need, &rows));
        return need::Model::find_by_statement(statement).one(txn).await?.ok_or(DbErr::RecordNotInserted);
    }
    let need = need::Model::find_by_statement(backend.build(&insert_need))
        .one(txn)
        .await?
        .ok_or(DbErr::RecordNotInserted)?;
    for insert in rows.inserts(&Expr::val(need.id)).into_iter().flatten() {
        txn.execute_raw(backend.build(&insert)).await?;
    }
    Ok(need)
}

/// The rows a new need is written with, each holding [`NEW_NEED`] for its id.
struct NewRows {
    terms: Vec<need_term::ActiveModel>,
    themes: Vec<need_theme::ActiveModel>,
    event: need_event::ActiveModel,
}

impl NewRows {
    /// Their inserts, naming the need by `id`: terms, themes, then the event.
    fn inserts(&self, id: &Expr) -> [Option<InsertStatement>; 3] {
        use crate::db::sql::insert_with;
        [
            insert_with(&self.terms, need_term::Column::NeedId, id),
            insert_with(&self.themes, need_theme::Column::NeedId, id),
            insert_with(std::slice::from_ref(&self.event), need_event::Column::NeedId, id),
        ]
    }
}

/// PostgreSQL's insert of a new need and its rows as one statement: data-modifying CTEs, the
/// need's first (`n`), the rows naming it by `(SELECT id FROM n)`, the event announced in the
/// statement's own select. A write costs one round trip, and the tallies its triggers add to are
/// locked from the end of this statement to the commit, not across several.
fn insert_new_at_once(insert_need: InsertStatement, rows: &NewRows) -> WithQuery {
    use crate::db::outbox;
    const NEED: &str = "n";
    const EVENT: &str = "e";
    let id = crate::db::sql::scalar(Query::select().column(need::Column::Id).from(NEED).to_owned());
    let cte = |name: &'static str, insert: InsertStatement| {
        CommonTableExpression::new().query(insert).table_name(name).to_owned()
    };
    let mut with = WithClause::new();
    with.cte(cte(NEED, insert_need));
    let [terms, themes, event] = rows.inserts(&id);
    for (name, insert) in [("t", terms), ("th", themes)] {
        if let Some(insert) = insert {
            with.cte(cte(name, insert));
        }
    }
    if let Some(mut event) = event {
        with.cte(cte(EVENT, event.returning_col(need_event::Column::Id).to_owned()));
    }
    Query::select()
        .column((NEED, Asterisk))
        .expr_as(
            outbox::announcement(outbox::Topic::Need, Expr::col((EVENT, need_event::Column::Id)))
                .is_not_null(),
            "announced",
        )
        .from(NEED)
        .from(EVENT)
        .to_owned()
        .with(with)
}

/// Reads a need for a change and checks the version the caller read.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn lock(
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
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn save(
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

/// Where a need goes when it leaves its partnership's hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handover {
    /// Up from a regional (or other) pool to the pool of the national partnership that serves the
    /// unit that raised it (KSF).
    National,
    /// From the national pool on to a national authority: an organisation of kind STATE_PARTNER.
    Authority(i32),
}

/// Forwards a need to the national level, or passes it on from there to a national authority
/// (see [`Handover`]), with the reason given; the history records where it came from or went.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn hand_over(
    db: &Db,
    actor: i32,
    need_id: i32,
    expected_version: Option<i32>,
    handover: Handover,
    reason: String,
) -> Result<need::Model, WriteError> {
    use crate::db::organisations::read;
    let txn = db.begin_write().await?;
    let read = lock(&txn, need_id, expected_version).await?;
    let national_now = match read.partnership_id {
        Some(pool) => read::is_national(&txn, pool).await?,
        None => false,
    };
    let attempted = match handover {
        Handover::National => Move::Forward,
        Handover::Authority(_) => Move::PassOn,
    };
    let to = next(read.status, attempted)
        .map_err(|illegal| WriteError::Conflict { field: "need", message: illegal.to_string() })?;
    let mut model = read.clone().into_active_model();
    model.status = Set(to);
    let mut event = NewEvent {
        from: Some(read.status),
        to: Some(to),
        reason: Some(reason),
        ..NewEvent::of(need_id, Some(actor), NeedEventKind::StatusChanged)
    };
    match handover {
        Handover::National => {
            if national_now {
                return Err(WriteError::Conflict {
                    field: "need",
                    message: "the need is in the national pool already".into(),
                });
            }
            let unit = read.organisation_id.ok_or(WriteError::NotFound { field: "organisation" })?;
            let national =
                read::national_partnership_serving(&txn, unit).await?.ok_or_else(|| WriteError::Invalid {
                    field: "need",
                    message: "no national partnership serves the unit that raised it".into(),
                })?;
            model.partnership_id = Set(Some(national));
            event.partnership_id = read.partnership_id;
        }
        Handover::Authority(authority) => {
            if !national_now {
                return Err(WriteError::Conflict {
                    field: "need",
                    message: "only a need in the national pool is passed on to a national authority: forward it first"
                        .into(),
                });
            }
            let found = organisation::Entity::find_by_id(authority)
                .one(&txn)
                .await?
                .ok_or(WriteError::NotFound { field: "to" })?;
            if found.kind != OrganisationKind::StatePartner || found.closed_at.is_some() {
                return Err(WriteError::Invalid {
                    field: "to",
                    message: "a need is passed on to an open organisation of kind STATE_PARTNER".into(),
                });
            }
            event.organisation_id = Some(authority);
        }
    }
    let saved = save(&txn, &read, model).await?;
    record(&txn, event).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// Replaces what the municipality wrote; only while the need is a draft, submitted or returned.
#[tracing::instrument(level = "debug", skip_all)]
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
    search::reindex(&txn, &read, &saved).await?;
    set_themes(&txn, need_id, &theme_ids).await?;
    record(&txn, NewEvent::of(need_id, Some(actor), NeedEventKind::Edited)).await?;
    db.commit(txn, Effect::Changed(NodeType::Need, need_id)).await?;
    Ok(saved)
}

/// Moves a need to its next state (see `domain::needs::next`), with a history event.
#[tracing::instrument(level = "debug", skip_all)]
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
#[tracing::instrument(level = "debug", skip_all)]
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
            from: Some(read.status),
            to: Some(to),
            reason,
            ..NewEvent::of(need_id, actor, NeedEventKind::StatusChanged)
        },
    )
    .await?;
    Ok(saved)
}

/// Adds `municipality_id` as a co-signer of an open, submitted need.
/// Evidence found in the evidence check.
pub struct NewEvidence {
    pub title: String,
    pub url: Option<String>,
    pub doi: Option<String>,
    pub note: Option<String>,
}

/// Links evidence to a need, with its history event.
#[tracing::instrument(level = "debug", skip_all)]
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
    record(&txn, NewEvent::of(need_id, Some(actor), NeedEventKind::EvidenceLinked)).await?;
    db.commit(txn, Effect::Created(NodeType::Evidence, linked.id)).await?;
    Ok(linked)
}

/// Merges `duplicates` into `survivor`: each duplicate becomes MERGED and points at the survivor,
/// keeping its own text and history; the municipalities behind it (owner, co-signers and what
/// its own duplicates carried) become carried co-signers of the survivor unless they are there
/// Sets (or clears) a municipality's number of inhabitants.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_population(
    db: &Db,
    actor: crate::db::audit::Actor,
    municipality_id: i32,
    partnership_id: Option<i32>,
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
    // A coordinator's figure (or a cleared one) is theirs: the reference-data loader leaves an
    // edited organisation's municipality as it is.
    if let Some(organisation_id) = saved.organisation_id {
        organisation::Entity::update_many()
            .col_expr(organisation::Column::EditedAt, sea_orm::sea_query::Expr::value(Utc::now()))
            .filter(organisation::Column::Id.eq(organisation_id))
            .exec(&txn)
            .await?;
    }
    crate::db::audit::record(
        &txn,
        actor,
        crate::db::audit::Event {
            action: "municipality.set_population",
            target_type: NodeType::Municipality,
            target_id: municipality_id,
            partnership_id,
            detail: Some(serde_json::json!({ "population": population })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Municipality, municipality_id)).await?;
    Ok(saved)
}
