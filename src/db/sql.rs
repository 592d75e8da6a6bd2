//! How `db/` writes SQL. Statements are sea-query's (`sea_orm::sea_query`), built for the
//! connection's backend, so placeholders are numbered one way everywhere (`$1` on PostgreSQL, `?`
//! on SQLite) and every value, a status included, is bound. Hand-written SQL is kept to what
//! sea-query cannot say (full-text search, `AT TIME ZONE`), each piece with a comment saying why.
//! This module holds what several areas build alike, and reads columns of a row where sea-orm's
//! own reading costs too much (`nullable`).

use sea_orm::{
    ActiveModelTrait, ColIdx, DatabaseBackend, DbErr, EntityTrait, IdenStatic, Iterable, QueryResult,
    TryGetable,
    sea_query::{Expr, Func, InsertStatement, Query, SelectStatement},
    sqlx::{Row, ValueRef},
};

/// A `LIMIT` of `rows`, at most `i64::MAX`: the drivers bind a limit as a signed integer (and
/// panic on a larger one).
pub fn limit(rows: impl TryInto<u64>) -> u64 {
    let most = i64::MAX.unsigned_abs();
    rows.try_into().map_or(most, |rows| rows.min(most))
}

/// A limit one row past a page of `size`, so the page tells whether more rows follow.
pub fn one_more(size: usize) -> u64 {
    limit(size.saturating_add(1))
}

/// The ids in `ids` (a column of integers) aggregated into one text ("3,7"), so a row brings its
/// children's ids without a statement of its own; [`parse_ids`] reads them back.
pub fn id_list(backend: DatabaseBackend, ids: Expr) -> Expr {
    match backend {
        DatabaseBackend::Postgres => {
            Func::cust("string_agg").arg(Func::cast_as(ids, "text")).arg(Expr::Constant(",".into())).into()
        }
        _ => Func::cust("group_concat").arg(ids).into(),
    }
}

/// A subquery that gives one value, as a column of the outer statement.
pub fn scalar(select: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(select.into()))
}

/// The ids of an [`id_list`] column, in the order the database aggregated them; none for NULL.
pub fn parse_ids(list: Option<&str>) -> Vec<i32> {
    list.unwrap_or_default().split(',').filter_map(|id| id.trim().parse().ok()).collect()
}

/// An insert of `rows` (active models that set the same columns), each with `column` given by
/// `value` whatever the model holds there: rows of a record that the same statement inserts name
/// it by an expression (`(SELECT id FROM n)`, see `needs::write::insert_new`). `None` for no rows.
pub fn insert_with<A: ActiveModelTrait>(
    rows: &[A],
    column: <A::Entity as EntityTrait>::Column,
    value: &Expr,
) -> Option<InsertStatement> {
    let first = rows.first()?;
    let columns: Vec<_> = <A::Entity as EntityTrait>::Column::iter()
        .filter(|c| c.as_str() == column.as_str() || first.get(*c).is_set())
        .collect();
    let mut insert = Query::insert();
    insert.into_table(A::Entity::default()).columns(columns.iter().copied());
    for row in rows {
        insert.values_panic(columns.iter().map(|c| match row.get(*c).into_value() {
            _ if c.as_str() == column.as_str() => value.clone(),
            Some(set) => Expr::val(set),
            // Every row sets what the first does; a row that does not takes the column's default.
            None => Expr::cust("DEFAULT"),
        }));
    }
    Some(insert)
}

/// A column of a row (by name or position) that is never NULL.
pub fn required<T: TryGetable, I: ColIdx>(row: &QueryResult, column: I) -> Result<T, DbErr> {
    T::try_get_by(row, column).map_err(DbErr::from)
}

/// A column of a row (by name or position), NULL as `None`. sea-orm's own `Option<T>` describes
/// every NULL it meets in a formatted string, then drops it: some 500 strings for a dashboard
/// page of 50 needs, about 5% of its instructions.
pub fn nullable<T: TryGetable, I: ColIdx>(row: &QueryResult, column: I) -> Result<Option<T>, DbErr> {
    match is_null(row, column) {
        Some(true) => Ok(None),
        Some(false) => required(row, column).map(Some),
        // A column the row lacks: sea-orm's reading says so.
        None => Option::<T>::try_get_by(row, column).map_err(DbErr::from),
    }
}

/// Whether the column holds NULL; `None` when the row has no such column.
fn is_null<I: ColIdx>(row: &QueryResult, column: I) -> Option<bool> {
    if let Some(row) = row.try_as_pg_row() {
        return row.try_get_raw(column.as_sqlx_postgres_index()).ok().map(|value| value.is_null());
    }
    let row = row.try_as_sqlite_row()?;
    row.try_get_raw(column.as_sqlx_sqlite_index()).ok().map(|value| value.is_null())
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, Query, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn an_id_list_aggregates_as_text_on_both_databases() {
        let select =
            |backend| Query::select().expr(id_list(backend, Expr::col(("t", "id")))).from("t").to_owned();
        assert_eq!(
            select(DatabaseBackend::Postgres).to_string(PostgresQueryBuilder),
            r#"SELECT string_agg(CAST("t"."id" AS text), ',') FROM "t""#
        );
        assert_eq!(
            select(DatabaseBackend::Sqlite).to_string(SqliteQueryBuilder),
            r#"SELECT group_concat("t"."id") FROM "t""#
        );
    }

    #[test]
    fn id_lists_read_back_without_the_empty_or_malformed() {
        assert_eq!(parse_ids(Some("3,7, 11")), [3, 7, 11]);
        assert_eq!(parse_ids(Some("")), Vec::<i32>::new());
        assert_eq!(parse_ids(None), Vec::<i32>::new());
        assert_eq!(parse_ids(Some("4,x")), [4]);
    }

    #[test]
    fn a_page_reads_one_row_more_within_what_a_driver_binds() {
        assert_eq!(one_more(50), 51);
        assert_eq!(one_more(usize::MAX), 9_223_372_036_854_775_807);
        assert_eq!(limit(u64::MAX), 9_223_372_036_854_775_807);
    }
}
