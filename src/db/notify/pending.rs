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
    QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType},
};

use crate::db::outbox::Topic;

/// A history event waiting for its notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pending {
    pub topic: Topic,
    pub event_id: i32,
}

/// Whether any event waits, read without taking the writer (the fan-out looks often, and on
/// SQLite a write transaction would queue behind requests for nothing). Two index look-ups.
pub async fn any(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let need = need_event::Entity::find()
        .select_only()
        .column(need_event::Column::Id)
        .filter(need_event::Column::NotifyPending.eq(true))
        .limit(1)
        .into_tuple::<i32>()
        .one(db)
        .await?;
    if need.is_some() {
        return Ok(true);
    }
    let commission = commission_event::Entity::find()
        .select_only()
        .column(commission_event::Column::Id)
        .filter(commission_event::Column::NotifyPending.eq(true))
        .limit(1)
        .into_tuple::<i32>()
        .one(db)
        .await?;
    Ok(commission.is_some())
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
    let mut needs = need_event::Entity::find()
        .select_only()
        .column(need_event::Column::Id)
        .filter(need_event::Column::NotifyPending.eq(true))
        .order_by_asc(need_event::Column::Id)
        .limit(limit);
    skip_locked(QuerySelect::query(&mut needs), backend);
    let mut commissions = commission_event::Entity::find()
        .select_only()
        .column(commission_event::Column::Id)
        .filter(commission_event::Column::NotifyPending.eq(true))
        .order_by_asc(commission_event::Column::Id)
        .limit(limit);
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
