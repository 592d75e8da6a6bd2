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
    Query::select().exprs(need::Column::iter().map(n)).expr_as(sql::scalar(themes), THEME_IDS).to_owned()
}

/// The column of a need's themes' ids in [`need_with_theme_ids`].
const THEME_IDS: &str = "theme_ids";

/// A need and its themes' ids (ascending, the order themes are shown in) from a row of
/// [`need_with_theme_ids`].
pub(super) fn with_theme_ids(row: &QueryResult) -> Result<(need::Model, Vec<i32>), DbErr> {
    let mut theme_ids = sql::parse_ids(sql::nullable::<String, _>(row, THEME_IDS)?.as_deref());
    theme_ids.sort_unstable();
    Ok((need_at(row, 0)?, theme_ids))
}

/// A need from the columns of `need` at position `first` on, in the order `need::Column::iter()`
/// selects them (the order of the model's fields). The reader sea-orm derives looks each of the
/// 25 columns up by its name and describes each NULL in a string (`sql::nullable`); reading a
/// page's needs that way was 9% of a dashboard page's instructions. A test compares the two.
pub(super) fn need_at(row: &QueryResult, first: usize) -> Result<need::Model, DbErr> {
    let position = std::cell::Cell::new(first);
    let at = || position.replace(position.get() + 1);
    // The fields are read in the order written here.
    Ok(need::Model {
        id: sql::required(row, at())?,
        municipality_id: sql::required(row, at())?,
        organisation_id: sql::nullable(row, at())?,
        partnership_id: sql::nullable(row, at())?,
        created_by_person_id: sql::required(row, at())?,
        contact_person_id: sql::nullable(row, at())?,
        title: sql::required(row, at())?,
        question: sql::required(row, at())?,
        background: sql::required(row, at())?,
        intended_use: sql::required(row, at())?,
        target_group: sql::required(row, at())?,
        urgency: sql::required(row, at())?,
        product_type_id: sql::nullable(row, at())?,
        population: sql::nullable(row, at())?,
        intervention: sql::nullable(row, at())?,
        comparison: sql::nullable(row, at())?,
        outcome: sql::nullable(row, at())?,
        status: sql::required(row, at())?,
        version: sql::required(row, at())?,
        merged_into_id: sql::nullable(row, at())?,
        cosigner_count: sql::required(row, at())?,
        submitted_at: sql::nullable(row, at())?,
        created_at: sql::required(row, at())?,
        updated_at: sql::required(row, at())?,
    })
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
#[derive(Clone, Debug)]
pub struct Placed {
    pub need: need::Model,
    /// The raising unit and its ancestors, in id order.
    pub ancestors: Vec<i32>,
    pub theme_ids: Vec<i32>,
}

/// Needs with their places and themes, by id, in one statement (for the event relay); those
/// not found are left out.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn with_places(db: &impl ConnectionTrait, ids: &[i32]) -> Result<HashMap<i32, Placed>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
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
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let select = need_with_theme_ids(backend)
        .expr_as(sql::scalar(ancestors), "ancestors")
        .from_as(need::Entity, N)
        .and_where(n(need::Column::Id).is_in(unique))
        .to_owned();
    db.query_all(&select)
        .await?
        .iter()
        .map(|row| {
            let (need, theme_ids) = with_theme_ids(row)?;
            let mut ancestors = sql::parse_ids(Place::from_query_result(row, "")?.ancestors.as_deref());
            ancestors.sort_unstable();
            Ok((need.id, Placed { need, ancestors, theme_ids }))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use entity::{
        enums::{Language, NeedStatus, Urgency},
        municipality, partnership, person, product_type,
    };
    use sea_orm::{ActiveModelTrait, ActiveValue::Set, QuerySelect};

    use super::*;

    /// `need_at` reads what the derived reader reads, column for column: a need with every
    /// optional column NULL, and one with each of them set to a value of its own.
    #[tokio::test]
    async fn a_need_read_by_position_is_the_need_read_by_name() {
        let scratch = crate::db::Scratch::new("need-at").await;
        let conn = scratch.db.conn();
        let at = |second: u32| Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, second).single().expect("a time");
        let mut people = Vec::new();
        for name in ["Ingrid Berg", "Ola Dahl"] {
            let person = person::ActiveModel {
                name: Set(name.into()),
                email: Set(format!("{}@example.no", name.replace(' ', "."))),
                created_at: Set(at(0)),
                language: Set(Language::Nb),
                ..Default::default()
            };
            people.push(person.insert(conn).await.expect("a person"));
        }
        let places = municipality::Entity::find().limit(2).all(conn).await.expect("read");
        let pool = partnership::Entity::find().one(conn).await.expect("read").expect("a partnership");
        let product = product_type::Entity::find().one(conn).await.expect("read").expect("a product type");
        let bare = need::ActiveModel {
            municipality_id: Set(places[0].id),
            created_by_person_id: Set(people[0].id),
            title: Set("Tittel".into()),
            question: Set("Spørsmål".into()),
            background: Set("Bakgrunn".into()),
            intended_use: Set("Bruk".into()),
            target_group: Set("Målgruppe".into()),
            urgency: Set(Urgency::High),
            status: Set(NeedStatus::Draft),
            version: Set(3),
            cosigner_count: Set(0),
            created_at: Set(at(1)),
            updated_at: Set(at(2)),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("a need");
        need::ActiveModel {
            municipality_id: Set(places[1].id),
            organisation_id: Set(places[1].organisation_id),
            partnership_id: Set(Some(pool.id)),
            created_by_person_id: Set(people[1].id),
            contact_person_id: Set(Some(people[0].id)),
            title: Set("Ein annan tittel".into()),
            question: Set("Eit anna spørsmål".into()),
            background: Set("Ein annan bakgrunn".into()),
            intended_use: Set("Ei anna bruk".into()),
            target_group: Set("Ei anna målgruppe".into()),
            urgency: Set(Urgency::Low),
            product_type_id: Set(Some(product.id)),
            population: Set(Some("Populasjon".into())),
            intervention: Set(Some("Tiltak".into())),
            comparison: Set(Some("Samanlikning".into())),
            outcome: Set(Some("Utfall".into())),
            status: Set(NeedStatus::Merged),
            version: Set(7),
            merged_into_id: Set(Some(bare.id)),
            cosigner_count: Set(4),
            submitted_at: Set(Some(at(3))),
            created_at: Set(at(4)),
            updated_at: Set(at(5)),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("a need");
        let select = need_with_theme_ids(conn.get_database_backend()).from_as(need::Entity, N).to_owned();
        let rows = conn.query_all(&select).await.expect("read");
        assert_eq!(rows.len(), 2);
        for row in &rows {
            let by_name = need::Model::from_query_result(row, "").expect("read by name");
            assert_eq!(need_at(row, 0).expect("read by position"), by_name);
        }
    }
}
