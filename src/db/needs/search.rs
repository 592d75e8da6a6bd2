//! Search on the hub's own index, the same on both databases: `need_term` holds each term (a
//! stem, see the `words` crate) of each need with its rank there, lower being better, and
//! `search_term` how many needs have each term.
//!
//! A search first finds each word's terms (`resolve`): its stem, and up to [`PREFIX_TERMS`] more
//! that start with the word as typed, those most needs have first. A need matches when it has a
//! term of every word; its rank is the sum over the words of its best term's rank. A relevance
//! page of a one-word search reads each term's entries best first from the index `(term, rank,
//! need_id)`, from where the page before ended, merged into one stream (`Stream`): the first
//! page of a word a hundred thousand needs share reads a few hundred entries, and so does a page
//! deep in the results.

use std::collections::HashMap;

use entity::{enums::NeedStatus, need, need_term, search_term};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, QueryFilter,
    sea_query::{
        Alias, Asterisk, Cond, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement, UnionType,
    },
};

use super::{N, NeedFilter, list::Window, n};
use crate::{
    db::sql,
    domain::needs::{is_open, is_published},
};

/// How many terms that start with a word as typed a search looks for besides the word's stem.
pub const PREFIX_TERMS: u64 = 16;

/// How many of a term's best entries `similar` reads.
const SIMILAR_PER_TERM: u64 = 200;

/// What a search's words find: each word's terms. A word without a term finds nothing, and so
/// does the search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    words: Vec<Vec<String>>,
}

impl Found {
    /// Whether some need may match: every word has a term.
    fn finds_any(&self) -> bool {
        !self.words.is_empty() && self.words.iter().all(|terms| !terms.is_empty())
    }

    /// The terms of a one-word search, whose relevance pages are read as a [`Stream`].
    pub(super) fn one_word(&self) -> Option<&[String]> {
        match self.words.as_slice() {
            [terms] if !terms.is_empty() => Some(terms),
            _ => None,
        }
    }
}

#[derive(FromQueryResult)]
struct WordTerm {
    word: i32,
    term: String,
}

/// The terms each word of the filter's search finds, in one statement; `None` without a search.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn resolve(db: &impl ConnectionTrait, filter: &NeedFilter) -> Result<Option<Found>, DbErr> {
    if filter.search.is_empty() {
        return Ok(None);
    }
    let sought = words::sought(&filter.search);
    // A search of function words alone is one word without a term: it finds nothing.
    let mut found = Found { words: vec![Vec::new(); sought.len().max(1)] };
    let selects = sought.iter().zip(0i32..).map(|(word, i)| {
        const ST: &str = "st";
        let term = || Expr::col((ST, search_term::Column::Term));
        // Every string that starts with the prefix lies below the prefix and the last code point
        // (terms compare in code point order).
        let end = format!("{}{}", word.prefix, char::MAX);
        // A term's count is the sum of its rows (PostgreSQL spreads it over slots).
        let needs = || Expr::from(Func::sum(Expr::col((ST, search_term::Column::Needs))));
        let mut select = Query::select();
        select
            .expr_as(Expr::val(i), "word")
            .expr_as(term(), "term")
            .from_as(search_term::Entity, ST)
            .cond_where(
                Cond::any()
                    .add(term().eq(word.stem.as_str()))
                    .add(term().gte(word.prefix.as_str()).and(term().lt(end))),
            )
            .group_by_col((ST, search_term::Column::Term))
            .and_having(needs().gt(0))
            .order_by_expr(term().eq(word.stem.as_str()), Order::Desc)
            .order_by_expr(needs(), Order::Desc)
            .order_by((ST, search_term::Column::Term), Order::Asc)
            .limit(PREFIX_TERMS + 1);
        select
    });
    if let Some(union) = union_all(selects) {
        let backend = db.get_database_backend();
        for row in WordTerm::find_by_statement(backend.build(&union)).all(db).await? {
            if let Some(terms) = usize::try_from(row.word).ok().and_then(|w| found.words.get_mut(w)) {
                terms.push(row.term);
            }
        }
    }
    Ok(Some(found))
}

/// The selects as one `UNION ALL`, each wrapped as a subquery so that its own order and limit
/// hold on both databases (SQLite allows neither on a compound's parts). `None` for none.
fn union_all(selects: impl IntoIterator<Item = SelectStatement>) -> Option<SelectStatement> {
    let mut wrapped = selects.into_iter().enumerate().map(|(i, select)| {
        Query::select().column(Asterisk).from_subquery(select, Alias::new(format!("u{i}"))).to_owned()
    });
    let mut union = wrapped.next()?;
    for select in wrapped {
        union.union(UnionType::All, select);
    }
    Some(union)
}

/// `SELECT need_id, MIN(rank) AS rank` of the needs that have one of `terms`, each once with its
/// best term's rank.
fn best_of(terms: &[String]) -> SelectStatement {
    Query::select()
        .column(need_term::Column::NeedId)
        .expr_as(Func::min(Expr::col(need_term::Column::Rank)), "rank")
        .from(need_term::Entity)
        .and_where(need_term::Column::Term.is_in(terms.iter().map(String::as_str)))
        .group_by_col(need_term::Column::NeedId)
        .to_owned()
}

