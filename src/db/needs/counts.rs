//! How many needs match, in all (`totalCount`) and by a grouping (`needStats`): one `GROUP BY`
//! statement, over the tallies the database keeps in step with every write (a few thousand rows
//! whatever the number of needs) where one counts what is asked, otherwise over the matching
//! needs joined to what they are grouped by.

use chrono::{DateTime, Datelike, Utc};
use entity::{enums::OrganisationKind, municipality, need, need_theme, organisation, organisation_ancestor};
use sea_orm::{
    ConnectionTrait, DatabaseBackend as DbBackend, DbErr, FromQueryResult,
    sea_query::{Asterisk, Condition, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};

use super::{N, NeedFilter, Visibility, filter, n, search};

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
    match Tally::answering(filter, visibility, None) {
        Some(tally) => {
            select
                .expr_as(Func::coalesce([tally.sum(), Expr::Constant(0.into())]), "n")
                .from_as(tally.table(), N)
                .cond_where(tally.conditions(filter, visibility));
        }
        None => {
            let found = search::resolve(db, filter).await?;
            select.expr_as(Func::count(Expr::col(Asterisk)), "n").from_as(need::Entity, N);
            filter::restrict(&mut select, filter, found.as_ref(), visibility, None);
        }
    }
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

/// Counts of matching needs by one grouping, computed with GROUP BY: from a tally where one
/// answers the filter and grouping, otherwise from the needs.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn count_by(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    grouping: Grouping,
) -> Result<Vec<GroupCount>, DbErr> {
    let source = Tally::answering(filter, visibility, Some(grouping));
    let found = match source {
        Some(_) => None,
        None => search::resolve(db, filter).await?,
    };
    let backend = db.get_database_backend();
    let select = grouped(backend, filter, found.as_ref(), visibility, grouping, source);
    GroupCount::find_by_statement(backend.build(&select)).all(db).await
}

/// Counts of matching needs by one grouping, counted from the needs themselves even where a tally
/// answers: what the tallies are checked against.
pub async fn recount_by(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    grouping: Grouping,
) -> Result<Vec<GroupCount>, DbErr> {
    let found = search::resolve(db, filter).await?;
    let backend = db.get_database_backend();
    let select = grouped(backend, filter, found.as_ref(), visibility, grouping, None);
    GroupCount::find_by_statement(backend.build(&select)).all(db).await
}

