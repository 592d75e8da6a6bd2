//! The reference data, bundled into the binary from `data/*.csv`, and its loading: regions,
//! counties, clusters, municipalities (with their population), institutions, the organisation tree
//! over them (with Oslo's districts, the national level and Oslo's programmes), the partnerships
//! and their members, and the labelled lists (themes, product types, criteria).
//!
//! Loading is idempotent twice over: a version that is recorded in `reference_data_load` is not
//! loaded again (so a row a coordinator removed stays removed after a restart), and rows are
//! inserted with "on conflict do nothing" on their natural key (so a new data version only adds).
//! A new version never changes a row that is there: an organisation a coordinator edited keeps
//! its name and place, and a population already set is kept. Several instances starting at once
//! on one PostgreSQL insert the same rows; the second waits on the first's unique keys, finds them
//! there and inserts nothing.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    cluster, county, criterion,
    enums::{ClusterMembership, InstitutionKind, OrganisationKind},
    institution, municipality, organisation, organisation_ancestor, partnership, partnership_member,
    product_type, reference_data_load, theme,
};
use sea_orm::{
    ActiveEnum,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, TransactionTrait,
    sea_query::{
        CaseStatement, Condition, DynIden, Expr, ExprTrait, Func, IntoIden, OnConflict, Order, Query,
    },
};
use serde::{Deserialize, de::DeserializeOwned};

use crate::db::{Db, organisations::tree, reference, sql::scalar};

/// Bump when anything in `data/` changes, so existing databases pick up the new rows.
pub const VERSION: &str = "2026-11-30.3";

const REGIONS: &str = include_str!("../../data/regions.csv");
const COUNTIES: &str = include_str!("../../data/counties.csv");
const CLUSTERS: &str = include_str!("../../data/clusters.csv");
const MUNICIPALITIES: &str = include_str!("../../data/municipalities.csv");
const POPULATION: &str = include_str!("../../data/population.csv");
const DISTRICTS: &str = include_str!("../../data/oslo_districts.csv");
const INSTITUTIONS: &str = include_str!("../../data/institutions.csv");
const ORGANISATIONS: &str = include_str!("../../data/organisations.csv");
const PARTNERSHIPS: &str = include_str!("../../data/partnerships.csv");
const PARTNERSHIP_MEMBERS: &str = include_str!("../../data/partnership_members.csv");
const THEMES: &str = include_str!("../../data/themes.csv");
const PRODUCT_TYPES: &str = include_str!("../../data/product_types.csv");
const CRITERIA: &str = include_str!("../../data/criteria.csv");

/// How many rows of each table the bundled data has. Of these, no request adds counties,
/// municipalities, themes or product types, so a list over one of them (a need's themes, an
/// institution's profile, a region's counties) is at most this long: what the cost of such a
/// list is priced by. Coordinators add clusters, institutions and partnerships, so lists over
/// those are priced at the bounds the writers keep (`domain::organisations::MAX_CLUSTERS` and the
/// rest).
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    /// Rows of the partnership table (which was the region table, and which `Region` and every
    /// `partnership_id` still name): the regions' RSOs and the other partnerships.
    pub regions: usize,
    pub counties: usize,
    pub clusters: usize,
    pub municipalities: usize,
    pub institutions: usize,
    pub themes: usize,
    pub product_types: usize,
    /// Oslo's districts (and special areas).
    pub districts: usize,
    /// Every organisation the bundle makes: the typed rows, the districts and the rest.
    pub organisations: usize,
    pub partnerships: usize,
    /// Members of all partnerships together (so of any one, at most this).
    pub partnership_members: usize,
}

/// The rows of a bundled CSV (its lines but the header).
fn rows(csv: &str) -> usize {
    csv.lines().filter(|line| !line.trim().is_empty()).count().saturating_sub(1)
}

/// See [`Bundled`]. Counted once per process: the prices of lists are worked out from it while
/// every request is validated.
pub fn bundled() -> Bundled {
    static BUNDLED: std::sync::LazyLock<Bundled> = std::sync::LazyLock::new(count_bundled);
    *BUNDLED
}

