//! Full-text search, the one part of a need's statements written by hand: sea-query knows neither
//! database's full-text functions and operators. SQLite searches an FTS5 table (`need_fts`) with
//! prefix terms, as FTS5 has no Norwegian stemmer; PostgreSQL a `tsvector` in the narrow table
//! `need_search`, stemmed by the `norwegian` configuration. Both give each match a `rank`, lower
//! being better. Only letters and digits of a search reach here (`domain::needs::search_words`,
//! `content_words`), so no word is query syntax.

use std::collections::HashMap;

use entity::{enums::NeedStatus, need};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, Iterable,
    QueryFilter,
    sea_query::{Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};

use super::{N, list::Window, n};
use crate::{
    db::sql,
    domain::needs::{is_open, is_published},
};

/// The best-ranked search matches a relevance page is first looked for among: the matches
/// within the page's keyset, from the end the page is read from, at most `limit`.
pub(super) struct Candidates<'a> {
    pub limit: usize,
    pub window: &'a Window,
}

/// Whether a need matches when it has every word, or any.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Terms {
    All,
    Any,
}

/// `SELECT id, rank` of the needs matching `words`, from the search index alone (the rows of
/// `need` are not read).
fn matches(backend: DatabaseBackend, words: &[String], terms: Terms) -> SelectStatement {
    let mut select = Query::select();
    match backend {
        DatabaseBackend::Postgres => {
            // Every word matched as a prefix (`:*`).
            let operator = if terms == Terms::All { " & " } else { " | " };
            let query = words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(operator);
            select
                .expr_as(Expr::col(("m", "need_id")), "id")
                // Hand-written: the rank negated, so lower is better (sea-query has no unary minus).
                .expr_as(Expr::cust("-ts_rank(m.search, q)"), "rank")
                .from_as("need_search", "m")
                // Hand-written: the configuration is a `regconfig` literal; a bound text is not one.
                .from_function(Func::cust("to_tsquery").arg(Expr::cust("'norwegian'")).arg(query), "q")
                // Hand-written: the full-text match, an operator sea-query has only as a custom one.
                .and_where(Expr::cust("m.search @@ q"));
        }
        _ => {
            // Every word a quoted prefix term ("sjukeheim"*); FTS5 joins terms with AND unless told OR.
            let operator = if terms == Terms::All { " " } else { " OR " };
            let query = words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(operator);
            select
                // Hand-written: the FTS5 table's implicit `rowid` (the need's id), unquoted.
                .expr_as(Expr::cust("rowid"), "id")
                // Hand-written: FTS5's `bm25` takes the table itself and the columns' weights
                // (title, question, background).
                .expr_as(Expr::cust("bm25(need_fts, 10.0, 5.0, 1.0)"), "rank")
                .from("need_fts")
                // Hand-written: the full-text match; sea-query has no `MATCH`.
                .and_where(Expr::cust_with_values("need_fts MATCH ?", [query]));
        }
    }
    select
}

/// Joins the matches of every word to `need n` as `s` (`s.id`, `s.rank`). With `candidates`, the
/// matches are ranked in the index and cut before the join: the rows of `need` are read for
/// those few, not for every match.
pub(super) fn join(
    select: &mut SelectStatement,
    backend: DatabaseBackend,
    words: &[String],
    candidates: Option<&Candidates<'_>>,
) {
    let all = matches(backend, words, Terms::All);
    let matched = match candidates {
        None => all,
        Some(candidates) => {
            let mut cut = Query::select();
            cut.columns(["id", "rank"]).from_subquery(all, "c");
            if let Some(keyset) =
                super::list::keyset(Expr::col("rank"), Expr::col("id"), false, candidates.window)
            {
                cut.cond_where(keyset);
            }
            let order = if candidates.window.from_end { Order::Desc } else { Order::Asc };
            cut.order_by("rank", order.clone()).order_by("id", order).limit(sql::limit(candidates.limit));
            cut
        }
    };
    select.join_subquery(
        JoinType::InnerJoin,
        matched,
        "s",
        Expr::col(("s", "id")).equals((N, need::Column::Id)),
    );
}

/// Needs like the given text (for duplicate suggestions): published, open, best match first.
/// Any word may match; the strongest matches share most words.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn similar(
    db: &impl ConnectionTrait,
    words: Vec<String>,
    except: i32,
    limit: u64,
) -> Result<Vec<need::Model>, DbErr> {
    if words.is_empty() {
        return Ok(Vec::new());
    }
    // The statuses of needs that are no longer (or not yet) anyone's to join, from the domain.
    let closed = NeedStatus::iter().filter(|status| !(is_published(*status) && is_open(*status)));
    let select = Query::select()
        .expr_as(n(need::Column::Id), "id")
        .from_as(need::Entity, N)
        .join_subquery(
            JoinType::InnerJoin,
            matches(db.get_database_backend(), &words, Terms::Any),
            "s",
            Expr::col(("s", "id")).equals((N, need::Column::Id)),
        )
        .and_where(n(need::Column::Id).ne(except))
        .and_where(n(need::Column::Status).is_not_in(closed))
        .order_by(("s", "rank"), Order::Asc)
        .order_by((N, need::Column::Id), Order::Asc)
        .limit(sql::limit(limit))
        .to_owned();
    #[derive(FromQueryResult)]
    struct Id {
        id: i32,
    }
    let ids: Vec<i32> = Id::find_by_statement(db.get_database_backend().build(&select))
        .all(db)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: HashMap<i32, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    Ok(ids.into_iter().filter_map(|id| rows.remove(&id)).collect())
}
