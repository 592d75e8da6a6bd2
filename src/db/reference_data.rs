//! The region's reference data, bundled into the binary from `data/*.csv`, and its loading.
//!
//! Loading is idempotent twice over: a version that is recorded in `reference_data_load` is not
//! loaded again (so a row a coordinator removed stays removed after a restart), and rows are
//! inserted with "on conflict do nothing" on their natural key (so a new data version only adds).

use std::collections::HashMap;

use chrono::Utc;
use entity::{
    cluster, county, criterion,
    enums::{ClusterMembership, InstitutionKind},
    institution, municipality, partnership, product_type, reference_data_load, theme,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait, TransactionTrait};
use serde::{Deserialize, de::DeserializeOwned};

use crate::db::{Db, reference};

/// Bump when anything in `data/` changes, so existing databases pick up the new rows.
pub const VERSION: &str = "2026-11-25";

const REGIONS: &str = include_str!("../../data/regions.csv");
const COUNTIES: &str = include_str!("../../data/counties.csv");
const CLUSTERS: &str = include_str!("../../data/clusters.csv");
const MUNICIPALITIES: &str = include_str!("../../data/municipalities.csv");
const INSTITUTIONS: &str = include_str!("../../data/institutions.csv");
const THEMES: &str = include_str!("../../data/themes.csv");
const PRODUCT_TYPES: &str = include_str!("../../data/product_types.csv");
const CRITERIA: &str = include_str!("../../data/criteria.csv");

/// How many rows of each table the bundled data has. No request writes these tables, so a list
/// over one of them (a need's themes, a commission's interests, one per institution) is at most
/// this long: what the cost of such a list is priced by.
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    pub regions: usize,
    pub counties: usize,
    pub clusters: usize,
    pub municipalities: usize,
    pub institutions: usize,
    pub themes: usize,
}

impl Bundled {
    /// The most scores one need can have in a round: one per organisation (cluster or
    /// institution) and criterion.
    pub fn scores_per_need(&self) -> usize {
        (self.clusters + self.institutions).saturating_mul(crate::domain::rounds::MAX_CRITERIA)
    }
}

/// The rows of a bundled CSV (its lines but the header).
fn rows(csv: &str) -> usize {
    csv.lines().filter(|line| !line.trim().is_empty()).count().saturating_sub(1)
}

/// See [`Bundled`].
pub fn bundled() -> Bundled {
    Bundled {
        regions: rows(REGIONS),
        counties: rows(COUNTIES),
        clusters: rows(CLUSTERS),
        municipalities: rows(MUNICIPALITIES),
        institutions: rows(INSTITUTIONS),
        themes: rows(THEMES),
    }
}

#[derive(Deserialize)]
struct RegionRow {
    key: String,
    name: String,
    /// County codes separated by `;`.
    counties: String,
}

#[derive(Deserialize)]
struct CountyRow {
    code: String,
    name: String,
}

#[derive(Deserialize)]
struct ClusterRow {
    key: String,
    region: String,
    name: String,
    area: String,
}

#[derive(Deserialize)]
struct MunicipalityRow {
    code: String,
    name: String,
    county: String,
    cluster: String,
    membership: ClusterMembership,
}

#[derive(Deserialize)]
struct InstitutionRow {
    key: String,
    short: String,
    name: String,
    kind: InstitutionKind,
}

#[derive(Deserialize)]
struct LabelRow {
    key: String,
    nb: String,
    nn: String,
    en: String,
}

#[derive(Deserialize)]
struct CriterionRow {
    key: String,
    weight: f64,
    nb: String,
    nn: String,
    en: String,
    question_en: String,
}

/// The parsed bundle; parsing is checked by a unit test, so a bad edit of `data/` fails the build's tests.
struct Bundle {
    regions: Vec<RegionRow>,
    counties: Vec<CountyRow>,
    clusters: Vec<ClusterRow>,
    municipalities: Vec<MunicipalityRow>,
    institutions: Vec<InstitutionRow>,
    themes: Vec<LabelRow>,
    product_types: Vec<LabelRow>,
    criteria: Vec<CriterionRow>,
}

fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<Vec<T>, DbErr> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| DbErr::Custom(format!("bundled reference data {file}: {e}")))
}

impl Bundle {
    fn parse() -> Result<Self, DbErr> {
        Ok(Self {
            regions: parse("regions.csv", REGIONS)?,
            counties: parse("counties.csv", COUNTIES)?,
            clusters: parse("clusters.csv", CLUSTERS)?,
            municipalities: parse("municipalities.csv", MUNICIPALITIES)?,
            institutions: parse("institutions.csv", INSTITUTIONS)?,
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
    let bundle = Bundle::parse()?;
    let txn = db.begin_write().await?;
    if reference_data_load::Entity::find_by_id(VERSION).one(&txn).await?.is_some() {
        return Ok(Outcome::AlreadyLoaded);
    }
    insert(&txn, &bundle).await?;
    reference_data_load::Entity::insert(reference_data_load::ActiveModel {
        version: Set(VERSION.to_owned()),
        loaded_at: Set(Utc::now()),
    })
    .exec_without_returning(&txn)
    .await?;
    // Not a mutation: no effect to name, no history row for the outbox.
    txn.commit().await?;
    Ok(Outcome::Loaded)
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
            region_id: Set(region_of_county.get(c.code.as_str()).copied()),
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
                region_id: Set(lookup(&regions, &c.region, "clusters.csv")?),
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
                cluster_id: Set(Some(lookup(&clusters, &m.cluster, "municipalities.csv")?)),
                cluster_membership: Set(m.membership),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    insert_missing::<municipality::Entity, _>(txn, municipality::Column::Code, municipalities).await?;

    // The institutions file has no region column: it lists the institutions of the bundled
    // region, which is the first (and only) row of regions.csv.
    let home_region = b
        .regions
        .first()
        .and_then(|r| regions.get(&r.key).copied())
        .ok_or_else(|| DbErr::Custom("bundled reference data has no region".into()))?;
    insert_missing::<institution::Entity, _>(
        txn,
        institution::Column::Key,
        b.institutions.iter().map(|i| institution::ActiveModel {
            key: Set(i.key.clone()),
            region_id: Set(home_region),
            short_name: Set(i.short.clone()),
            name: Set(i.name.clone()),
            kind: Set(i.kind),
            ..Default::default()
        }),
    )
    .await?;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_data_parses_and_is_complete() {
        let b = Bundle::parse().expect("bundled data parses");
        assert_eq!(b.regions.len(), 1);
        assert_eq!(b.clusters.len(), 4);
        assert_eq!(b.municipalities.len(), 66);
        assert_eq!(b.institutions.len(), 11);
        assert!(b.municipalities.iter().all(|m| m.code.len() == 4));
        assert!(!b.themes.is_empty() && !b.product_types.is_empty() && !b.criteria.is_empty());
    }
}
