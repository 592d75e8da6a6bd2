//! How many needs match, in all (`totalCount`) and by a grouping (`needStats`): `COUNT(*)` and
//! `GROUP BY` in SQL, one pass over the matching needs joined to what they are grouped by.

use entity::{enums::OrganisationKind, municipality, need, need_theme, organisation, organisation_ancestor};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult,
    sea_query::{Asterisk, Expr, ExprTrait, Func, JoinType, Order, Query},
};

use super::{N, NeedFilter, Visibility, filter, n};

#[derive(FromQueryResult)]
struct Counted {
    n: i64,
}

/// How many needs match (for `totalCount`, computed only when asked for).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn count(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
) -> Result<i64, DbErr> {
    let backend = db.get_database_backend();
    let mut select = Query::select();
    select.expr_as(Func::count(Expr::col(Asterisk)), "n").from_as(need::Entity, N);
    filter::restrict(&mut select, backend, filter, visibility, None);
    Ok(Counted::find_by_statement(backend.build(&select)).one(db).await?.map_or(0, |c| c.n))
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
    /// The city district (bydel) a need was raised in or under; needs outside any district are
    /// not counted. Districts are what coordinators may add, so only the `MAX_DISTRICT_GROUPS`
    /// with the most needs are answered.
    District,
    SubmittedMonth,
}

/// The most districts `count_by(.., Grouping::District)` answers: a hard bound for the price of
/// `needStats.byDistrict` (Oslo has 17 districts and special areas; no city comes near).
pub const MAX_DISTRICT_GROUPS: usize = 100;

/// Counts of matching needs by one grouping, computed with GROUP BY.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn count_by(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    grouping: Grouping,
) -> Result<Vec<GroupCount>, DbErr> {
    const NT: &str = "nt";
    const M: &str = "m";
    const OA: &str = "oa";
    const O: &str = "o";
    let backend = db.get_database_backend();
    // The key is written out again in GROUP BY and ORDER BY, so it binds no value (PostgreSQL
    // would not see `$1` and `$2` as the same expression).
    let text = |expr: Expr| Expr::from(Func::cast_as(expr, "TEXT"));
    let key = match grouping {
        Grouping::Status => n(need::Column::Status),
        Grouping::Theme => text(Expr::col((NT, need_theme::Column::ThemeId))),
        Grouping::Cluster => text(Expr::col((M, municipality::Column::ClusterId))),
        Grouping::Municipality => text(n(need::Column::MunicipalityId)),
        Grouping::District => text(Expr::col((OA, organisation_ancestor::Column::AncestorId))),
        Grouping::SubmittedMonth => match backend {
            // Hand-written: sea-query has no `AT TIME ZONE`.
            DatabaseBackend::Postgres => Expr::cust("to_char(n.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')"),
            // SQLite keeps timestamps as ISO text starting with the UTC date.
            _ => Func::cust("substr")
                .args([n(need::Column::SubmittedAt), Expr::Constant(1.into()), Expr::Constant(7.into())])
                .into(),
        },
    };
    // One pass over the matching needs, joined to what they are grouped by.
    let mut select = Query::select();
    select
        .expr_as(key.clone(), "key")
        .expr_as(Func::count(Expr::col(Asterisk)), "n")
        .from_as(need::Entity, N);
    match grouping {
        Grouping::Theme => {
            select.join_as(
                JoinType::InnerJoin,
                need_theme::Entity,
                NT,
                Expr::col((NT, need_theme::Column::NeedId)).equals((N, need::Column::Id)),
            );
        }
        Grouping::Cluster => {
            select.join_as(
                JoinType::InnerJoin,
                municipality::Entity,
                M,
                Expr::col((M, municipality::Column::Id)).equals((N, need::Column::MunicipalityId)),
            );
        }
        Grouping::District => {
            // Through the closure: a need of a district's programme or project is the district's.
            select
                .join_as(
                    JoinType::InnerJoin,
                    organisation_ancestor::Entity,
                    OA,
                    Expr::col((OA, organisation_ancestor::Column::OrganisationId))
                        .equals((N, need::Column::OrganisationId)),
                )
                .join_as(
                    JoinType::InnerJoin,
                    organisation::Entity,
                    O,
                    Expr::col((O, organisation::Column::Id))
                        .equals((OA, organisation_ancestor::Column::AncestorId))
                        .and(Expr::col((O, organisation::Column::Kind)).eq(OrganisationKind::District)),
                );
        }
        Grouping::Status | Grouping::Municipality | Grouping::SubmittedMonth => {}
    }
    filter::restrict(&mut select, backend, filter, visibility, None);
    if grouping == Grouping::SubmittedMonth {
        // Drafts have no submission month.
        select.and_where(n(need::Column::SubmittedAt).is_not_null());
    }
    select.add_group_by([key.clone()]);
    if grouping == Grouping::District {
        select
            .order_by_expr(Func::count(Expr::col(Asterisk)).into(), Order::Desc)
            .limit(MAX_DISTRICT_GROUPS as u64);
    }
    select.order_by_expr(key, Order::Asc);
    GroupCount::find_by_statement(backend.build(&select)).all(db).await
}
