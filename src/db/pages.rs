//! Pages of the children of many parents in one statement: the rows of a table whose parent
//! column is among a set of parents, each parent's rows ordered by `id`, cut to one page (and one
//! row more, to tell whether more follow) with `ROW_NUMBER() OVER (PARTITION BY parent ...)`,
//! after and before keyset cursors on `id`. Both SQLite and PostgreSQL run it; a page of a
//! parent with a million children reads its page, not the million.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, Statement, Value};

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

fn placeholder(backend: DatabaseBackend, values: &[Value]) -> String {
    match backend {
        DatabaseBackend::Postgres => format!("${}", values.len()),
        _ => "?".to_owned(),
    }
}

/// `IN (...)` over `parents`, binding each.
fn in_list(backend: DatabaseBackend, values: &mut Vec<Value>, parents: &[i32]) -> String {
    let mut list = Vec::with_capacity(parents.len());
    for parent in parents {
        values.push((*parent).into());
        list.push(placeholder(backend, values));
    }
    format!("({})", list.join(", "))
}

/// Up to `window.size + 1` rows of `E` (the entity of `kind`'s table) per parent, in the
/// window's direction of travel: ascending ids, or descending when read from the end.
pub async fn children<E: EntityTrait>(
    db: &impl ConnectionTrait,
    kind: Children,
    parents: &[i32],
    window: &KeyWindow,
) -> Result<Vec<E::Model>, DbErr>
where
    E::Model: FromQueryResult,
{
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let table = E::default().table_name().to_owned();
    let (_, parent) = kind.table_and_parent();
    let direction = if window.from_end { "DESC" } else { "ASC" };
    let mut values = Vec::new();
    let mut sql = format!(
        "SELECT * FROM (SELECT t.*, ROW_NUMBER() OVER (PARTITION BY t.{parent} ORDER BY t.id {direction}) AS page_row \
         FROM {table} t WHERE t.{parent} IN {}",
        in_list(backend, &mut values, parents)
    );
    if let Some(after) = window.after {
        values.push(after.into());
        sql.push_str(&format!(" AND t.id > {}", placeholder(backend, &values)));
    }
    if let Some(before) = window.before {
        values.push(before.into());
        sql.push_str(&format!(" AND t.id < {}", placeholder(backend, &values)));
    }
    values.push(i64::try_from(window.size + 1).unwrap_or(i64::MAX).into());
    sql.push_str(&format!(
        ") p WHERE p.page_row <= {} ORDER BY p.{parent}, p.id {direction}",
        placeholder(backend, &values)
    ));
    E::find().from_raw_sql(Statement::from_sql_and_values(backend, sql, values)).all(db).await
}

#[derive(FromQueryResult)]
struct ParentCount {
    parent: i32,
    n: i64,
}

/// How many children of `kind` each parent has, in one `GROUP BY`; parents without any are
/// left out.
pub async fn counts(
    db: &impl ConnectionTrait,
    kind: Children,
    parents: &[i32],
) -> Result<HashMap<i32, i64>, DbErr> {
    if parents.is_empty() {
        return Ok(HashMap::new());
    }
    let (table, parent) = kind.table_and_parent();
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    let sql = format!(
        "SELECT {parent} AS parent, COUNT(*) AS n FROM {table} WHERE {parent} IN {} GROUP BY {parent}",
        in_list(backend, &mut values, parents)
    );
    let rows =
        ParentCount::find_by_statement(Statement::from_sql_and_values(backend, sql, values)).all(db).await?;
    Ok(rows.into_iter().map(|row| (row.parent, row.n)).collect())
}