/// The statement of `count_by`: over `need n` (and its themes), or over a tally as `n`.
fn grouped(
    backend: DbBackend,
    filter: &NeedFilter,
    found: Option<&search::Found>,
    visibility: &Visibility,
    grouping: Grouping,
    source: Option<Tally>,
) -> SelectStatement {
    const NT: &str = "nt";
    const M: &str = "m";
    const OA: &str = "oa";
    const O: &str = "o";
    // The key is written out again in GROUP BY and ORDER BY, so it binds no value (PostgreSQL
    // would not see `$1` and `$2` as the same expression).
    let text = |expr: Expr| Expr::from(Func::cast_as(expr, "TEXT"));
    let key = match (grouping, source) {
        (Grouping::Status, _) => n(need::Column::Status),
        (Grouping::Theme, None) => text(Expr::col((NT, need_theme::Column::ThemeId))),
        (Grouping::Theme, Some(_)) => text(Expr::col((N, Tally::THEME))),
        (Grouping::Cluster, _) => text(Expr::col((M, municipality::Column::ClusterId))),
        (Grouping::Municipality, _) => text(n(need::Column::MunicipalityId)),
        (Grouping::District, _) => text(Expr::col((OA, organisation_ancestor::Column::AncestorId))),
        (Grouping::SubmittedMonth, Some(_)) => Expr::col((N, Tally::MONTH)),
        (Grouping::SubmittedMonth, None) => month(backend),
    };
    let counted = match source {
        None => Expr::from(Func::count(Expr::col(Asterisk))),
        Some(tally) => tally.sum(),
    };
    // One pass over the matching needs (or tally rows), joined to what they are grouped by.
    let mut select = Query::select();
    select.expr_as(key.clone(), "key").expr_as(counted.clone(), "n");
    match source {
        None => select.from_as(need::Entity, N),
        Some(tally) => select.from_as(tally.table(), N),
    };
    match grouping {
        Grouping::Theme if source.is_none() => {
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
        Grouping::Theme | Grouping::Status | Grouping::Municipality | Grouping::SubmittedMonth => {}
    }
    match source {
        None => {
            filter::restrict(&mut select, filter, found, visibility, None);
            if grouping == Grouping::SubmittedMonth {
                // Drafts have no submission month.
                select.and_where(n(need::Column::SubmittedAt).is_not_null());
            }
        }
        Some(tally) => {
            select.cond_where(tally.conditions(filter, visibility));
            if grouping == Grouping::SubmittedMonth {
                select.and_where(Expr::col((N, Tally::MONTH)).ne(""));
            }
            // Groups whose needs have all moved on keep their rows, at 0.
            select.and_having(counted.clone().gt(0));
        }
    }
    select.add_group_by([key.clone()]);
    if grouping == Grouping::District {
        select.order_by_expr(counted, Order::Desc).limit(MAX_DISTRICT_GROUPS as u64);
    }
    select.order_by_expr(key, Order::Asc);
    select
}

/// A need's submission month (UTC) as `YYYY-MM`.
fn month(backend: DbBackend) -> Expr {
    match backend {
        // Hand-written: sea-query has no `AT TIME ZONE`.
        DbBackend::Postgres => Expr::cust("to_char(n.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM')"),
        // SQLite keeps timestamps as ISO text starting with the UTC date.
        _ => Func::cust("substr")
            .args([n(need::Column::SubmittedAt), Expr::Constant(1.into()), Expr::Constant(7.into())])
            .into(),
    }
}

/// The tallies the migration `need_tally` keeps in step with every write: needs counted by
/// partnership, organisation, municipality and status (the columns `filter::placed` reads), and
/// in turn by theme and by submission month; and by theme or month with the partnership and status
/// alone (`pooled`), for counts that ask nothing of the place. Each counts a need once per group
/// it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tally {
    by: By,
    pooled: bool,
}

/// What a tally counts by besides the place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Nothing,
    Theme,
    Month,
}

impl Tally {
    const THEME: &'static str = "theme_id";
    const MONTH: &'static str = "month";

