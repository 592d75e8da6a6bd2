//! Deterministic datasets in tiers, on the national reference data (357 municipalities, Oslo's
//! districts, the regional and national partnerships and Oslo's): needs drawn in proportion to
//! each municipality's population (`data/population.csv`), so Oslo, Bergen and Trondheim raise the
//! most; more than half of Oslo's raised by its districts, into the pool of Områdesatsingene where
//! it takes the district's needs; each need in the pool of its county's region where there is
//! one, otherwise of KSF. About 2 co-signers and 3 history events per need, 10% of needs
//! commissioned and half of those with a published summary.
//!
//! A dev-only crate, not part of the hub: the bench program and the API tests fill databases the
//! same way (`tests/api/statements.rs` counts statements on it). The same seed and tier always
//! give the same rows. Rows are inserted in batches inside a few large transactions; full-text
//! indexes follow through the schema's own triggers and generated columns.

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::{
    commission, commission_need, county,
    enums::{CommissionStatus, NeedEventKind, NeedStatus, OrganisationKind, Urgency},
    institution, membership, municipality, need, need_cosign, need_event, need_term, need_theme,
    organisation, partnership, partnership_member, person, product_type, summary, theme,
};
use knowledge_hub::db::Db;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, Iterable, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

/// A dataset size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Tier {
    /// 300 needs: for the CI smoke run.
    Smoke,
    /// 10,000 needs.
    S,
    /// 100,000 needs.
    M,
    /// 1,000,000 needs (PostgreSQL only).
    L,
}

impl Tier {
    pub fn needs(self) -> usize {
        match self {
            Self::Smoke => 300,
            Self::S => 10_000,
            Self::M => 100_000,
            Self::L => 1_000_000,
        }
    }
}

/// splitmix64: small, fast and deterministic.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

const TOPICS: &[&str] = &[
    "Fallforebygging",
    "Ernæring",
    "Einsemd",
    "Demens",
    "Velferdsteknologi",
    "Rehabilitering",
    "Psykisk helse",
    "Rusomsorg",
    "Legemiddelhandtering",
    "Palliasjon",
    "Kvardagsrehabilitering",
    "Tannhelse",
    "Fysisk aktivitet",
    "Søvn",
    "Pårørandestøtte",
    "Kompetanse",
];
const GROUPS: &[&str] =
    &["eldre heimebuande", "sjukeheimsbebuarar", "ungdom", "born", "tilsette", "pårørande", "innvandrarar"];

/// Rows in the dataset, for the report.
#[derive(Debug, Default)]
pub struct Counts {
    pub needs: usize,
    pub cosignatures: usize,
    pub events: usize,
    pub commissions: usize,
    pub summaries: usize,
}

fn status_for(rng: &mut Rng) -> NeedStatus {
    match rng.below(90) {
        0..=24 => NeedStatus::Submitted,
        25..=49 => NeedStatus::Accepted,
        50..=54 => NeedStatus::Prioritised,
        55..=59 => NeedStatus::Deferred,
        60..=64 => NeedStatus::Returned,
        65..=69 => NeedStatus::Rejected,
        70..=74 => NeedStatus::Withdrawn,
        75..=79 => NeedStatus::Draft,
        80..=84 => NeedStatus::AnsweredByExistingEvidence,
        _ => NeedStatus::Submitted,
    }
}

/// Generates a tier into an empty, migrated database. Refuses a database that has needs.
pub async fn generate(db: &Db, tier: Tier, seed: u64) -> Result<Counts, String> {
    generate_needs(db, tier.needs(), seed).await
}

