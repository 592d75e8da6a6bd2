//! A page of needs in an order, read in SQL by keyset: the cursor holds the sort value and id of
//! the row before the page, and rows are fetched with a row-value comparison `(key, id) < (?, ?)`,
//! so inserts never shift a page. A relevance page of a one-word search is first looked for among
//! the word's best entries in the index from the cursor on. Also the history of the needs a
//! filter matches, in the order it was recorded (`events`).

use chrono::{DateTime, Utc};
use entity::{need, need_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait,
    sea_query::{Cond, Condition, Expr, ExprTrait, Func, Order, Query, SelectStatement},
};

use super::{
    N, NeedFilter, Visibility, filter, n,
    rows::{need_with_theme_ids, with_theme_ids},
    search::{self, Found, Stream},
};
use crate::db::sql;

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
    Rank(i64),
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

/// A page request in SQL terms.
pub struct Window {
    pub size: usize,
    pub from_end: bool,
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
}

/// How many of the best entries from the cursor on a relevance page of a one-word search is first
/// looked for among (see `search::Stream`).
pub const CANDIDATES: usize = 200;

/// The sort column of an order, and whether it runs descending.
fn sort_column(order: NeedOrder) -> (Expr, bool) {
    match order {
        NeedOrder::Newest => (n(need::Column::CreatedAt), true),
        NeedOrder::Oldest => (n(need::Column::CreatedAt), false),
        NeedOrder::Updated => (n(need::Column::UpdatedAt), true),
        NeedOrder::Reach => (n(need::Column::CosignerCount), true),
        NeedOrder::Relevance => (Expr::col(("s", "rank")), false),
    }
}

/// Keyset conditions: rows strictly after the window's `after` and before its `before`, in the
/// order of `(column, id)`; `None` for a window open at both ends.
pub(super) fn keyset(column: Expr, id: Expr, descending: bool, window: &Window) -> Option<Condition> {
    let row = || Expr::tuple([column.clone(), id.clone()]);
    let at = |cursor: &Cursor| {
        let key = match cursor.key {
            CursorKey::Time(at) => Expr::val(at),
            CursorKey::Count(count) => Expr::val(count),
            CursorKey::Rank(rank) => Expr::val(rank),
        };
        Expr::tuple([key, Expr::val(cursor.id)])
    };
    let after =
        window.after.as_ref().map(|after| if descending { row().lt(at(after)) } else { row().gt(at(after)) });
    let before = window
        .before
        .as_ref()
        .map(|before| if descending { row().gt(at(before)) } else { row().lt(at(before)) });
    (after.is_some() || before.is_some()).then(|| Cond::all().add_option(after).add_option(before))
}

/// The columns of a page's sort values.
const SORT_TIME: &str = "sort_time";
const SORT_COUNT: &str = "sort_count";
const SORT_RANK: &str = "sort_rank";

/// The statement of one page (and one row more, to tell whether more follow). The rows come
/// with their sort values (the one of the order, the others NULL), so the page is one statement.
fn page(
    backend: DatabaseBackend,
    filter: &NeedFilter,
    found: Option<&Found>,
    visibility: &Visibility,
    order: NeedOrder,
    window: &Window,
    stream: Option<&Stream<'_>>,
) -> SelectStatement {
    let (column, descending) = sort_column(order);
    // Each sort value has the type it is read back as on both databases, NULL included.
    let typed = |expr: Expr, ty: &'static str| Expr::from(Func::cast_as(expr, ty));
    let time_type = if backend == DatabaseBackend::Postgres { "timestamptz" } else { "text" };
    let (time, count, rank) = match order {
        NeedOrder::Newest | NeedOrder::Oldest | NeedOrder::Updated => {
            (column.clone(), typed(Expr::null(), "bigint"), typed(Expr::null(), "bigint"))
        }
        NeedOrder::Reach => {
            (typed(Expr::null(), time_type), typed(column.clone(), "bigint"), typed(Expr::null(), "bigint"))
        }
        NeedOrder::Relevance => {
            (typed(Expr::null(), time_type), typed(Expr::null(), "bigint"), typed(column.clone(), "bigint"))
        }
    };
    let mut select = need_with_theme_ids(backend);
    select
        .expr_as(time, SORT_TIME)
        .expr_as(count, SORT_COUNT)
        .expr_as(rank, SORT_RANK)
        .from_as(need::Entity, N);
    filter::restrict(&mut select, filter, found, visibility, stream);
    if let Some(keyset) = keyset(column.clone(), n(need::Column::Id), descending, window) {
        select.cond_where(keyset);
    }
    // Reading from the end runs the order backwards and turns the page round afterwards.
    let direction = if descending == window.from_end { Order::Asc } else { Order::Desc };
    select
        .order_by_expr(column, direction.clone())
        .order_by_expr(n(need::Column::Id), direction)
        .limit(sql::one_more(window.size));
    select
}