/// `SELECT id, rank` of every need that matches: a term of every word, ranked by the sum of
/// each word's best. Read from the index alone (the rows of `need` are not).
fn matches(found: &Found) -> SelectStatement {
    let mut select = Query::select();
    if !found.finds_any() {
        // Nothing matches: an empty set of the same shape.
        return select
            .expr_as(Expr::val(0), "id")
            .expr_as(Expr::val(0), "rank")
            .and_where(Expr::val(1).eq(0))
            .to_owned();
    }
    let word = |i: usize| format!("w{i}");
    let mut rank: Option<Expr> = None;
    for (i, terms) in found.words.iter().enumerate() {
        let this = Expr::col((Alias::new(word(i)), Alias::new("rank")));
        rank = Some(match rank {
            None => this,
            Some(before) => before.add(this),
        });
        if i == 0 {
            select.from_subquery(best_of(terms), Alias::new(word(0)));
        } else {
            select.join_subquery(
                JoinType::InnerJoin,
                best_of(terms),
                Alias::new(word(i)),
                Expr::col((Alias::new(word(i)), need_term::Column::NeedId))
                    .equals((Alias::new(word(0)), need_term::Column::NeedId)),
            );
        }
    }
    select.expr_as(Expr::col((Alias::new(word(0)), need_term::Column::NeedId)), "id");
    if let Some(rank) = rank {
        select.expr_as(rank, "rank");
    }
    select
}

/// A relevance page of a one-word search read from the index: the entries of each of the word's
/// terms within the page's keyset, in the order the page is read in, merged into one stream and
/// cut after `limit` entries (`None`: all of them); of those, each need at its best term's rank
/// (an entry of a worse term is left out, so a need already shown does not come again).
///
/// Every need whose best entry is in the stream comes before every need whose best entry is not:
/// so when the needs of the stream fill the page, no other need belongs on it. When they do not
/// (strict filters, the last page), the page is read again from the whole stream.
pub(super) struct Stream<'a> {
    pub limit: Option<usize>,
    pub window: &'a Window,
}

impl Stream<'_> {
    fn select(&self, terms: &[String]) -> SelectStatement {
        const T: &str = "t";
        let order = if self.window.from_end { Order::Desc } else { Order::Asc };
        let limit = self.limit.map(sql::limit);
        let arms = terms.iter().map(|term| {
            let mut arm = Query::select();
            arm.column((T, need_term::Column::NeedId))
                .column((T, need_term::Column::Rank))
                .from_as(need_term::Entity, T)
                .and_where(Expr::col((T, need_term::Column::Term)).eq(term.as_str()));
            if let Some(keyset) = super::list::keyset(
                Expr::col((T, need_term::Column::Rank)),
                Expr::col((T, need_term::Column::NeedId)),
                false,
                self.window,
            ) {
                arm.cond_where(keyset);
            }
            if let Some(limit) = limit {
                arm.order_by((T, need_term::Column::Rank), order.clone())
                    .order_by((T, need_term::Column::NeedId), order.clone())
                    .limit(limit);
            }
            arm
        });
        let Some(mut entries) = union_all(arms) else { return matches(&Found::default()) };
        if let Some(limit) = limit {
            entries.order_by("rank", order.clone()).order_by("need_id", order).limit(limit);
        }
        const E: &str = "e";
        let mut stream = Query::select();
        stream
            .expr_as(Expr::col((E, "need_id")), "id")
            .expr_as(Expr::col((E, "rank")), "rank")
            .from_subquery(entries, E);
        if terms.len() > 1 {
            // Each need once, at its best term's rank.
            const B: &str = "b";
            let best = Query::select()
                .expr(Func::min(Expr::col((B, need_term::Column::Rank))))
                .from_as(need_term::Entity, B)
                .and_where(Expr::col((B, need_term::Column::NeedId)).equals((E, "need_id")))
                .and_where(Expr::col((B, need_term::Column::Term)).is_in(terms.iter().map(String::as_str)))
                .to_owned();
            stream
                .distinct()
                .and_where(Expr::col((E, "rank")).eq(Expr::SubQuery(None, Box::new(best.into()))));
        }
        stream
    }
}

/// Joins the needs that match to `need n` as `s` (`s.id`, `s.rank`): those of `stream` for a
/// one-word search's relevance page, otherwise every match.
pub(super) fn join(select: &mut SelectStatement, found: &Found, stream: Option<&Stream<'_>>) {
    let matched = match (stream, found.one_word()) {
        (Some(stream), Some(terms)) => stream.select(terms),
        _ => matches(found),
    };
    select.join_subquery(
        JoinType::InnerJoin,
        matched,
        "s",
        Expr::col(("s", "id")).equals((N, need::Column::Id)),
    );
}

