//! Queries over the reference data: regions, counties, clusters, municipalities, institutions,
//! themes, product types and criteria. Every list comes back in id order (the order of the
//! bundled data), which is also the cursor order of the API's connections.

use entity::{
    cluster, county,
    enums::{InstitutionKind, OrganisationKind},
    institution, municipality, organisation, partnership, product_type, theme,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, sea_query::Query};

use super::NodeType;

/// Every row of `E`, ordered by `id`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn all<E: EntityTrait>(db: &impl ConnectionTrait, id: E::Column) -> Result<Vec<E::Model>, DbErr> {
    E::find().order_by_asc(id).all(db).await
}

/// Every row of `E`, in no particular order (for a table read whole into a map).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn every<E: EntityTrait>(db: &impl ConnectionTrait) -> Result<Vec<E::Model>, DbErr> {
    E::find().all(db).await
}

/// The rows of `E` whose `column` is one of `keys`, ordered by `id`; one statement for any number
/// of keys, which is what DataLoaders call.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn where_in<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    keys: &[i32],
    id: E::Column,
) -> Result<Vec<E::Model>, DbErr> {
    E::find().filter(column.is_in(keys.iter().copied())).order_by_asc(id).all(db).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn clusters(
    db: &impl ConnectionTrait,
    partnership_id: Option<i32>,
) -> Result<Vec<cluster::Model>, DbErr> {
    let mut select = cluster::Entity::find();
    if let Some(partnership_id) = partnership_id {
        select = select.filter(cluster::Column::PartnershipId.eq(partnership_id));
    }
    select.order_by_asc(cluster::Column::Id).all(db).await
}

/// Which municipalities to list; `None` means no restriction.
#[derive(Debug, Default)]
pub struct MunicipalityFilter {
    /// The county's official two-digit code.
    pub county_code: Option<String>,
    pub cluster_id: Option<i32>,
    /// Part of the name (any case) or the start of the official number.
    pub search: Option<String>,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn municipalities(
    db: &impl ConnectionTrait,
    filter: &MunicipalityFilter,
) -> Result<Vec<municipality::Model>, DbErr> {
    let mut select = municipality::Entity::find();
    if let Some(code) = &filter.county_code {
        select = select.filter(
            municipality::Column::CountyId.in_subquery(
                Query::select()
                    .column(county::Column::Id)
                    .from(county::Entity)
                    .and_where(county::Column::Code.eq(code.as_str()))
                    .to_owned(),
            ),
        );
    }
    if let Some(cluster_id) = filter.cluster_id {
        select = select.filter(municipality::Column::ClusterId.eq(cluster_id));
    }
    let rows = select.order_by_asc(municipality::Column::Id).all(db).await?;
    // The search runs here rather than in SQL: 66 rows is nothing, and Rust's Unicode case
    // folding treats "Øygarden" and "øygarden" alike on both databases (SQLite's LIKE folds ASCII only).
    Ok(match filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(search) => {
            let needle = search.to_lowercase();
            rows.into_iter()
                .filter(|m| m.code.starts_with(search) || m.name.to_lowercase().contains(&needle))
                .collect()
        }
        None => rows,
    })
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn municipality_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<municipality::Model>, DbErr> {
    municipality::Entity::find().filter(municipality::Column::Code.eq(code)).one(db).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn institutions(
    db: &impl ConnectionTrait,
    kind: Option<InstitutionKind>,
    partnership_id: Option<i32>,
) -> Result<Vec<institution::Model>, DbErr> {
    let mut select = institution::Entity::find();
    if let Some(kind) = kind {
        select = select.filter(institution::Column::Kind.eq(kind));
    }
    if let Some(partnership_id) = partnership_id {
        select = select.filter(institution::Column::PartnershipId.eq(partnership_id));
    }
    select.order_by_asc(institution::Column::Id).all(db).await
}

/// Which regions' RSOs to read: all, one by key, or some by id.
#[derive(Clone, Copy, Debug)]
pub enum Regions<'a> {
    All,
    Key(&'a str),
    Ids(&'a [i32]),
}

/// The regions' RSOs: the partnerships run by an organisation of kind REGION (KSF, Oslo's
/// programmes and what else runs a partnership are no regions), in id order.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn regions(
    db: &impl ConnectionTrait,
    which: Regions<'_>,
) -> Result<Vec<partnership::Model>, DbErr> {
    let bodies = Query::select()
        .column(organisation::Column::Id)
        .from(organisation::Entity)
        .and_where(organisation::Column::Kind.eq(OrganisationKind::Region))
        .to_owned();
    let mut select =
        partnership::Entity::find().filter(partnership::Column::OrganisationId.in_subquery(bodies));
    select = match which {
        Regions::All => select,
        Regions::Key(key) => select.filter(partnership::Column::Key.eq(key)),
        Regions::Ids(ids) => select.filter(partnership::Column::Id.is_in(ids.iter().copied())),
    };
    select.order_by_asc(partnership::Column::Id).all(db).await
}

/// The row of `E` whose unique `column` is `value` (a key or an official number).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn by_key<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    value: &str,
) -> Result<Option<E::Model>, DbErr> {
    E::find().filter(column.eq(value)).one(db).await
}

/// The id of the `node_type` row whose key is `key` (a municipality's: its four-digit number; an
/// organisation's: its key or official number); `None` if there is none, or if rows of that type
/// have no key.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn id_by_key(
    db: &impl ConnectionTrait,
    node_type: NodeType,
    key: &str,
) -> Result<Option<i32>, DbErr> {
    Ok(match node_type {
        NodeType::Region => {
            by_key::<partnership::Entity>(db, partnership::Column::Key, key).await?.map(|r| r.id)
        }
        NodeType::Cluster => by_key::<cluster::Entity>(db, cluster::Column::Key, key).await?.map(|c| c.id),
        NodeType::Municipality => {
            by_key::<municipality::Entity>(db, municipality::Column::Code, key).await?.map(|m| m.id)
        }
        NodeType::Institution => {
            by_key::<institution::Entity>(db, institution::Column::Key, key).await?.map(|i| i.id)
        }
        NodeType::Theme => by_key::<theme::Entity>(db, theme::Column::Key, key).await?.map(|t| t.id),
        NodeType::ProductType => {
            by_key::<product_type::Entity>(db, product_type::Column::Key, key).await?.map(|p| p.id)
        }
        NodeType::Organisation => super::organisations::read::by_key_or_code(db, key).await?.map(|o| o.id),
        NodeType::Partnership => super::organisations::read::partnership_by_key(db, key).await?.map(|p| p.id),
        _ => None,
    })
}

/// The themes with these keys.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn themes_by_keys(db: &impl ConnectionTrait, keys: &[&str]) -> Result<Vec<theme::Model>, DbErr> {
    theme::Entity::find().filter(theme::Column::Key.is_in(keys.iter().copied())).all(db).await
}