/// One page of needs and whether there are more in the direction of travel.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    order: NeedOrder,
    window: &Window,
) -> Result<(Vec<Listed>, bool), DbErr> {
    let order = order.effective(filter);
    let backend = db.get_database_backend();
    let found = search::resolve(db, filter).await?;
    let found = found.as_ref();
    let one_word = found.and_then(Found::one_word).is_some();
    let mut rows = if order == NeedOrder::Relevance && one_word {
        // A broad word matches a hundred thousand needs: look for the page among the few
        // hundred best entries from the cursor on first. When they fill it (with one to spare),
        // no other match can come before them; when they do not (strict filters, the last
        // page), the page is read from all the entries from the cursor on.
        let first = Stream { limit: Some(CANDIDATES.max(4 * (window.size + 1))), window };
        let rows =
            db.query_all(&page(backend, filter, found, visibility, order, window, Some(&first))).await?;
        if rows.len() > window.size {
            rows
        } else {
            let all = Stream { limit: None, window };
            db.query_all(&page(backend, filter, found, visibility, order, window, Some(&all))).await?
        }
    } else {
        db.query_all(&page(backend, filter, found, visibility, order, window, None)).await?
    };
    let more = rows.len() > window.size;
    rows.truncate(window.size);
    if window.from_end {
        rows.reverse();
    }
    let mut listed = Vec::with_capacity(rows.len());
    for row in rows {
        let (need, theme_ids) = with_theme_ids(&row)?;
        // Only the order's own sort value is read: the others are NULL.
        let key = match order {
            NeedOrder::Newest | NeedOrder::Oldest | NeedOrder::Updated => {
                sql::nullable(&row, SORT_TIME)?.map(CursorKey::Time)
            }
            NeedOrder::Reach => sql::nullable(&row, SORT_COUNT)?.map(CursorKey::Count),
            NeedOrder::Relevance => sql::nullable(&row, SORT_RANK)?.map(CursorKey::Rank),
        };
        if let Some(key) = key {
            listed.push(Listed { cursor: Cursor { order, key, id: need.id }, need, theme_ids });
        }
    }
    Ok((listed, more))
}

/// A page of need events in the order they were recorded (by id): those after the event `after`
/// and at or after `since`, of the needs that match `filter` and that the viewer may see; and
/// whether more follow. This is how a subscriber catches up after a reconnect.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn events(
    db: &impl ConnectionTrait,
    filter: &NeedFilter,
    visibility: &Visibility,
    after: Option<i32>,
    since: Option<DateTime<Utc>>,
    size: usize,
) -> Result<(Vec<need_event::Model>, bool), DbErr> {
    let found = search::resolve(db, filter).await?;
    let mut matching = Query::select();
    matching.column((N, need::Column::Id)).from_as(need::Entity, N);
    filter::restrict(&mut matching, filter, found.as_ref(), visibility, None);
    let mut rows = need_event::Entity::find()
        .filter(need_event::Column::NeedId.in_subquery(matching))
        .apply_if(after, |events, after| events.filter(need_event::Column::Id.gt(after)))
        .apply_if(since, |events, since| events.filter(need_event::Column::OccurredAt.gte(since)))
        .order_by_asc(need_event::Column::Id)
        .limit(sql::one_more(size))
        .all(db)
        .await?;
    let more = rows.len() > size;
    rows.truncate(size);
    Ok((rows, more))
}