/// Fills an empty database with `total` needs and what hangs off them (see the module docs).
pub async fn generate_needs(db: &Db, total: usize, seed: u64) -> Result<Counts, String> {
    let conn = db.background();
    let fail = |e: sea_orm::DbErr| e.to_string();
    if need::Entity::find().count(conn).await.map_err(fail)? > 0 {
        return Err("the database has needs already; generate into an empty one".into());
    }
    // RSO Vest's municipalities (those in a cluster), in the order they had when they were all the
    // reference data, so a seed gives the datasets it gave before the national data came. Issue
    // 21 moves the tiers to the national data.
    let municipalities = municipality::Entity::find()
        .filter(municipality::Column::OrganisationId.is_not_null())
        .order_by_asc(municipality::Column::Id)
        .all(conn)
        .await
        .map_err(fail)?;
    let counties: std::collections::HashMap<i32, Option<i32>> = county::Entity::find()
        .all(conn)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|c| (c.id, c.partnership_id))
        .collect();
    let partnership = |key: &'static str| async move {
        partnership::Entity::find()
            .filter(partnership::Column::Key.eq(key))
            .one(conn)
            .await
            .map_err(fail)?
            .map(|p| p.id)
            .ok_or(format!("no partnership {key}"))
    };
    let national = partnership("ksf").await?;
    let areas = partnership("omradesatsingene").await?;
    let pool = |m: &municipality::Model| counties.get(&m.county_id).copied().flatten().unwrap_or(national);
    // Oslo's districts, each with the pool its needs go to.
    let taking: Vec<i32> = partnership_member::Entity::find()
        .filter(partnership_member::Column::PartnershipId.eq(areas))
        .filter(partnership_member::Column::AcceptsNeeds.eq(true))
        .all(conn)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|m| m.organisation_id)
        .collect();
    let districts: Vec<(i32, i32)> = organisation::Entity::find()
        .filter(organisation::Column::Kind.eq(OrganisationKind::District))
        .order_by_asc(organisation::Column::Id)
        .all(conn)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|d| (d.id, if taking.contains(&d.id) { areas } else { national }))
        .collect();
    let oslo = municipalities.iter().position(|m| m.code == "0301");
    let themes = theme::Entity::find().order_by_asc(theme::Column::Id).all(conn).await.map_err(fail)?;
    let institutions =
        institution::Entity::find().order_by_asc(institution::Column::Id).all(conn).await.map_err(fail)?;
    let products =
        product_type::Entity::find().order_by_asc(product_type::Column::Id).all(conn).await.map_err(fail)?;
    if municipalities.is_empty() || themes.is_empty() || institutions.is_empty() || products.is_empty() {
        return Err("the reference data is missing".into());
    }
    let weights: Vec<u64> =
        municipalities.iter().map(|m| m.population.map_or(5_000, |p| p.max(1) as u64)).collect();
    let total_weight: u64 = weights.iter().sum();
    let mut rng = Rng::new(seed);
    let pick_municipality = |rng: &mut Rng| {
        let mut target = rng.next_u64() % total_weight;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                return i;
            }
            target -= w;
        }
        weights.len() - 1
    };
    let epoch = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).single().ok_or("a date")?;
    let span_minutes = 3 * 365 * 24 * 60;

    // One member per municipality: the actor of its needs.
    let txn = conn.begin().await.map_err(fail)?;
    let mut people = Vec::with_capacity(municipalities.len());
    for m in &municipalities {
        let person = person::ActiveModel {
            name: Set(format!("Medlem {}", m.name)),
            email: Set(format!("medlem.{}@bench.example.no", m.code)),
            home_partnership_id: Set(None),
            created_at: Set(epoch),
            language: Set(entity::enums::Language::Nb),
            ..Default::default()
        };
        let saved = person::Entity::insert(person).exec(&txn).await.map_err(fail)?;
        membership::Entity::insert(membership::ActiveModel {
            person_id: Set(saved.last_insert_id),
            role: Set(entity::enums::Role::UnitMember),
            organisation_id: Set(m.organisation_id),
            created_at: Set(epoch),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(fail)?;
        people.push(saved.last_insert_id);
    }
    txn.commit().await.map_err(fail)?;

    let mut counts = Counts::default();
    let first_id = 1;
    let batch = 2_000;
    let mut next_id = first_id;
    let mut commission_id = 1;
    while counts.needs < total {
        let n = batch.min(total - counts.needs);
        let txn = conn.begin().await.map_err(fail)?;
        let mut needs = Vec::with_capacity(n);
        let mut need_themes = Vec::new();
        let mut terms = Vec::new();
        let mut cosigns = Vec::new();
        let mut events = Vec::new();
        let mut commissions = Vec::new();
        let mut links = Vec::new();
        let mut summaries = Vec::new();
        for _ in 0..n {
            let id = next_id;
            next_id += 1;
            let home = pick_municipality(&mut rng);
            // The unit that raised it: the municipality, or for six in ten of Oslo's one of its
            // districts.
            let (unit, pooled) = match oslo {
                Some(o) if o == home && !districts.is_empty() && rng.chance(60) => {
                    districts[rng.below(districts.len())]
                }
                _ => (municipalities[home].organisation_id.unwrap_or_default(), pool(&municipalities[home])),
            };
            let created_at: DateTime<Utc> = epoch + Duration::minutes(rng.below(span_minutes) as i64);
            let commissioned = rng.chance(10);
            let published = commissioned && rng.chance(50);
            let status = match (commissioned, published) {
                (true, true) => NeedStatus::Answered,
                (true, false) => NeedStatus::Commissioned,
                _ => status_for(&mut rng),
            };
            let topic = TOPICS[rng.below(TOPICS.len())];
            let group = GROUPS[rng.below(GROUPS.len())];
            let place = &municipalities[home].name;
            let mut cosigners: Vec<usize> = Vec::new();
            if status != NeedStatus::Draft {
                for _ in 0..rng.below(5) {
                    let other = pick_municipality(&mut rng);
                    if other != home && !cosigners.contains(&other) {
                        cosigners.push(other);
                    }
                }
            }
            let submitted_at = (status != NeedStatus::Draft).then(|| created_at + Duration::hours(1));
            let title = format!("{topic} for {group} i {place}");
            let question = format!("Kva tiltak innan {} verkar for {group}?", topic.to_lowercase());
            let background =
                format!("{place} ser auka behov knytt til {} blant {group}.", topic.to_lowercase());
            terms.extend(knowledge_hub::db::needs::terms_of(id, &title, &question, &background));
            needs.push(need::ActiveModel {
                id: Set(id),
                municipality_id: Set(municipalities[home].id),
                organisation_id: Set(Some(unit)),
                partnership_id: Set(Some(pooled)),
                created_by_person_id: Set(people[home]),
                contact_person_id: Set(None),
                title: Set(title),
                question: Set(question),
                background: Set(background),
                intended_use: Set("Planlegging av tenester".into()),
                target_group: Set(group.into()),
                urgency: Set([Urgency::Low, Urgency::Medium, Urgency::High][rng.below(3)]),
                product_type_id: Set(Some(products[rng.below(products.len())].id)),
                population: Set(None),
                intervention: Set(None),
                comparison: Set(None),
                outcome: Set(None),
                status: Set(status),
                version: Set(1),
                merged_into_id: Set(None),
                cosigner_count: Set(cosigners.len() as i32),
                submitted_at: Set(submitted_at),
                created_at: Set(created_at),
                updated_at: Set(created_at + Duration::days(2)),
            });
            let first_theme = rng.below(themes.len());
            need_themes
                .push(need_theme::ActiveModel { need_id: Set(id), theme_id: Set(themes[first_theme].id) });
            if rng.chance(40) {
                let second = (first_theme + 1 + rng.below(themes.len() - 1)) % themes.len();
                need_themes
                    .push(need_theme::ActiveModel { need_id: Set(id), theme_id: Set(themes[second].id) });
            }
            let event = |at: DateTime<Utc>,
                         kind: NeedEventKind,
                         from: Option<NeedStatus>,
                         to: Option<NeedStatus>,
                         m: Option<i32>| {
                need_event::ActiveModel {
                    need_id: Set(id),
                    occurred_at: Set(at),
                    actor_person_id: Set(Some(people[home])),
                    kind: Set(kind),
                    from_status: Set(from),
                    to_status: Set(to),
                    reason: Set(None),
                    related_need_id: Set(None),
                    municipality_id: Set(m),
                    // A sample's history is the past: nothing in it is to be notified.
                    notify_pending: Set(false),
                    ..Default::default()
                }
            };
            let first = if status == NeedStatus::Draft { NeedStatus::Draft } else { NeedStatus::Submitted };
            events.push(event(created_at, NeedEventKind::Created, None, Some(first), None));
            for (k, other) in cosigners.iter().enumerate() {
                let at = created_at + Duration::days(k as i64 + 1);
                cosigns.push(need_cosign::ActiveModel {
                    need_id: Set(id),
                    municipality_id: Set(municipalities[*other].id),
                    organisation_id: Set(municipalities[*other].organisation_id),
                    person_id: Set(Some(people[*other])),
                    carried_from_need_id: Set(None),
                    created_at: Set(at),
                    ..Default::default()
                });
                events.push(event(at, NeedEventKind::Cosigned, None, None, Some(municipalities[*other].id)));
            }
            if status != first {
                events.push(event(
                    created_at + Duration::days(7),
                    NeedEventKind::StatusChanged,
                    Some(first),
                    Some(status),
                    None,
                ));
            }
            if commissioned {
                let institution = &institutions[rng.below(institutions.len())];
                // The unpublished half is spread over the open requests institutions see, and the
                // work under way.
                let commission_status = if published {
                    CommissionStatus::Published
                } else {
                    [
                        CommissionStatus::Open,
                        CommissionStatus::Awarded,
                        CommissionStatus::InProgress,
                        CommissionStatus::Delivered,
                    ][rng.below(4)]
                };
                let open = commission_status == CommissionStatus::Open;
                commissions.push(commission::ActiveModel {
                    id: Set(commission_id),
                    partnership_id: Set(institution.partnership_id),
                    question: Set(format!("Kunnskapsoppsummering: {topic} for {group}")),
                    product_type_id: Set(products[rng.below(products.len())].id),
                    deadline: Set(created_at + Duration::days(180)),
                    budget_nok: Set(Some(200_000 + 10_000 * rng.below(30) as i64)),
                    status: Set(commission_status),
                    awarded_institution_id: Set((!open).then_some(institution.id)),
                    created_by_person_id: Set(people[home]),
                    created_at: Set(created_at + Duration::days(30)),
                    updated_at: Set(created_at + Duration::days(60)),
                    // Sample data is history: its deadlines are not told of.
                    due_notified_at: Set(Some(created_at + Duration::days(60))),
                });
                links.push(commission_need::ActiveModel {
                    commission_id: Set(commission_id),
                    need_id: Set(id),
                });
                if published || commission_status == CommissionStatus::Delivered {
                    summaries.push(summary::ActiveModel {
                        commission_id: Set(commission_id),
                        title: Set(format!("{topic}: kva veit vi?")),
                        abstract_text: Set(format!(
                            "Ei oppsummering av forsking om {} for {group}.",
                            topic.to_lowercase()
                        )),
                        language: Set("nn".into()),
                        url: Set(None),
                        doi: Set(Some(format!("10.5555/bench.{commission_id}"))),
                        authors: Set(institution.name.clone()),
                        delivered_by_person_id: Set(people[home]),
                        delivered_at: Set(created_at + Duration::days(150)),
                        published_at: Set(published.then(|| created_at + Duration::days(160))),
                        ..Default::default()
                    });
                }
                commission_id += 1;
            }
        }
        counts.needs += needs.len();
        counts.cosignatures += cosigns.len();
        counts.events += events.len();
        counts.commissions += commissions.len();
        counts.summaries += summaries.len();
        insert_chunks::<need::Entity, _>(&txn, needs).await?;
        insert_chunks::<need_theme::Entity, _>(&txn, need_themes).await?;
        insert_chunks::<need_term::Entity, _>(&txn, terms).await?;
        insert_chunks::<need_cosign::Entity, _>(&txn, cosigns).await?;
        insert_chunks::<need_event::Entity, _>(&txn, events).await?;
        insert_chunks::<commission::Entity, _>(&txn, commissions).await?;
        insert_chunks::<commission_need::Entity, _>(&txn, links).await?;
        insert_chunks::<summary::Entity, _>(&txn, summaries).await?;
        txn.commit().await.map_err(fail)?;
    }
    settle(db).await?;
    Ok(counts)
}

/// Inserts in chunks that stay under the databases' limits on bound parameters (SQLite's 32,766,
/// PostgreSQL's 65,535): at most 16,000 values a statement.
async fn insert_chunks<E, A>(txn: &sea_orm::DatabaseTransaction, rows: Vec<A>) -> Result<(), String>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    let per_statement = 16_000 / E::Column::iter().count().max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        E::insert_many(chunk).exec_without_returning(txn).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// On PostgreSQL, after a bulk load (SQLite needs nothing): the ids were set explicitly, so the
/// id sequences move past them; and the tables are vacuumed and analysed, as autovacuum would
/// leave them shortly after (without the statistics the planner chose to scan every need for a
/// broad search word).
async fn settle(db: &Db) -> Result<(), String> {
    use sea_orm::{ConnectionTrait, DatabaseBackend};
    if db.backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    let mut statements: Vec<String> = ["need", "commission"]
        .iter()
        .map(|table| {
            format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))")
        })
        .collect();
    statements.push("VACUUM ANALYZE".into());
    for sql in statements {
        db.background().execute_unprepared(&sql).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
