//! Pages of the children of many parents in one statement: the rows of a table whose parent
//! column is among a set of parents, each parent's rows ordered by `id`, cut to one page (and one
//! row more, to tell whether more follow) with `ROW_NUMBER() OVER (PARTITION BY parent ...)`,
//! after and before keyset cursors on `id` (and, for an organisation's children, the kinds asked
//! for). Both SQLite and PostgreSQL run it; a page of a
//! parent with a million children reads its page, not the million.

use std::collections::HashMap;

use entity::{
    api_token, commission_event, membership, milestone, need, need_cosign, need_event, need_evidence,
    organisation, uptake,
};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryResult,
    sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, Order, Query, WindowStatement},
};

use crate::db::{organisations::read::Kinds, sql};

/// How a row of a page is read.
pub trait PageRow: Sized {
    fn read(row: &QueryResult) -> Result<Self, DbErr>;
}

/// Rows read by the reader sea-orm derives.
macro_rules! derived_page_rows {
    ($($model:path),* $(,)?) => {
        $(impl PageRow for $model {
            fn read(row: &QueryResult) -> Result<Self, DbErr> {
                <$model as FromQueryResult>::from_query_result(row, "")
            }
        })*
    };
}

derived_page_rows!(
    api_token::Model,
    commission_event::Model,
    membership::Model,
    milestone::Model,
    need::Model,
    need_event::Model,
    need_evidence::Model,
    organisation::Model,
    uptake::Model,
);

/// Co-signatures, the pages a dashboard reads most (ten for each need), read with
/// `sql::nullable`: the derived reader describes each NULL it meets in a string, which made
/// reading the rows cost about a quarter more.
impl PageRow for need_cosign::Model {
    fn read(row: &QueryResult) -> Result<Self, DbErr> {
        use need_cosign::Column;
        let name = |column: Column| sea_orm::IdenStatic::as_str(&column);
        Ok(Self {
            id: sql::required(row, name(Column::Id))?,
            need_id: sql::required(row, name(Column::NeedId))?,
            municipality_id: sql::required(row, name(Column::MunicipalityId))?,
            organisation_id: sql::nullable(row, name(Column::OrganisationId))?,
            person_id: sql::nullable(row, name(Column::PersonId))?,
            carried_from_need_id: sql::nullable(row, name(Column::CarriedFromNeedId))?,
            created_at: sql::required(row, name(Column::CreatedAt))?,
        })
    }
}

/// The kinds of children the API pages and counts: each a table and its column holding the
/// parent's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Children {
    NeedHistory,
    Cosignatures,
    Evidence,
    Duplicates,
    CommissionHistory,
    Milestones,
    Uptake,
    Memberships,
    Tokens,
    /// An organisation's children in the tree, of the kinds given (any when none).
    Organisations(Kinds),
}

impl Children {
    fn table_and_parent(self) -> (&'static str, &'static str) {
        match self {
            Self::NeedHistory => ("need_event", "need_id"),
            Self::Cosignatures => ("need_cosign", "need_id"),
            Self::Evidence => ("need_evidence", "need_id"),
            Self::Duplicates => ("need", "merged_into_id"),
            Self::CommissionHistory => ("commission_event", "commission_id"),
            Self::Milestones => ("milestone", "commission_id"),
            Self::Uptake => ("uptake", "summary_id"),
            Self::Memberships => ("membership", "person_id"),
            Self::Tokens => ("api_token", "person_id"),
            Self::Organisations(_) => ("organisation", "parent_id"),
        }
    }

    /// What a child must also meet, besides having one of the parents (`table` is the alias or
    /// name of the children's table in the statement).
    fn condition(self, table: &str) -> Option<Expr> {
        match self {
            Self::Organisations(kinds) => kinds.condition(Expr::col((Alias::new(table), Alias::new("kind")))),
            _ => None,
        }
    }
}

/// A page in SQL terms: `size` rows after `after` and before `before` (ids), read from the end
/// when `from_end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyWindow {
    pub size: usize,
    pub from_end: bool,
    pub after: Option<i64>,
    pub before: Option<i64>,
}

/// The aliases of the table read and of the page cut from it.
const T: &str = "t";
const P: &str = "p";

/// Up to `window.size + 1` rows of `E` (the entity of `kind`'s table) per parent, in the
/// window's direction of travel: ascending ids, or descending when read from the end.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn children<E: EntityTrait>(
    db: &impl ConnectionTrait,
    kind: Children,
    parents: &[i32],
    window: &KeyWindow,
) -> Result<Vec<E::Model>, DbErr>
where
    E::Model: PageRow,
{
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let (_, parent) = kind.table_and_parent();
    let parent = Alias::new(parent);
    let direction = if window.from_end { Order::Desc } else { Order::Asc };
    let mut rows = Query::select();
    rows.column((T, Asterisk))
        .expr_window_as(
            Func::cust("ROW_NUMBER"),
            WindowStatement::partition_by((T, parent.clone()))
                .order_by((T, "id"), direction.clone())
                .to_owned(),
            "page_row",
        )
        .from_as(E::default(), T)
        .and_where(Expr::col((T, parent.clone())).is_in(parents.iter().copied()))
        .and_where_option(kind.condition(T))
        .and_where_option(window.after.map(|after| Expr::col((T, "id")).gt(after)))
        .and_where_option(window.before.map(|before| Expr::col((T, "id")).lt(before)));
    let page = Query::select()
        .column(Asterisk)
        .from_subquery(rows, P)
        .and_where(Expr::col((P, "page_row")).lte(sql::one_more(window.size)))
        .order_by((P, parent), Order::Asc)
        .order_by((P, "id"), direction)
        .to_owned();
    db.query_all(&page).await?.iter().map(E::Model::read).collect()
}

#[derive(FromQueryResult)]
struct ParentCount {
    parent: i32,
    n: i64,
}

/// How many children of `kind` each parent has, in one `GROUP BY`; parents without any are
/// left out.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn counts(
    db: &impl ConnectionTrait,
    kind: Children,
    parents: &[i32],
) -> Result<HashMap<i32, i64>, DbErr> {
    if parents.is_empty() {
        return Ok(HashMap::new());
    }
    let (table, parent) = kind.table_and_parent();
    let parent = Alias::new(parent);
    let select = Query::select()
        .expr_as(Expr::col(parent.clone()), "parent")
        .expr_as(Func::count(Expr::col(Asterisk)), "n")
        .from(Alias::new(table))
        .and_where(Expr::col(parent.clone()).is_in(parents.iter().copied()))
        .and_where_option(kind.condition(table))
        .add_group_by([Expr::col(parent)])
        .to_owned();
    let rows = ParentCount::find_by_statement(db.get_database_backend().build(&select)).all(db).await?;
    Ok(rows.into_iter().map(|row| (row.parent, row.n)).collect())
}