/// An organisation as the command line names it: a region, cluster or institution by its key, a
/// municipality by its official number.
#[derive(Clone, Copy, Debug)]
pub enum OrganisationKey<'a> {
    Region(&'a str),
    Cluster(&'a str),
    Municipality(&'a str),
    Institution(&'a str),
}

/// The id of the organisation `key` names and the id of its region (a municipality's through
/// its county, which may have none); `None` if there is no such organisation.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn organisation(
    db: &impl ConnectionTrait,
    key: OrganisationKey<'_>,
) -> Result<Option<(i32, Option<i32>)>, DbErr> {
    Ok(match key {
        OrganisationKey::Region(key) => by_key::<partnership::Entity>(db, partnership::Column::Key, key)
            .await?
            .map(|r| (r.id, Some(r.id))),
        OrganisationKey::Cluster(key) => by_key::<cluster::Entity>(db, cluster::Column::Key, key)
            .await?
            .map(|c| (c.id, Some(c.partnership_id))),
        OrganisationKey::Municipality(code) => {
            match by_key::<municipality::Entity>(db, municipality::Column::Code, code).await? {
                Some(m) => {
                    let county = where_in::<county::Entity>(
                        db,
                        county::Column::Id,
                        &[m.county_id],
                        county::Column::Id,
                    )
                    .await?;
                    Some((m.id, county.first().and_then(|c| c.partnership_id)))
                }
                None => None,
            }
        }
        OrganisationKey::Institution(key) => by_key::<institution::Entity>(db, institution::Column::Key, key)
            .await?
            .map(|i| (i.id, Some(i.partnership_id))),
    })
}
