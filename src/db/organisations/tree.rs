//! Writing the organisation tree: every change of a parent keeps the closure in step.
//!
//! `organisation_ancestor` holds each organisation with every ancestor and with itself (depth 0),
//! so "is this under that?" and "everything under that" are one indexed look-up at any depth. It
//! is written only here, in the caller's transaction, and with a constant number of statements
//! whatever the size of the tree:
//! - [`attach`] a newly inserted organisation: its own row and its parent's rows one step further;
//! - [`reparent`] an organisation with its whole subtree: the links from the subtree to its old
//!   ancestors go, the cross product of the subtree and the new parent's ancestors comes;
//! - [`attach_pending`], the reference-data loader's bulk form of `attach`.
//!
//! On PostgreSQL each of them first locks the closure table against other writers (readers go
//! on): a move reads the subtree and the new parent's ancestors and then rewrites them, and two
//! moves, or a move and an addition under the moved subtree, interleaved at READ COMMITTED would
//! leave stale rows or a cycle. Tree writes are rare (reference data, a coordinator's edit), so
//! serialising them costs nothing that matters. The lock is an unprepared statement, which `Db`'s
//! statement counter does not see. SQLite's writers are serialised already (`Db::begin_write`).

use entity::{organisation, organisation_ancestor};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult,
    sea_query::{
        Alias, Asterisk, Condition, Expr, ExprTrait, Func, InsertStatement, JoinType, OnConflict, Query,
        UnionType,
    },
};

use crate::{
    db::{WriteError, sql::scalar},
    domain::organisations::{MAX_DEPTH, fits},
};

/// Why a change of the tree was refused, apart from database faults.
#[derive(Debug)]
pub enum TreeError {
    /// The new parent is the organisation itself or inside its subtree.
    Cycle,
    /// The tree would be deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The organisation (`field` "organisation") or its parent ("parent") is not in the tree.
    NotFound {
        field: &'static str,
    },
    Db(DbErr),
}

impl From<DbErr> for TreeError {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

impl From<TreeError> for WriteError {
    fn from(err: TreeError) -> Self {
        match err {
            TreeError::Cycle => Self::Invalid {
                field: "parent",
                message: "an organisation cannot move under itself or under one of its own".into(),
            },
            TreeError::TooDeep => Self::Invalid {
                field: "parent",
                message: format!("organisations are at most {MAX_DEPTH} levels below the top"),
            },
            TreeError::NotFound { field } => Self::NotFound { field },
            TreeError::Db(err) => Self::Db(err),
        }
    }
}

/// `organisation_ancestor` under a name of its own, for statements that read it more than once.
fn closure(alias: &str) -> (organisation_ancestor::Entity, Alias) {
    (organisation_ancestor::Entity, Alias::new(alias))
}

/// An insert of closure rows (organisation, ancestor, depth).
fn insert_closure() -> InsertStatement {
    Query::insert()
        .into_table(organisation_ancestor::Entity)
        .columns([
            organisation_ancestor::Column::OrganisationId,
            organisation_ancestor::Column::AncestorId,
            organisation_ancestor::Column::Depth,
        ])
        .to_owned()
}

/// Takes the tree writers' lock on PostgreSQL (see the module docs). A writer that checks the
/// tree or a bound on it before it writes (`write.rs`) takes it first, so its check still holds
/// when it writes; taking it again in the same transaction is free.
pub async fn lock(conn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if conn.get_database_backend() == DatabaseBackend::Postgres {
        // sea-query has no LOCK TABLE. EXCLUSIVE lets plain reads go on and makes every other
        // writer of the closure wait for this transaction.
        conn.execute_unprepared("LOCK TABLE organisation_ancestor IN EXCLUSIVE MODE").await?;
    }
    Ok(())
}

/// Puts a newly inserted organisation (whose `parent_id` is already `parent_id`) into the closure:
/// its own row at depth 0 and each of its parent's rows one step further, in one INSERT ... SELECT.
/// Refused if the parent is not in the tree, or is at [`MAX_DEPTH`] already.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn attach(
    conn: &impl ConnectionTrait,
    organisation_id: i32,
    parent_id: Option<i32>,
) -> Result<(), TreeError> {
    lock(conn).await?;
    let Some(parent_id) = parent_id else {
        let own = insert_closure()
            .values_panic([organisation_id.into(), organisation_id.into(), 0.into()])
            .to_owned();
        conn.execute(&own).await?;
        return Ok(());
    };
    // Both halves insert nothing when the parent is at the deepest level already (`fits`), so
    // the number of rows tells what happened.
    let a = Alias::new("a");
    let too_deep = Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from_as(organisation_ancestor::Entity, Alias::new("d"))
            .and_where(
                Expr::col((Alias::new("d"), organisation_ancestor::Column::OrganisationId)).eq(parent_id),
            )
            .and_where(Expr::col((Alias::new("d"), organisation_ancestor::Column::Depth)).gte(MAX_DEPTH))
            .to_owned(),
    );
    let mut rows = Query::select()
        .exprs([Expr::val(organisation_id), Expr::val(organisation_id), Expr::val(0)])
        .and_where(too_deep.clone().not())
        .to_owned();
    rows.union(
        UnionType::All,
        Query::select()
            .expr(Expr::val(organisation_id))
            .column((a.clone(), organisation_ancestor::Column::AncestorId))
            .expr(Expr::col((a.clone(), organisation_ancestor::Column::Depth)).add(1))
            .from_as(organisation_ancestor::Entity, a.clone())
            .and_where(Expr::col((a, organisation_ancestor::Column::OrganisationId)).eq(parent_id))
            .and_where(too_deep.not())
            .to_owned(),
    );
    let inserted = conn.execute(&insert_closure().select_from(rows).map_err(sql_error)?.to_owned()).await?;
    match inserted.rows_affected() {
        0 => Err(TreeError::TooDeep),
        1 => Err(TreeError::NotFound { field: "parent" }),
        _ => Ok(()),
    }
}