    fn table(self) -> &'static str {
        match (self.by, self.pooled) {
            (By::Nothing, _) => "need_tally",
            (By::Theme, false) => "need_theme_tally",
            (By::Month, false) => "need_month_tally",
            (By::Theme, true) => "need_theme_pool_tally",
            (By::Month, true) => "need_month_pool_tally",
        }
    }

    /// The tally that counts what `filter` asks of what `visibility` shows, grouped by
    /// `grouping` (all in one for `None`), if any does. Words to search, a product type and an
    /// urgency are counted from the needs, as are several themes at once (a need may have more
    /// than one), a theme with a period or by month, the themes of needs that have a given
    /// theme, and a period that does not start and end at the start of a month (UTC).
    fn answering(filter: &NeedFilter, visibility: &Visibility, grouping: Option<Grouping>) -> Option<Self> {
        if !filter.search.is_empty() || filter.product_type_id.is_some() || filter.urgency.is_some() {
            return None;
        }
        let themed = match filter.theme_ids.len() {
            0 => false,
            1 => true,
            _ => return None,
        };
        let period = [filter.submitted_after, filter.submitted_before];
        let monthly = grouping == Some(Grouping::SubmittedMonth) || period.iter().any(Option::is_some);
        if period.iter().flatten().any(|at| month_start(*at).is_none()) {
            return None;
        }
        let by = match (grouping, themed, monthly) {
            (Some(Grouping::Theme), true, _) | (_, true, true) | (Some(Grouping::Theme), _, true) => {
                return None;
            }
            (_, _, true) => By::Month,
            (Some(Grouping::Theme), false, false) | (_, true, false) => By::Theme,
            _ => By::Nothing,
        };
        // Nothing asked of the organisation or municipality (the drafts a viewer sees are its
        // units').
        let placed = filter.municipality_id.is_some()
            || !filter.organisation_ids.is_empty()
            || !visibility.draft_units.is_empty()
            || matches!(grouping, Some(Grouping::Cluster | Grouping::Municipality | Grouping::District));
        Some(Self { by, pooled: by != By::Nothing && !placed })
    }

    /// How many needs a group of rows counts.
    fn sum(self) -> Expr {
        Func::cast_as(Func::sum(Expr::col((N, "needs"))), "BIGINT").into()
    }

    /// The conditions of `filter` and `visibility` over this tally's rows, which
    /// [`Self::answering`] chose it for.
    fn conditions(self, filter: &NeedFilter, visibility: &Visibility) -> Condition {
        let month = || Expr::col((N, Self::MONTH));
        filter::placed(filter, visibility)
            .add_option(
                (self.by == By::Theme && !filter.theme_ids.is_empty())
                    .then(|| Expr::col((N, Self::THEME)).is_in(filter.theme_ids.clone())),
            )
            .add_option(filter.submitted_after.and_then(month_start).map(|m| month().gte(m)))
            .add_option(
                filter.submitted_before.and_then(month_start).map(|m| month().lt(m).and(month().ne(""))),
            )
    }
}

/// Whether writes spread the tallies' groups over slots that [`fold_tallies`] folds: on
/// PostgreSQL, where writers run at once.
pub fn tallies_have_slots(db: &crate::db::Db) -> bool {
    db.backend() == DbBackend::Postgres
}

/// PostgreSQL: moves what writes added to the tallies' (and the search terms' counts') slots 1
/// and up into slot 0, so that a count reads about one row per group again (see the migration
/// `tally_slots`); answers how many groups it added to. A row a writer holds is left for the
/// next fold (`SKIP LOCKED`), so a fold never waits for a writer and never deadlocks with one;
/// a writer that adds to a row being folded waits for the fold to commit and then makes the row
/// again. Folds on several instances take disjoint rows and add to slot 0 in key order. Each
/// tally is folded in a transaction of its own; readers see every need counted once, before and
/// after. SQLite keeps no slots.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn fold_tallies(db: &crate::db::Db) -> Result<u64, DbErr> {
    if !tallies_have_slots(db) {
        return Ok(0);
    }
    let mut folded = 0;
    for (table, columns) in migration::slotted_tables() {
        let same = columns
            .split(", ")
            .chain(["slot"])
            .map(|c| format!("t.{c} = k.{c}"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let fold = format!(
            "WITH taken AS (
                 SELECT {columns}, slot FROM {table} WHERE slot <> 0 ORDER BY {columns}, slot
                 FOR UPDATE SKIP LOCKED
             ), moved AS (
                 DELETE FROM {table} t USING taken k WHERE {same} RETURNING t.*
             )
             INSERT INTO {table} ({columns}, slot, needs)
             SELECT {columns}, 0, SUM(needs) FROM moved GROUP BY {columns} HAVING SUM(needs) <> 0
             ORDER BY {columns}
             ON CONFLICT ({columns}, slot) DO UPDATE SET needs = {table}.needs + excluded.needs"
        );
        folded += db.background().execute_unprepared(&fold).await?.rows_affected();
    }
    Ok(folded)
}