/// The index rows of a need's title, question and background.
pub fn terms_of(need_id: i32, title: &str, question: &str, background: &str) -> Vec<need_term::ActiveModel> {
    words::need_terms(title, question, background)
        .into_iter()
        .map(|t| need_term::ActiveModel {
            need_id: sea_orm::Set(need_id),
            rank: sea_orm::Set(t.rank()),
            term: sea_orm::Set(t.term),
        })
        .collect()
}

/// Indexes a new need (in the transaction that writes it).
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn index(db: &impl ConnectionTrait, need: &need::Model) -> Result<(), DbErr> {
    let rows = terms_of(need.id, &need.title, &need.question, &need.background);
    if !rows.is_empty() {
        need_term::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Indexes an edited need again, if its title, question or background changed.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn reindex(
    db: &impl ConnectionTrait,
    before: &need::Model,
    after: &need::Model,
) -> Result<(), DbErr> {
    if (&before.title, &before.question, &before.background)
        == (&after.title, &after.question, &after.background)
    {
        return Ok(());
    }
    need_term::Entity::delete_many().filter(need_term::Column::NeedId.eq(after.id)).exec(db).await?;
    index(db, after).await
}

/// Needs like the given text (for duplicate suggestions): published, open, best match first.
/// Any word may match; the strongest matches share most words, each read among its term's best
/// [`SIMILAR_PER_TERM`] needs.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn similar(
    db: &impl ConnectionTrait,
    words: Vec<String>,
    except: i32,
    limit: u64,
) -> Result<Vec<need::Model>, DbErr> {
    let mut terms: Vec<String> = words.iter().map(|w| words::stem(&w.to_lowercase())).collect();
    terms.sort_unstable();
    terms.dedup();
    const T: &str = "t";
    let best = terms.iter().map(|term| {
        Query::select()
            .columns([(T, need_term::Column::NeedId), (T, need_term::Column::Rank)])
            .from_as(need_term::Entity, T)
            .and_where(Expr::col((T, need_term::Column::Term)).eq(term.as_str()))
            .order_by((T, need_term::Column::Rank), Order::Asc)
            .order_by((T, need_term::Column::NeedId), Order::Asc)
            .limit(SIMILAR_PER_TERM)
            .to_owned()
    });
    let Some(entries) = union_all(best) else { return Ok(Vec::new()) };
    // The statuses of needs that are no longer (or not yet) anyone's to join, from the domain.
    let closed = NeedStatus::iter().filter(|status| !(is_published(*status) && is_open(*status)));
    const S: &str = "s";
    let select = Query::select()
        .expr_as(n(need::Column::Id), "id")
        .from_as(need::Entity, N)
        .join_subquery(
            JoinType::InnerJoin,
            Query::select()
                .column("need_id")
                .expr_as(Func::sum(Expr::col("rank")), "rank")
                .from_subquery(entries, "e")
                .group_by_col("need_id")
                .to_owned(),
            S,
            Expr::col((S, "need_id")).equals((N, need::Column::Id)),
        )
        .and_where(n(need::Column::Id).ne(except))
        .and_where(n(need::Column::Status).is_not_in(closed))
        .order_by((S, "rank"), Order::Asc)
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

#[cfg(test)]
mod tests {
    use sea_orm::DatabaseBackend;

    use super::*;

    fn found(words: &[&[&str]]) -> Found {
        Found { words: words.iter().map(|w| w.iter().map(|t| (*t).to_owned()).collect()).collect() }
    }

    #[test]
    fn a_word_without_a_term_finds_nothing() {
        assert!(!found(&[&["barnehag"], &[]]).finds_any());
        assert!(!Found::default().finds_any());
        assert!(found(&[&["barnehag", "barnehagelær"], &["demen"]]).finds_any());
        assert_eq!(found(&[&["a", "b"]]).one_word(), Some(&["a".to_owned(), "b".to_owned()][..]));
        assert_eq!(found(&[&["a"], &["b"]]).one_word(), None);
    }

    #[test]
    fn a_stream_reads_each_term_from_the_cursor_best_first_and_keeps_a_needs_best_entry() {
        let window = Window {
            size: 20,
            from_end: false,
            after: Some(super::super::Cursor {
                order: super::super::NeedOrder::Relevance,
                key: super::super::CursorKey::Rank(-14),
                id: 7,
            }),
            before: None,
        };
        let stream = Stream { limit: Some(200), window: &window };
        for backend in [DatabaseBackend::Sqlite, DatabaseBackend::Postgres] {
            let sql = backend.build(&stream.select(&["barnehag".into(), "barnehagelær".into()])).to_string();
            assert_eq!(sql.matches("UNION ALL").count(), 1, "{sql}");
            assert_eq!(sql.matches("LIMIT 200").count(), 3, "each term and the stream: {sql}");
            assert!(sql.contains("MIN("), "a need at its best term's rank: {sql}");
            let one = backend.build(&stream.select(&["demen".into()])).to_string();
            assert!(!one.contains("MIN(") && !one.contains("DISTINCT"), "one term, each need once: {one}");
        }
    }
}