/// What a move needs to know before it writes.
#[derive(FromQueryResult)]
struct MoveCheck {
    /// How far the organisation's subtree reaches below it; none if it is not in the tree.
    height: Option<i32>,
    /// The new parent's depth; none without a new parent, or if it is not in the tree.
    parent_depth: Option<i32>,
    /// Whether the new parent is in the organisation's subtree (or is the organisation).
    cycle: i64,
}

/// Moves an organisation with its whole subtree under `new_parent` (or to the top), keeping the
/// closure in step, and sets its `parent_id`. Refuses a cycle (the new parent inside the subtree)
/// and a tree deeper than [`MAX_DEPTH`]. Four statements at any size (five on PostgreSQL, with
/// the lock); whoever changes the tree for a person sets `edited_at` too.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reparent(
    conn: &impl ConnectionTrait,
    organisation_id: i32,
    new_parent: Option<i32>,
) -> Result<(), TreeError> {
    use organisation_ancestor::Column::{AncestorId, Depth, OrganisationId};
    lock(conn).await?;
    let backend = conn.get_database_backend();
    // One value read from the closure under `condition`.
    let closure_value = |value: Expr, condition: Condition| {
        scalar(
            Query::select().expr(value).from(organisation_ancestor::Entity).cond_where(condition).to_owned(),
        )
    };
    let check = Query::select()
        .expr_as(
            closure_value(
                Func::max(Expr::col(Depth)).into(),
                Condition::all().add(Expr::col(AncestorId).eq(organisation_id)),
            ),
            "height",
        )
        .expr_as(
            closure_value(
                Func::max(Expr::col(Depth)).into(),
                Condition::all().add(Expr::col(OrganisationId).eq(new_parent)),
            ),
            "parent_depth",
        )
        .expr_as(
            closure_value(
                Func::count(Expr::col(Asterisk)).into(),
                Condition::all()
                    .add(Expr::col(OrganisationId).eq(new_parent))
                    .add(Expr::col(AncestorId).eq(organisation_id)),
            ),
            "cycle",
        )
        .to_owned();
    let check = MoveCheck::find_by_statement(backend.build(&check))
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::Custom("the tree check returned no row".into()))?;
    let height = check.height.ok_or(TreeError::NotFound { field: "organisation" })?;
    if new_parent.is_some() && check.parent_depth.is_none() {
        return Err(TreeError::NotFound { field: "parent" });
    }
    if check.cycle > 0 {
        return Err(TreeError::Cycle);
    }
    if !fits(check.parent_depth, height) {
        return Err(TreeError::TooDeep);
    }

    // The subtree's links to the organisation's strict ancestors go; the links inside the subtree
    // stay.
    let subtree = Query::select()
        .column(OrganisationId)
        .from(organisation_ancestor::Entity)
        .and_where(Expr::col(AncestorId).eq(organisation_id))
        .to_owned();
    let old_ancestors = Query::select()
        .column(AncestorId)
        .from(organisation_ancestor::Entity)
        .and_where(Expr::col(OrganisationId).eq(organisation_id))
        .and_where(Expr::col(Depth).gt(0))
        .to_owned();
    conn.execute(
        &Query::delete()
            .from_table(organisation_ancestor::Entity)
            .and_where(Expr::col(OrganisationId).in_subquery(subtree))
            .and_where(Expr::col(AncestorId).in_subquery(old_ancestors))
            .to_owned(),
    )
    .await?;

    if let Some(new_parent) = new_parent {
        // Every member of the subtree under every ancestor of the new parent (itself included).
        let (sub, up) = (closure("sub"), closure("up"));
        let rows = Query::select()
            .column((sub.1.clone(), OrganisationId))
            .column((up.1.clone(), AncestorId))
            .expr(Expr::col((up.1.clone(), Depth)).add(Expr::col((sub.1.clone(), Depth))).add(1))
            .from_as(up.0, up.1.clone())
            .from_as(sub.0, sub.1.clone())
            .and_where(Expr::col((up.1, OrganisationId)).eq(new_parent))
            .and_where(Expr::col((sub.1, AncestorId)).eq(organisation_id))
            .to_owned();
        conn.execute(&insert_closure().select_from(rows).map_err(sql_error)?.to_owned()).await?;
    }

    conn.execute(
        &Query::update()
            .table(organisation::Entity)
            .value(organisation::Column::ParentId, new_parent)
            .and_where(Expr::col(organisation::Column::Id).eq(organisation_id))
            .to_owned(),
    )
    .await?;
    Ok(())
}

