//! Write transactions. On SQLite one writer at a time holds the file's write lock, and a writer
//! that finds it taken sleeps in SQLite's busy handler (1, 2, 5, 10, ... up to 100 ms at a time)
//! and tries again, losing each race to writers that arrive meanwhile: under 16 concurrent
//! writers and the notification workers, a mutation's p99 was several times its p50 (bench N1).
//! Within one process the writers therefore queue first, in order, at a gate (a fair tokio
//! mutex) that a [`WriteTxn`] holds until it commits or is dropped; the busy handler is left for
//! writers of other processes (the CLI, a second instance on the same file). PostgreSQL has no
//! gate: its writers lock rows, not the database.

use std::{ops::Deref, sync::Arc, time::Duration};

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult,
    Statement,
};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// The write gate of one SQLite pool, shared by every clone of its `Db`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate(Arc<Mutex<()>>);

impl Gate {
    /// Waits in line for the gate, as long as SQLite's own busy timeout would wait; after that
    /// the database is busy, as a pool that gave no connection is (`db::is_unavailable`: the
    /// caller is told to try again).
    pub(crate) async fn enter(&self, patience: Duration) -> Result<OwnedMutexGuard<()>, DbErr> {
        tokio::time::timeout(patience, self.0.clone().lock_owned())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))
    }
}

/// A write transaction (`Db::begin_write`). It reads as the transaction it wraps; on SQLite it
/// holds the write gate until it commits, rolls back or is dropped.
pub struct WriteTxn {
    // Dropped first: the transaction rolls back before the next writer enters.
    txn: DatabaseTransaction,
    _gate: Option<OwnedMutexGuard<()>>,
}

impl WriteTxn {
    pub(crate) fn new(txn: DatabaseTransaction, gate: Option<OwnedMutexGuard<()>>) -> Self {
        Self { txn, _gate: gate }
    }

    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.commit().await
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        self.txn.rollback().await
    }
}

impl Deref for WriteTxn {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for WriteTxn {
    fn get_database_backend(&self) -> DbBackend {
        self.txn.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.txn.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.txn.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        self.txn.query_one_raw(stmt).await
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        self.txn.query_all_raw(stmt).await
    }

    fn support_returning(&self) -> bool {
        self.txn.support_returning()
    }
}
