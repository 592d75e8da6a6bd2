//! Needs read with their themes' ids in the same statement (a subquery aggregating
//! `need_theme`), by id, by the commissions answering them, and with their place for the event
//! relay; the themes of many needs at once; and single rows read by id or title.

use std::collections::HashMap;

use entity::{commission_need, need, need_evidence, need_theme, organisation_ancestor, theme};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QueryOrder, QueryResult,
    sea_query::{Expr, ExprTrait, JoinType, Query, SelectStatement},
};

use super::{N, n};
use crate::db::sql;

/// A statement that selects every column of `need n` and its themes' ids (as `theme_ids`), to be
/// read by [`with_theme_ids`]. The caller adds `FROM need n` and the rest.
pub(super) fn need_with_theme_ids(backend: DatabaseBackend) -> SelectStatement {
    const NT: &str = "nt";
    let themes = Query::select()
        .expr(sql::id_list(backend, Expr::col((NT, need_theme::Column::ThemeId))))
        .from_as(need_theme::Entity, NT)
        .and_where(Expr::col((NT, need_theme::Column::NeedId)).equals((N, need::Column::Id)))
        .to_owned();
    Query::select().exprs(need::Column::iter().map(n)).expr_as(sql::scalar(themes), "theme_ids").to_owned()
}

#[derive(FromQueryResult)]
struct ThemeIds {
    theme_ids: Option<String>,
}

/// A need and its themes' ids (ascending, the order themes are shown in) from a row of
/// [`need_with_theme_ids`].
pub(super) fn with_theme_ids(row: &QueryResult) -> Result<(need::Model, Vec<i32>), DbErr> {
    let mut theme_ids = sql::parse_ids(ThemeIds::from_query_result(row, "")?.theme_ids.as_deref());
    theme_ids.sort_unstable();
    Ok((need::Model::from_query_result(row, "")?, theme_ids))
}

/// Needs by id, each with its themes' ids, in one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn by_ids_with_themes(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<Vec<(need::Model, Vec<i32>)>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let select = need_with_theme_ids(db.get_database_backend())
        .from_as(need::Entity, N)
        .and_where(n(need::Column::Id).is_in(ids.iter().copied()))
        .to_owned();
    db.query_all(&select).await?.iter().map(with_theme_ids).collect()
}

#[derive(FromQueryResult)]
struct CommissionId {
    commission_id: i32,
}

/// The needs that commissions answer, by commission, each with its themes' ids, in one
/// statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn of_commissions_with_themes(
    db: &impl ConnectionTrait,
    commission_ids: &[i32],
) -> Result<Vec<(i32, need::Model, Vec<i32>)>, DbErr> {
    if commission_ids.is_empty() {
        return Ok(Vec::new());
    }
    const CN: &str = "cn";
    let select = need_with_theme_ids(db.get_database_backend())
        .expr_as(Expr::col((CN, commission_need::Column::CommissionId)), "commission_id")
        .from_as(commission_need::Entity, CN)
        .join_as(
            JoinType::InnerJoin,
            need::Entity,
            N,
            n(need::Column::Id).equals((CN, commission_need::Column::NeedId)),
        )
        .and_where(
            Expr::col((CN, commission_need::Column::CommissionId)).is_in(commission_ids.iter().copied()),
        )
        .order_by_expr(n(need::Column::Id), sea_orm::Order::Asc)
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let (need, theme_ids) = with_theme_ids(row)?;
            Ok((CommissionId::from_query_result(row, "")?.commission_id, need, theme_ids))
        })
        .collect()
}

#[derive(FromQueryResult)]
struct Place {
    ancestors: Option<String>,
}

/// A need with what the event relay filters on besides the need itself (whose partnership is its
/// pool): the unit that raised it with every organisation above it, and its themes' ids.
pub struct Placed {
    pub need: need::Model,
    /// The raising unit and its ancestors, in id order.
    pub ancestors: Vec<i32>,
    pub theme_ids: Vec<i32>,
}

/// A need with its place and themes, in one statement (for the event relay).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn with_place(db: &impl ConnectionTrait, id: i32) -> Result<Option<Placed>, DbErr> {
    const OA: &str = "oa";
    let backend = db.get_database_backend();
    let ancestors = Query::select()
        .expr(sql::id_list(backend, Expr::col((OA, organisation_ancestor::Column::AncestorId))))
        .from_as(organisation_ancestor::Entity, OA)
        .and_where(
            Expr::col((OA, organisation_ancestor::Column::OrganisationId))
                .equals((N, need::Column::OrganisationId)),
        )
        .to_owned();
    let select = need_with_theme_ids(backend)
        .expr_as(sql::scalar(ancestors), "ancestors")
        .from_as(need::Entity, N)
        .and_where(n(need::Column::Id).eq(id))
        .to_owned();
    let Some(row) = db.query_one(&select).await? else {
        return Ok(None);
    };
    let (need, theme_ids) = with_theme_ids(&row)?;
    let mut ancestors = sql::parse_ids(Place::from_query_result(&row, "")?.ancestors.as_deref());
    ancestors.sort_unstable();
    Ok(Some(Placed { need, ancestors, theme_ids }))
}

/// The themes of several needs, by need: one statement.
#[tracing::instrument(level = "debug", skip_all)]
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

/// A piece of evidence by id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn evidence(db: &impl ConnectionTrait, id: i32) -> Result<Option<need_evidence::Model>, DbErr> {
    need_evidence::Entity::find_by_id(id).one(db).await
}

/// A need with exactly this title (the demo's check that its needs are there already).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn by_title(db: &impl ConnectionTrait, title: &str) -> Result<Option<need::Model>, DbErr> {
    need::Entity::find().filter(need::Column::Title.eq(title)).one(db).await
}
