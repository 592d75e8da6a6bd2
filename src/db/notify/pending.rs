//! The notification queue is the history: a need's or commission's event is written with
//! `notify_pending` set, in the transaction of its change, so a notification is only ever for a
//! committed change and none is lost. The fan-out claims pending events in its own write
//! transaction, writes what it fans them out to, and marks them done before it commits: a crash
//! before the commit leaves them pending for the next claim.
//!
//! On PostgreSQL the claim locks the rows it takes and skips rows another instance holds
//! (`FOR UPDATE SKIP LOCKED`), so several instances share the work and no event is taken twice;
//! SQLite has one writer at a time, whose transaction holds the claim.

use entity::{commission_event, need_event};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
    sea_query::{Expr, LockBehavior, LockType},
};

use crate::db::outbox::Topic;

/// A history event waiting for its notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pending {
    pub topic: Topic,
    pub event_id: i32,
}

/// The ids of pending need events and of pending commission events, oldest first. The condition
/// is the one the partial indexes `idx_need_event_pending` and `idx_commission_event_pending`
/// state (`WHERE notify_pending`): SQLite uses a partial index only for a condition that is its
/// own, and `notify_pending = TRUE` is not (it scanned the whole history each time the fan-out
/// looked, 0.3 s a second at tier L).
fn pending_ids() -> (Select<need_event::Entity>, Select<commission_event::Entity>) {
    let needs = need_event::Entity::find()
        .select_only()
        .column(need_event::Column::Id)
        .filter(Expr::col(need_event::Column::NotifyPending))
        .order_by_asc(need_event::Column::Id);
    let commissions = commission_event::Entity::find()
        .select_only()
        .column(commission_event::Column::Id)
        .filter(Expr::col(commission_event::Column::NotifyPending))
        .order_by_asc(commission_event::Column::Id);
    (needs, commissions)
}

/// Whether any event waits, read without taking the writer (the fan-out looks often, and on
/// SQLite a write transaction would queue behind requests for nothing). Two index look-ups.
pub async fn any(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let (needs, commissions) = pending_ids();
    if needs.limit(1).into_tuple::<i32>().one(db).await?.is_some() {
        return Ok(true);
    }
    Ok(commissions.limit(1).into_tuple::<i32>().one(db).await?.is_some())
}

/// Claims up to `limit` pending events of each topic, oldest first, for the transaction `txn`
/// (which must be a write transaction, `Db::begin_write`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim(txn: &DatabaseTransaction, limit: u64) -> Result<Vec<Pending>, DbErr> {
    let skip_locked = |select: &mut sea_orm::sea_query::SelectStatement, backend: DatabaseBackend| {
        if backend == DatabaseBackend::Postgres {
            select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
    };
    let backend = txn.get_database_backend();
    let (needs, commissions) = pending_ids();
    let mut needs = needs.limit(limit);
    skip_locked(QuerySelect::query(&mut needs), backend);
    let mut commissions = commissions.limit(limit);
    skip_locked(QuerySelect::query(&mut commissions), backend);
    let need_ids: Vec<i32> = needs.into_tuple().all(txn).await?;
    let commission_ids: Vec<i32> = commissions.into_tuple().all(txn).await?;
    Ok(need_ids
        .into_iter()
        .map(|event_id| Pending { topic: Topic::Need, event_id })
        .chain(commission_ids.into_iter().map(|event_id| Pending { topic: Topic::Commission, event_id }))
        .collect())
}

/// Marks claimed events done, in the claiming transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn done(txn: &DatabaseTransaction, claimed: &[Pending]) -> Result<(), DbErr> {
    let ids = |topic: Topic| claimed.iter().filter(move |p| p.topic == topic).map(|p| p.event_id);
    if ids(Topic::Need).next().is_some() {
        need_event::Entity::update_many()
            .col_expr(need_event::Column::NotifyPending, Expr::value(false))
            .filter(need_event::Column::Id.is_in(ids(Topic::Need)))
            .exec(txn)
            .await?;
    }
    if ids(Topic::Commission).next().is_some() {
        commission_event::Entity::update_many()
            .col_expr(commission_event::Column::NotifyPending, Expr::value(false))
            .filter(commission_event::Column::Id.is_in(ids(Topic::Commission)))
            .exec(txn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use sea_orm::{QueryTrait, Statement};

    use super::*;

    /// The fan-out's look for pending events reads the partial indexes, not the history.
    #[tokio::test]
    async fn the_look_for_pending_events_reads_the_partial_indexes() {
        let scratch = crate::db::Scratch::new("pending").await;
        let conn = scratch.db.conn();
        let backend = conn.get_database_backend();
        let (needs, commissions) = pending_ids();
        for (sql, index) in [
            (needs.limit(1).build(backend).to_string(), "idx_need_event_pending"),
            (commissions.limit(1).build(backend).to_string(), "idx_commission_event_pending"),
        ] {
            let plan = conn
                .query_all_raw(Statement::from_string(backend, format!("EXPLAIN QUERY PLAN {sql}")))
                .await
                .expect("a plan");
            let plan: Vec<String> =
                plan.iter().map(|row| row.try_get_by_index::<String>(3).expect("a plan line")).collect();
            assert!(plan.iter().any(|line| line.contains(index)), "{sql}: {plan:?}");
        }
    }
}