/// `at` as the month (`YYYY-MM`) it starts, if it is the first instant of a month (UTC).
fn month_start(at: DateTime<Utc>) -> Option<String> {
    let start = at.date_naive().with_day(1)?.and_hms_opt(0, 0, 0)?.and_utc();
    (start == at).then(|| at.format("%Y-%m").to_string())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use entity::enums::Urgency;

    use super::*;

    fn at(month: u32, day: u32, hour: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, month, day, hour, 0, 0).single()
    }

    fn instant(month: u32, day: u32, hour: u32) -> DateTime<Utc> {
        at(month, day, hour).expect("a time")
    }

    #[test]
    fn a_tally_answers_what_it_counts_and_nothing_else() {
        use Grouping::*;
        let public = Visibility::default();
        let member = Visibility { draft_units: vec![7] };
        let all = NeedFilter::default();
        let themed = NeedFilter { theme_ids: vec![3], ..Default::default() };
        let months =
            NeedFilter { submitted_after: at(3, 1, 0), submitted_before: at(9, 1, 0), ..Default::default() };
        let pool = NeedFilter {
            statuses: vec![entity::enums::NeedStatus::Submitted],
            partnership_ids: vec![1],
            ..Default::default()
        };
        let place = NeedFilter { organisation_ids: vec![4], municipality_id: Some(5), ..pool.clone() };
        let tally = |by, pooled| Some(Tally { by, pooled });
        for grouping in [None, Some(Status), Some(Cluster), Some(Municipality), Some(District)] {
            let by_place = matches!(grouping, Some(Cluster | Municipality | District));
            for visibility in [&public, &member] {
                let pooled = !by_place && visibility.draft_units.is_empty();
                for filter in [&all, &pool, &place] {
                    assert_eq!(Tally::answering(filter, visibility, grouping), tally(By::Nothing, false));
                }
                assert_eq!(Tally::answering(&themed, visibility, grouping), tally(By::Theme, pooled));
                assert_eq!(Tally::answering(&months, visibility, grouping), tally(By::Month, pooled));
            }
        }
        assert_eq!(Tally::answering(&all, &public, Some(Theme)), tally(By::Theme, true));
        assert_eq!(Tally::answering(&pool, &public, Some(Theme)), tally(By::Theme, true));
        assert_eq!(Tally::answering(&place, &public, Some(Theme)), tally(By::Theme, false));
        assert_eq!(Tally::answering(&all, &member, Some(Theme)), tally(By::Theme, false));
        assert_eq!(Tally::answering(&all, &public, Some(SubmittedMonth)), tally(By::Month, true));
        assert_eq!(Tally::answering(&place, &public, Some(SubmittedMonth)), tally(By::Month, false));
        assert_eq!(Tally::answering(&months, &public, Some(SubmittedMonth)), tally(By::Month, true));
        // Counted from the needs.
        let from_needs = [
            NeedFilter { search: vec!["demens".into()], ..Default::default() },
            NeedFilter { product_type_id: Some(1), ..Default::default() },
            NeedFilter { urgency: Some(Urgency::High), ..Default::default() },
            NeedFilter { theme_ids: vec![1, 2], ..Default::default() },
            NeedFilter { submitted_after: at(3, 2, 0), ..Default::default() },
            NeedFilter { submitted_before: at(3, 1, 1), ..Default::default() },
        ];
        for filter in &from_needs {
            assert_eq!(Tally::answering(filter, &public, None), None, "{filter:?}");
        }
        assert_eq!(Tally::answering(&themed, &public, Some(Theme)), None);
        assert_eq!(Tally::answering(&themed, &public, Some(SubmittedMonth)), None);
        assert_eq!(Tally::answering(&months, &public, Some(Theme)), None);
    }

    #[test]
    fn a_month_starts_at_its_first_instant() {
        assert_eq!(month_start(instant(3, 1, 0)).as_deref(), Some("2026-03"));
        assert_eq!(month_start(instant(3, 1, 1)), None);
        assert_eq!(month_start(instant(3, 2, 0)), None);
        let late = instant(3, 1, 0) + chrono::Duration::nanoseconds(1);
        assert_eq!(month_start(late), None);
    }
}