fn count_bundled() -> Bundled {
    let (regions, counties, clusters, municipalities, institutions, districts) = (
        rows(REGIONS),
        rows(COUNTIES),
        rows(CLUSTERS),
        rows(MUNICIPALITIES),
        rows(INSTITUTIONS),
        rows(DISTRICTS),
    );
    Bundled {
        // Every region's RSO is listed in partnerships.csv too (a unit test checks it).
        regions: rows(PARTNERSHIPS),
        counties,
        clusters,
        municipalities,
        institutions,
        themes: rows(THEMES),
        product_types: rows(PRODUCT_TYPES),
        districts,
        organisations: regions
            + counties
            + clusters
            + municipalities
            + institutions
            + districts
            + rows(ORGANISATIONS),
        partnerships: rows(PARTNERSHIPS),
        partnership_members: rows(PARTNERSHIP_MEMBERS),
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct RegionRow {
    pub key: String,
    pub name: String,
    /// County codes separated by `;`.
    pub counties: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CountyRow {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ClusterRow {
    pub key: String,
    pub region: String,
    pub name: String,
    pub area: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MunicipalityRow {
    pub code: String,
    pub name: String,
    pub county: String,
    /// The cluster's key; none outside RSO Vest.
    pub cluster: Option<String>,
    /// Set where `cluster` is.
    pub membership: Option<ClusterMembership>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PopulationRow {
    pub code: String,
    pub population_2024: Option<i32>,
    pub population_2025: Option<i32>,
}

/// A city district of Oslo (or a special area with a district code).
#[derive(Clone, Debug, Deserialize)]
pub struct DistrictRow {
    pub code: String,
    pub name: String,
    /// The municipality's code.
    pub municipality: String,
    /// `bydel` or `special_area`; both are organisations of kind `DISTRICT`.
    pub kind: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct InstitutionRow {
    pub key: String,
    pub short: String,
    pub name: String,
    pub kind: InstitutionKind,
    /// The key of the partnership that registered it (whose coordinators manage its people).
    pub partnership: String,
}

/// An organisation that is no row of a typed file: the national level, a programme.
#[derive(Clone, Debug, Deserialize)]
pub struct OrganisationRow {
    pub key: String,
    pub kind: OrganisationKind,
    pub name: String,
    /// Another organisation's key or official code; none for a root.
    pub parent: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PartnershipRow {
    pub key: String,
    pub name: String,
    /// The key of the organisation that runs it.
    pub body: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MemberRow {
    /// The partnership's key.
    pub partnership: String,
    /// The member's key or official code.
    pub organisation: String,
    pub accepts_needs: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LabelRow {
    pub key: String,
    pub nb: String,
    pub nn: String,
    pub en: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct CriterionRow {
    pub key: String,
    pub weight: f64,
    pub nb: String,
    pub nn: String,
    pub en: String,
    pub question_en: String,
}

/// The parsed bundle; parsing is checked by a unit test, so a bad edit of `data/` fails the build's
/// tests. Its rows are public so that a test can load a part of it (what an older version had)
/// and then the whole, as an upgrade does.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub regions: Vec<RegionRow>,
    pub counties: Vec<CountyRow>,
    pub clusters: Vec<ClusterRow>,
    pub municipalities: Vec<MunicipalityRow>,
    pub population: Vec<PopulationRow>,
    pub districts: Vec<DistrictRow>,
    pub institutions: Vec<InstitutionRow>,
    pub organisations: Vec<OrganisationRow>,
    pub partnerships: Vec<PartnershipRow>,
    pub partnership_members: Vec<MemberRow>,
    pub themes: Vec<LabelRow>,
    pub product_types: Vec<LabelRow>,
    pub criteria: Vec<CriterionRow>,
}

fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<Vec<T>, DbErr> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| DbErr::Custom(format!("bundled reference data {file}: {e}")))
}

impl Bundle {
    /// The bundle compiled into the binary.
    pub fn bundled() -> Result<Self, DbErr> {
        Ok(Self {
            regions: parse("regions.csv", REGIONS)?,
            counties: parse("counties.csv", COUNTIES)?,
            clusters: parse("clusters.csv", CLUSTERS)?,
            municipalities: parse("municipalities.csv", MUNICIPALITIES)?,
            population: parse("population.csv", POPULATION)?,
            districts: parse("oslo_districts.csv", DISTRICTS)?,
            institutions: parse("institutions.csv", INSTITUTIONS)?,
            organisations: parse("organisations.csv", ORGANISATIONS)?,
            partnerships: parse("partnerships.csv", PARTNERSHIPS)?,
            partnership_members: parse("partnership_members.csv", PARTNERSHIP_MEMBERS)?,
            themes: parse("themes.csv", THEMES)?,
            product_types: parse("product_types.csv", PRODUCT_TYPES)?,
            criteria: parse("criteria.csv", CRITERIA)?,
        })
    }
}

/// What `load` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Loaded,
    AlreadyLoaded,
}

/// Loads the bundled reference data unless this version was loaded before; all or nothing.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load(db: &Db) -> Result<Outcome, DbErr> {
    load_bundle(db, &Bundle::bundled()?, VERSION).await
}

/// Loads `bundle` as data version `version` unless that version was loaded before; all or
/// nothing. What is there already stays as it is (see the module docs).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn load_bundle(db: &Db, bundle: &Bundle, version: &str) -> Result<Outcome, DbErr> {
    let txn = db.begin_write().await?;
    if reference_data_load::Entity::find_by_id(version).one(&txn).await?.is_some() {
        return Ok(Outcome::AlreadyLoaded);
    }
    insert(&*txn, bundle).await?;
    // Another instance that loaded the same version meanwhile committed the same rows first;
    // ours then inserted nothing, and the version is recorded once.
    let recorded = reference_data_load::Entity::insert(reference_data_load::ActiveModel {
        version: Set(version.to_owned()),
        loaded_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(&txn)
    .await?;
    // Not a mutation: no effect to name, no history row for the outbox.
    txn.commit().await?;
    Ok(match recorded {
        sea_orm::TryInsertResult::Inserted(n) if n > 0 => Outcome::Loaded,
        _ => Outcome::AlreadyLoaded,
    })
}

/// Inserts the missing rows of a table of key and labels (themes, product types).
macro_rules! insert_labelled {
    ($txn:expr, $entity:ident, $rows:expr) => {
        insert_missing::<$entity::Entity, _>(
            $txn,
            $entity::Column::Key,
            $rows.iter().map(|l| $entity::ActiveModel {
                key: Set(l.key.clone()),
                label_nb: Set(l.nb.clone()),
                label_nn: Set(l.nn.clone()),
                label_en: Set(l.en.clone()),
                ..Default::default()
            }),
        )
        .await?
    };
}

/// Inserts what is missing, looking up foreign keys by natural key after each level.
#[tracing::instrument(level = "debug", skip_all)]
async fn insert(txn: &(impl ConnectionTrait + TransactionTrait), b: &Bundle) -> Result<(), DbErr> {
    // A region's RSO is a partnership (run by the region's organisation, made below), and the
    // `partnership_id` columns name it.
    insert_missing::<partnership::Entity, _>(
        txn,
        partnership::Column::Key,
        b.regions.iter().map(|r| partnership::ActiveModel {
            key: Set(r.key.clone()),
            name: Set(r.name.clone()),
            ..Default::default()
        }),
    )
    .await?;
    let regions =
        ids(reference::all::<partnership::Entity>(txn, partnership::Column::Id).await?, |r| (r.key, r.id));
    let region_of_county: HashMap<&str, i32> = b
        .regions
        .iter()
        .filter_map(|r| Some((r, *regions.get(&r.key)?)))
        .flat_map(|(r, id)| r.counties.split(';').map(move |code| (code.trim(), id)))
        .collect();

    insert_missing::<county::Entity, _>(
        txn,
        county::Column::Code,
        b.counties.iter().map(|c| county::ActiveModel {
            code: Set(c.code.clone()),
            name: Set(c.name.clone()),
            partnership_id: Set(region_of_county.get(c.code.as_str()).copied()),
            ..Default::default()
        }),
    )
    .await?;
    let counties = ids(reference::all::<county::Entity>(txn, county::Column::Id).await?, |c| (c.code, c.id));

    let clusters = b
        .clusters
        .iter()
        .map(|c| {
            Ok(cluster::ActiveModel {
                key: Set(c.key.clone()),
                partnership_id: Set(lookup(&regions, &c.region, "clusters.csv")?),
                name: Set(c.name.clone()),
                area: Set(c.area.clone()),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    insert_missing::<cluster::Entity, _>(txn, cluster::Column::Key, clusters).await?;
    let clusters = ids(reference::all::<cluster::Entity>(txn, cluster::Column::Id).await?, |c| (c.key, c.id));

    let municipalities = b
        .municipalities
        .iter()
        .map(|m| {
            Ok(municipality::ActiveModel {
                code: Set(m.code.clone()),
                name: Set(m.name.clone()),
                county_id: Set(lookup(&counties, &m.county, "municipalities.csv")?),
                cluster_id: Set(m
                    .cluster
                    .as_deref()
                    .map(|key| lookup(&clusters, key, "municipalities.csv"))
                    .transpose()?),
                // Outside a cluster there is no membership to publish: the geographic default.
                cluster_membership: Set(m.membership.unwrap_or(ClusterMembership::Default)),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    insert_missing::<municipality::Entity, _>(txn, municipality::Column::Code, municipalities).await?;

    // An institution is registered with a partnership: a region's RSO, made above, or another one
    // (OsloMet with Universitetskommunen Oslo), made with the organisations; so institutions come
    // in two passes, and the organisations are made again for the second.
    let (with_region, with_other): (Vec<&InstitutionRow>, Vec<&InstitutionRow>) =
        b.institutions.iter().partition(|i| regions.contains_key(&i.partnership));
    insert_institutions(txn, &with_region, &regions).await?;

    organise(txn, b).await?;
    insert_partnership_rows(txn, b).await?;
    if !with_other.is_empty() {
        let partnerships =
            ids(reference::all::<partnership::Entity>(txn, partnership::Column::Id).await?, |p| {
                (p.key, p.id)
            });
        insert_institutions(txn, &with_other, &partnerships).await?;
        organise(txn, b).await?;
    }
    insert_members(txn, b).await?;
    set_population(txn, b).await?;

    insert_labelled!(txn, theme, b.themes);
    insert_labelled!(txn, product_type, b.product_types);
    insert_missing::<criterion::Entity, _>(
        txn,
        criterion::Column::Key,
        b.criteria.iter().map(|c| criterion::ActiveModel {
            key: Set(c.key.clone()),
            weight: Set(c.weight),
            label_nb: Set(c.nb.clone()),
            label_nn: Set(c.nn.clone()),
            label_en: Set(c.en.clone()),
            question_en: Set(c.question_en.clone()),
            ..Default::default()
        }),
    )
    .await?;
    Ok(())
}

#[tracing::instrument(level = "debug", skip_all)]
async fn insert_missing<E, I>(txn: &impl ConnectionTrait, key: E::Column, rows: I) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::ActiveModel: Send,
    I: IntoIterator<Item = E::ActiveModel>,
{
    E::insert_many(rows).on_conflict_do_nothing_on([key]).exec_without_returning(txn).await?;
    Ok(())
}

fn ids<M>(rows: Vec<M>, pair: impl Fn(M) -> (String, i32)) -> HashMap<String, i32> {
    rows.into_iter().map(pair).collect()
}

fn lookup(ids: &HashMap<String, i32>, key: &str, file: &str) -> Result<i32, DbErr> {
    ids.get(key)
        .copied()
        .ok_or_else(|| DbErr::Custom(format!("bundled reference data {file}: unknown key `{key}`")))
}

/// An organisation of the bundle that is no typed row: a row of organisations.csv or a district.
struct Other<'a> {
    kind: OrganisationKind,
    key: Option<&'a str>,
    code: Option<&'a str>,
    name: &'a str,
    parent: Option<&'a str>,
}

impl Bundle {
    fn others(&self) -> Vec<Other<'_>> {
        let listed = self.organisations.iter().map(|o| Other {
            kind: o.kind,
            key: Some(&o.key),
            code: None,
            name: &o.name,
            parent: o.parent.as_deref(),
        });
        let districts = self.districts.iter().map(|d| Other {
            kind: OrganisationKind::District,
            key: None,
            code: Some(&d.code),
            name: &d.name,
            parent: Some(&d.municipality),
        });
        listed.chain(districts).collect()
    }

    /// The key of the national organisation, the parent of the regions.
    fn national(&self) -> Option<&str> {
        self.organisations.iter().find(|o| o.kind == OrganisationKind::National).map(|o| o.key.as_str())
    }
}

/// `others` with a parent, in the order they can be inserted: first those under a typed row (or
/// under a root), then those under them, and so on.
fn levels<'a, 'b>(others: &'b [Other<'a>]) -> Result<Vec<Vec<&'b Other<'a>>>, DbErr> {
    let mut pending: Vec<&Other> = others.iter().filter(|o| o.parent.is_some()).collect();
    let mut levels = Vec::new();
    while !pending.is_empty() {
        let waiting: HashSet<&str> = pending.iter().flat_map(|o| o.key.into_iter().chain(o.code)).collect();
        let (ready, rest): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|o| o.parent.is_none_or(|p| !waiting.contains(p)));
        if ready.is_empty() {
            return Err(DbErr::Custom(
                "bundled reference data organisations.csv: parents form a cycle".into(),
            ));
        }
        levels.push(ready);
        pending = rest;
    }
    Ok(levels)
}

/// The id of the organisation whose key or official code is `reference`, as a subquery.
fn organisation_named(reference: &str) -> Expr {
    scalar(
        Query::select()
            .column(organisation::Column::Id)
            .from(organisation::Entity)
            .cond_where(
                Condition::any()
                    .add(organisation::Column::Key.eq(reference))
                    .add(organisation::Column::Code.eq(reference)),
            )
            .to_owned(),
    )
}

fn no_parent() -> Expr {
    Expr::val(Option::<i32>::None)
}

/// Inserts the organisations that are missing, roots first, then the typed rows' (each linked
/// from its typed row, and placed under its parent with those migration 000009 made), then the
/// rest level by level; then puts every organisation not in the closure yet into it.
#[tracing::instrument(level = "debug", skip_all)]
async fn organise(txn: &impl ConnectionTrait, b: &Bundle) -> Result<(), DbErr> {
    let now = Utc::now();
    let others = b.others();
    let roots: Vec<&Other> = others.iter().filter(|o| o.parent.is_none()).collect();
    insert_others(txn, &roots, now).await?;

    let national = b.national().map_or_else(no_parent, organisation_named);
    for typed in typed_tables(national, b.regions.iter().map(|r| r.key.as_str())) {
        organise_typed(txn, typed, now).await?;
    }
    for level in levels(&others)? {
        insert_others(txn, &level, now).await?;
    }
    // Once per level of the new organisations and once more; the bound only guards a tree that
    // somehow would not attach.
    for _ in 0..=crate::domain::organisations::MAX_DEPTH + 1 {
        if tree::attach_pending(txn).await? == 0 {
            break;
        }
    }
    Ok(())
}

/// Inserts organisations of the bundle that are no typed rows; a row whose key or code is taken
/// is left as it is.
async fn insert_others(
    txn: &impl ConnectionTrait,
    rows: &[&Other<'_>],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use organisation::Column::{Code, CreatedAt, Key, Kind, Name, ParentId};
    if rows.is_empty() {
        return Ok(());
    }
    let mut insert = Query::insert()
        .into_table(organisation::Entity)
        .columns([Kind, Key, Code, Name, ParentId, CreatedAt])
        // An organisation conflicts on its key or on its code, whichever it has.
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    for o in rows {
        insert.values_panic([
            Expr::val(o.kind.to_value()),
            Expr::val(o.key),
            Expr::val(o.code),
            Expr::val(o.name),
            o.parent.map_or_else(no_parent, organisation_named),
            Expr::val(now),
        ]);
    }
    txn.execute(&insert).await?;
    Ok(())
}

/// A typed table (the partnerships that are regions, county, cluster, municipality, institution)
/// as its organisations are made.
struct Typed {
    table: DynIden,
    id: DynIden,
    /// Its key or code column.
    natural: DynIden,
    name: DynIden,
    organisation_id: DynIden,
    kind: OrganisationKind,
    /// The organisation's column that takes `natural`: key or code.
    by: organisation::Column,
    /// Which of its rows are organisations of `kind`, if not all.
    only: Option<Expr>,
    /// The parent organisation, from the row's own columns; none for a root.
    parent: Option<Expr>,
}

/// The typed tables in the order their organisations are made (each parent before its children),
/// with the tree's edges: a region (the partnerships of `region_keys`) under the national level; a
/// county under its region if it has one, otherwise the national level; a cluster under its
/// region; a municipality under its cluster if it has one, otherwise its county; an institution at
/// the top (institutions belong to partnerships, not to a place in the tree).
fn typed_tables<'a>(national: Expr, region_keys: impl IntoIterator<Item = &'a str>) -> [Typed; 5] {
    // The organisation of the row of `table` whose id is `column`'s value.
    let organisation_of = |table: DynIden, id: DynIden, link: DynIden, column: (DynIden, DynIden)| {
        scalar(
            Query::select()
                .column((table.clone(), link))
                .from(table.clone())
                .and_where(Expr::col((table, id)).equals(column))
                .to_owned(),
        )
    };
    // A `partnership_id` names the region's partnership, which its organisation runs.
    let region_of = |table: DynIden, column: DynIden| {
        organisation_of(
            partnership::Entity.into_iden(),
            partnership::Column::Id.into_iden(),
            partnership::Column::OrganisationId.into_iden(),
            (table, column),
        )
    };
    let municipality = municipality::Entity.into_iden();
    [
        Typed {
            table: partnership::Entity.into_iden(),
            id: partnership::Column::Id.into_iden(),
            natural: partnership::Column::Key.into_iden(),
            name: partnership::Column::Name.into_iden(),
            organisation_id: partnership::Column::OrganisationId.into_iden(),
            kind: OrganisationKind::Region,
            by: organisation::Column::Key,
            only: Some(Expr::col((partnership::Entity, partnership::Column::Key)).is_in(region_keys)),
            parent: Some(national.clone()),
        },
        Typed {
            table: county::Entity.into_iden(),
            id: county::Column::Id.into_iden(),
            natural: county::Column::Code.into_iden(),
            name: county::Column::Name.into_iden(),
            organisation_id: county::Column::OrganisationId.into_iden(),
            kind: OrganisationKind::County,
            by: organisation::Column::Code,
            only: None,
            parent: Some(
                Func::coalesce([
                    region_of(county::Entity.into_iden(), county::Column::PartnershipId.into_iden()),
                    national,
                ])
                .into(),
            ),
        },
        Typed {
            table: cluster::Entity.into_iden(),
            id: cluster::Column::Id.into_iden(),
            natural: cluster::Column::Key.into_iden(),
            name: cluster::Column::Name.into_iden(),
            organisation_id: cluster::Column::OrganisationId.into_iden(),
            kind: OrganisationKind::Cluster,
            by: organisation::Column::Key,
            only: None,
            parent: Some(region_of(cluster::Entity.into_iden(), cluster::Column::PartnershipId.into_iden())),
        },
        Typed {
            table: municipality.clone(),
            id: municipality::Column::Id.into_iden(),
            natural: municipality::Column::Code.into_iden(),
            name: municipality::Column::Name.into_iden(),
            organisation_id: municipality::Column::OrganisationId.into_iden(),
            kind: OrganisationKind::Municipality,
            by: organisation::Column::Code,
            only: None,
            parent: Some(
                Func::coalesce([
                    organisation_of(
                        cluster::Entity.into_iden(),
                        cluster::Column::Id.into_iden(),
                        cluster::Column::OrganisationId.into_iden(),
                        (municipality.clone(), municipality::Column::ClusterId.into_iden()),
                    ),
                    organisation_of(
                        county::Entity.into_iden(),
                        county::Column::Id.into_iden(),
                        county::Column::OrganisationId.into_iden(),
                        (municipality, municipality::Column::CountyId.into_iden()),
                    ),
                ])
                .into(),
            ),
        },
        Typed {
            table: institution::Entity.into_iden(),
            id: institution::Column::Id.into_iden(),
            natural: institution::Column::Key.into_iden(),
            name: institution::Column::Name.into_iden(),
            organisation_id: institution::Column::OrganisationId.into_iden(),
            kind: OrganisationKind::Institution,
            by: organisation::Column::Key,
            only: None,
            parent: None,
        },
    ]
}

/// Gives each row of a typed table that has no organisation one, as migration 000009 does for the
/// rows a database had before it (its name and key or code are the row's; an organisation with
/// that key or code there already is taken as the row's), then places every organisation of the
/// table's kind that is not in the tree yet (those just made and those the migration made) under
/// the parent that follows from its row's columns, so a cluster a coordinator gave a municipality
/// counts. Three statements for all the rows; the closure follows in `organise`.
async fn organise_typed(txn: &impl ConnectionTrait, t: Typed, now: DateTime<Utc>) -> Result<(), DbErr> {
    use organisation::Column::{CreatedAt, Kind, Name, ParentId};
    let mut unlinked =
        Condition::all().add(Expr::col((t.table.clone(), t.organisation_id.clone())).is_null());
    if let Some(only) = t.only {
        unlinked = unlinked.add(only);
    }
    let rows = Query::select()
        .expr(Expr::val(t.kind.to_value()))
        .column((t.table.clone(), t.natural.clone()))
        .column((t.table.clone(), t.name.clone()))
        .expr(Expr::val(now))
        .from(t.table.clone())
        // A WHERE, so SQLite does not take the ON CONFLICT for part of the SELECT.
        .cond_where(unlinked.clone())
        .order_by((t.table.clone(), t.id.clone()), Order::Asc)
        .to_owned();
    let insert = Query::insert()
        .into_table(organisation::Entity)
        .columns([Kind.into_iden(), t.by.into_iden(), Name.into_iden(), CreatedAt.into_iden()])
        .select_from(rows)
        .map_err(|e| DbErr::Custom(format!("organisations of the typed rows: {e}")))?
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    txn.execute(&insert).await?;
    let own = Query::select()
        .column((organisation::Entity, organisation::Column::Id))
        .from(organisation::Entity)
        .and_where(Expr::col((organisation::Entity, t.by)).equals((t.table.clone(), t.natural)))
        .and_where(Expr::col((organisation::Entity, organisation::Column::Kind)).eq(t.kind.to_value()))
        .to_owned();
    let link = Query::update()
        .table(t.table.clone())
        .value(t.organisation_id.clone(), scalar(own))
        .cond_where(unlinked)
        .to_owned();
    txn.execute(&link).await?;

    let Some(parent) = t.parent else { return Ok(()) };
    let parent_of_row = Query::select()
        .expr(parent)
        .from(t.table.clone())
        .and_where(
            Expr::col((t.table, t.organisation_id)).equals((organisation::Entity, organisation::Column::Id)),
        )
        .to_owned();
    let in_tree = Query::select()
        .expr(Expr::val(1))
        .from(organisation_ancestor::Entity)
        .and_where(
            Expr::col((organisation_ancestor::Entity, organisation_ancestor::Column::OrganisationId))
                .equals((organisation::Entity, organisation::Column::Id)),
        )
        .to_owned();
    let place = Query::update()
        .table(organisation::Entity)
        .value(ParentId, scalar(parent_of_row))
        .and_where(Expr::col((organisation::Entity, Kind)).eq(t.kind.to_value()))
        .and_where(Expr::col((organisation::Entity, ParentId)).is_null())
        .and_where(Expr::exists(in_tree).not())
        .to_owned();
    txn.execute(&place).await?;
    Ok(())
}

/// Inserts the institutions that are missing, each registered with the partnership its row names
/// (a key of `partnerships`).
async fn insert_institutions(
    txn: &impl ConnectionTrait,
    rows: &[&InstitutionRow],
    partnerships: &HashMap<String, i32>,
) -> Result<(), DbErr> {
    let institutions = rows
        .iter()
        .map(|i| {
            Ok(institution::ActiveModel {
                key: Set(i.key.clone()),
                partnership_id: Set(lookup(partnerships, &i.partnership, "institutions.csv")?),
                short_name: Set(i.short.clone()),
                name: Set(i.name.clone()),
                kind: Set(i.kind),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    insert_missing::<institution::Entity, _>(txn, institution::Column::Key, institutions).await
}

/// Inserts the partnerships that are missing, each run by its body's organisation (one statement).
#[tracing::instrument(level = "debug", skip_all)]
async fn insert_partnership_rows(txn: &impl ConnectionTrait, b: &Bundle) -> Result<(), DbErr> {
    if !b.partnerships.is_empty() {
        use partnership::Column::{Key, Name, OrganisationId};
        let mut insert = Query::insert()
            .into_table(partnership::Entity)
            .columns([Key, Name, OrganisationId])
            .on_conflict(OnConflict::column(Key).do_nothing().to_owned())
            .to_owned();
        for p in &b.partnerships {
            insert.values_panic([
                Expr::val(p.key.as_str()),
                Expr::val(p.name.as_str()),
                organisation_named(&p.body),
            ]);
        }
        txn.execute(&insert).await?;
    }
    Ok(())
}

/// Inserts the partnerships' members that are missing (one statement).
#[tracing::instrument(level = "debug", skip_all)]
async fn insert_members(txn: &impl ConnectionTrait, b: &Bundle) -> Result<(), DbErr> {
    let now = Utc::now();
    if !b.partnership_members.is_empty() {
        use partnership_member::Column::{AcceptsNeeds, CreatedAt, OrganisationId, PartnershipId};
        let mut insert = Query::insert()
            .into_table(partnership_member::Entity)
            .columns([PartnershipId, OrganisationId, AcceptsNeeds, CreatedAt])
            .on_conflict(OnConflict::columns([PartnershipId, OrganisationId]).do_nothing().to_owned())
            .to_owned();
        for m in &b.partnership_members {
            let partnership = Query::select()
                .column(partnership::Column::Id)
                .from(partnership::Entity)
                .and_where(partnership::Column::Key.eq(m.partnership.as_str()))
                .to_owned();
            insert.values_panic([
                scalar(partnership),
                organisation_named(&m.organisation),
                Expr::val(m.accepts_needs),
                Expr::val(now),
            ]);
        }
        txn.execute(&insert).await?;
    }
    Ok(())
}

/// Sets each municipality's population to its latest bundled figure where it has none, in one
/// statement; a municipality whose organisation a coordinator edited (who may have cleared the
/// population on purpose) is left alone.
#[tracing::instrument(level = "debug", skip_all)]
async fn set_population(txn: &impl ConnectionTrait, b: &Bundle) -> Result<(), DbErr> {
    use municipality::Column::{Code, OrganisationId, Population};
    let known: Vec<(&str, i32)> =
        b.population.iter().filter_map(|p| Some((p.code.as_str(), p.population_2025?))).collect();
    if known.is_empty() {
        return Ok(());
    }
    let figure = known
        .iter()
        .fold(CaseStatement::new(), |case, (code, n)| case.case(Expr::col(Code).eq(*code), Expr::val(*n)));
    let edited = Query::select()
        .expr(Expr::val(1))
        .from(organisation::Entity)
        .and_where(
            Expr::col((organisation::Entity, organisation::Column::Id))
                .equals((municipality::Entity, OrganisationId)),
        )
        .and_where(Expr::col((organisation::Entity, organisation::Column::EditedAt)).is_not_null())
        .to_owned();
    let update = Query::update()
        .table(municipality::Entity)
        .value(Population, figure)
        .and_where(Expr::col((municipality::Entity, Population)).is_null())
        .and_where(Expr::col((municipality::Entity, Code)).is_in(known.iter().map(|(code, _)| *code)))
        .and_where(Expr::exists(edited).not())
        .to_owned();
    txn.execute(&update).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_data_parses_and_is_complete() {
        let b = Bundle::bundled().expect("bundled data parses");
        assert_eq!(b.regions.len(), 2);
        assert_eq!(b.counties.len(), 15);
        assert_eq!(b.clusters.len(), 4);
        assert_eq!(b.municipalities.len(), 357);
        assert_eq!(b.municipalities.iter().filter(|m| m.cluster.is_some()).count(), 66, "RSO Vest's");
        assert_eq!(b.population.len(), 357);
        assert_eq!(b.districts.len(), 17);
        assert_eq!(b.institutions.len(), 12, "RSO Vest's 11 and OsloMet");
        assert_eq!(b.organisations.len(), 9 + 4, "KSF, Oslo's programmes and the state partners");
        assert_eq!(b.partnerships.len(), 5);
        assert_eq!(b.partnership_members.len(), 27);
        assert!(b.municipalities.iter().all(|m| m.code.len() == 4 && m.code.starts_with(&m.county)));
        assert!(b.municipalities.iter().all(|m| m.cluster.is_some() == m.membership.is_some()));
        assert!(b.districts.iter().all(|d| d.code.len() == 6 && d.code.starts_with(&d.municipality)));
        assert!(!b.themes.is_empty() && !b.product_types.is_empty() && !b.criteria.is_empty());
        let counted = bundled();
        assert_eq!(counted.municipalities, 357);
        assert_eq!(counted.regions, 5, "the rows of the partnership table");
        assert_eq!(counted.organisations, 2 + 15 + 4 + 357 + 12 + 17 + 9 + 4);
        assert_eq!(counted.partnership_members, b.partnership_members.len());
    }

    #[test]
    fn every_reference_in_the_bundle_resolves() {
        let b = Bundle::bundled().expect("bundled data parses");
        let counties: HashSet<&str> = b.counties.iter().map(|c| c.code.as_str()).collect();
        let clusters: HashSet<&str> = b.clusters.iter().map(|c| c.key.as_str()).collect();
        let municipalities: HashSet<&str> = b.municipalities.iter().map(|m| m.code.as_str()).collect();
        assert!(b.regions.iter().flat_map(|r| r.counties.split(';')).all(|c| counties.contains(c.trim())));
        assert!(b.clusters.iter().all(|c| b.regions.iter().any(|r| r.key == c.region)));
        for m in &b.municipalities {
            assert!(counties.contains(m.county.as_str()), "{}", m.code);
            assert!(m.cluster.as_deref().is_none_or(|c| clusters.contains(c)), "{}", m.code);
        }
        assert!(b.population.iter().all(|p| municipalities.contains(p.code.as_str())));
        assert!(b.population.iter().all(|p| p.population_2025.is_some_and(|n| n > 0)));

        // Keys and codes name one organisation each, across every kind.
        let mut names = HashSet::new();
        let keys = b.regions.iter().map(|r| &r.key).chain(b.clusters.iter().map(|c| &c.key));
        let keys =
            keys.chain(b.institutions.iter().map(|i| &i.key)).chain(b.organisations.iter().map(|o| &o.key));
        for key in keys {
            assert!(!key.chars().all(|c| c.is_ascii_digit()), "a key is no code: {key}");
            assert!(names.insert(key.as_str()), "key {key} twice");
        }
        let codes = b.counties.iter().map(|c| &c.code).chain(b.municipalities.iter().map(|m| &m.code));
        for code in codes.chain(b.districts.iter().map(|d| &d.code)) {
            assert!(names.insert(code.as_str()), "code {code} twice");
        }
        for o in b.organisations.iter().filter_map(|o| o.parent.as_deref()) {
            assert!(names.contains(o), "parent {o}");
        }
        for p in &b.partnerships {
            assert!(names.contains(p.body.as_str()), "body {}", p.body);
        }
        for m in &b.partnership_members {
            assert!(b.partnerships.iter().any(|p| p.key == m.partnership), "{}", m.partnership);
            assert!(names.contains(m.organisation.as_str()), "member {}", m.organisation);
        }
        assert_eq!(b.national(), Some("ksf"));
        assert!(b.regions.iter().all(|r| b.partnerships.iter().any(|p| p.key == r.key && p.body == r.key)));
        assert!(b.regions.iter().all(|r| b.partnerships.iter().any(|p| p.key == r.key && p.name == r.name)));
    }

    /// The tree the loader makes from this bundle (the edges of `typed_tables`, written out again
    /// over the files) has no cycle and fits `MAX_DEPTH`, which the bulk attach does not check.
    #[test]
    fn the_bundled_tree_fits_the_depth_bound() {
        let b = Bundle::bundled().expect("bundled data parses");
        let region_of_county: HashMap<&str, &str> = b
            .regions
            .iter()
            .flat_map(|r| r.counties.split(';').map(move |c| (c.trim(), r.key.as_str())))
            .collect();
        let mut parent: HashMap<&str, Option<&str>> = HashMap::new();
        for r in &b.regions {
            parent.insert(&r.key, b.national());
        }
        for c in &b.counties {
            parent.insert(&c.code, region_of_county.get(c.code.as_str()).copied().or(b.national()));
        }
        for c in &b.clusters {
            parent.insert(&c.key, Some(&c.region));
        }
        for m in &b.municipalities {
            parent.insert(&m.code, Some(m.cluster.as_deref().unwrap_or(&m.county)));
        }
        for i in &b.institutions {
            parent.insert(&i.key, None);
        }
        for o in b.others() {
            parent.insert(o.key.or(o.code).expect("a key or a code"), o.parent);
        }
        let depth = |start: &str| {
            let mut steps = 0;
            let mut at = parent.get(start).copied().flatten();
            while let Some(up) = at {
                steps += 1;
                assert!(
                    steps <= crate::domain::organisations::MAX_DEPTH,
                    "{start} is too deep or in a cycle"
                );
                at = parent.get(up).copied().flatten();
            }
            steps
        };
        assert_eq!(depth("030115"), 3, "under ksf, Oslo county and Oslo");
        assert_eq!(depth("groruddalssatsingen"), 4, "and Områdesatsingene");
        assert_eq!(depth("4601"), 3, "under ksf, rso-vest and kunnskapskommunen");
        assert_eq!(depth("5001"), 3, "under ksf, rso-midt and Trøndelag");
        assert!(parent.keys().all(|o| depth(o) <= crate::domain::organisations::MAX_DEPTH));
        let levels = levels(&b.others().into_iter().collect::<Vec<_>>()).expect("no cycle").len();
        assert_eq!(levels, 2, "the districts and programmes under Oslo, then those under the programmes");
    }

    #[test]
    fn a_county_is_under_its_regions_organisation_or_else_the_national_one() {
        use sea_orm::sea_query::SqliteQueryBuilder;
        let [_, county, ..] = typed_tables(organisation_named("ksf"), ["rso-vest"]);
        let rows = Query::select()
            .expr(county.parent.clone().expect("a county has a parent"))
            .from(county.table.clone())
            .and_where(Expr::col((county.table, county.organisation_id)).is_null())
            .to_owned()
            .to_string(SqliteQueryBuilder);
        assert_eq!(
            rows,
            r#"SELECT COALESCE((SELECT "partnership"."organisation_id" FROM "partnership" WHERE "partnership"."id" = "county"."partnership_id"), (SELECT "id" FROM "organisation" WHERE "organisation"."key" = 'ksf' OR "organisation"."code" = 'ksf')) FROM "county" WHERE "county"."organisation_id" IS NULL"#
        );
    }
}