/// Attaches, in one statement, every organisation that is not in the closure yet and whose parent
/// is (or that has none), with the rows [`attach`] would give it: its own row and its parent's
/// rows one step further. The parent's rows are complete, since it was attached before, so the
/// rows are the same as `attach`'s; an organisation whose parent is still pending waits for a
/// later call. Returns the closure rows inserted: call it until it returns 0 (once per level of
/// the new organisations, and once more). Rows another writer added meanwhile are left as they
/// are. It does not check the depth: the loader's bundle is checked by a unit test.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn attach_pending(conn: &impl ConnectionTrait) -> Result<u64, DbErr> {
    use organisation_ancestor::Column::{AncestorId, Depth, OrganisationId};
    lock(conn).await?;
    let o = Alias::new("o");
    let a = Alias::new("a");
    // Whether the organisation `o`'s `column` (its id, its parent) is in the closure.
    let in_tree = |column: organisation::Column| {
        Expr::exists(
            Query::select()
                .expr(Expr::val(1))
                .from_as(organisation_ancestor::Entity, Alias::new("s"))
                .and_where(Expr::col((Alias::new("s"), OrganisationId)).equals((Alias::new("o"), column)))
                .to_owned(),
        )
    };
    let not_attached = || in_tree(organisation::Column::Id).not();
    let mut rows = Query::select()
        .column((o.clone(), organisation::Column::Id))
        .column((o.clone(), organisation::Column::Id))
        .expr(Expr::val(0))
        .from_as(organisation::Entity, o.clone())
        .and_where(not_attached())
        .and_where(
            Expr::col((o.clone(), organisation::Column::ParentId))
                .is_null()
                .or(in_tree(organisation::Column::ParentId)),
        )
        .to_owned();
    rows.union(
        UnionType::All,
        Query::select()
            .column((o.clone(), organisation::Column::Id))
            .column((a.clone(), AncestorId))
            .expr(Expr::col((a.clone(), Depth)).add(1))
            .from_as(organisation::Entity, o.clone())
            .join_as(
                JoinType::InnerJoin,
                organisation_ancestor::Entity,
                a.clone(),
                Expr::col((a, OrganisationId)).equals((o.clone(), organisation::Column::ParentId)),
            )
            // A WHERE last, so SQLite does not read the ON CONFLICT below as the join's ON.
            .and_where(not_attached())
            .to_owned(),
    );
    let insert = insert_closure()
        .select_from(rows)
        .map_err(sql_error)?
        .on_conflict(OnConflict::new().do_nothing().to_owned())
        .to_owned();
    Ok(conn.execute(&insert).await?.rows_affected())
}

fn sql_error(err: sea_orm::sea_query::error::Error) -> DbErr {
    DbErr::Custom(format!("building a statement of the organisation tree: {err}"))
}

#[cfg(test)]
mod tests {
    use sea_orm::sea_query::{PostgresQueryBuilder, SelectStatement, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn the_bulk_attach_ends_with_a_where_before_its_on_conflict() {
        // The statement as `attach_pending` builds it, rendered for both databases: SQLite reads
        // an ON CONFLICT right after a join as the join's constraint unless a WHERE comes between.
        let rows = Query::select().column(organisation::Column::Id).from(organisation::Entity).to_owned();
        let insert = |rows: SelectStatement| {
            insert_closure()
                .select_from(rows)
                .expect("columns match")
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .to_owned()
        };
        let three = Query::select()
            .column(organisation::Column::Id)
            .column(organisation::Column::Id)
            .expr(Expr::val(0))
            .from(organisation::Entity)
            .and_where(Expr::col(organisation::Column::ParentId).is_null())
            .to_owned();
        assert!(insert_closure().select_from(rows).is_err(), "three columns are inserted");
        for sql in [
            insert(three.clone()).to_string(SqliteQueryBuilder),
            insert(three).to_string(PostgresQueryBuilder),
        ] {
            let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(sql.ends_with(r#"WHERE "parent_id" IS NULL ON CONFLICT DO NOTHING"#), "{sql}");
        }
    }
}
