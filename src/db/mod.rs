//! Database access: connecting to SQLite or PostgreSQL, migrating, and the queries of each area.
//! Nothing here knows about GraphQL or HTTP.

pub mod audit;
pub mod commissions;
pub mod idempotency;
pub mod identity;
pub mod institutions;
pub mod needs;
pub mod notify;
pub mod organisations;
pub mod outbox;
pub mod pages;
pub mod reference;
pub mod reference_data;
pub mod refusals;
pub mod rounds;
pub mod sql;
mod writes;

pub use writes::WriteTxn;

use std::{
    str::FromStr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};

pub use crate::domain::nodes::NodeType;
use sea_orm::{
    ConnectOptions, Database, DatabaseBackend, DatabaseConnection, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
};

/// How long a writer waits for SQLite's write lock before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections of the SQLite pool for the hub's own work off the request path (see `connect`).
const SQLITE_BACKGROUND_CONNECTIONS: u32 = 2;
/// How long a SQLite connection stays open unused.
const SQLITE_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of a SQLite file reads may map: address space, not memory (see `connect`).
const SQLITE_MMAP_BYTES: u64 = 1 << 30;
/// A PostgreSQL statement that runs longer than this is cancelled, so it cannot pin a worker.
const POSTGRES_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection pool plus a count of the SQL statements it has executed (tests and benchmarks
/// read the count to prove that DataLoaders batch).
#[derive(Clone)]
pub struct Db {
    conn: DatabaseConnection,
    /// For work off the request path (the event relay, "last used" stamps), without the
    /// statement counter so that request statement counts stay exact: the same pool on
    /// PostgreSQL, a small one of its own on SQLite (see `connect_with`).
    background: DatabaseConnection,
    statements: Arc<AtomicU64>,
    commits: outbox::Commits,
    /// SQLite's writers of this process queue here (`writes.rs`); none on PostgreSQL.
    gate: Option<writes::Gate>,
}

/// The connection pool's size and how long a request waits for a connection.
#[derive(Clone, Copy, Debug)]
pub struct Pool {
    /// `None`: 8 connections for SQLite, 16 for PostgreSQL.
    pub max_connections: Option<u32>,
    pub acquire_timeout: Duration,
}

impl Default for Pool {
    fn default() -> Self {
        Self { max_connections: None, acquire_timeout: Duration::from_secs(3) }
    }
}

impl Db {
    /// Connects to `url` (`sqlite:path` or `postgres://...`); a SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Self, DbErr> {
        Self::connect_with(url, &Pool::default()).await
    }

    /// Connects with a pool of the given size and acquire timeout.
    pub async fn connect_with(url: &str, pool: &Pool) -> Result<Self, DbErr> {
        let mut options = ConnectOptions::new(url);
        // A request that cannot get a connection in time fails fast with DATABASE_UNAVAILABLE
        // instead of queueing. PostgreSQL connections are tested before they are handed out, so
        // after a restart of the server broken ones are replaced without a restart of the hub.
        options
            .sqlx_logging(false)
            .connect_timeout(pool.acquire_timeout)
            .acquire_timeout(pool.acquire_timeout);
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            // A SQLite connection is a file handle in this process: it cannot break the way a
            // network connection does, so it is not pinged before each use (a round trip to its
            // worker thread per statement).
            options.test_before_acquire(false);
            // An idle connection is closed after a while: it holds about half a MiB, and opening
            // one again is a file's open and its schema's read.
            options.idle_timeout(SQLITE_IDLE_TIMEOUT);
            // WAL lets readers go on while one writer writes; writers take the lock up front
            // (IMMEDIATE, see `begin_write`) and wait for each other up to the busy timeout.
            options.max_connections(pool.max_connections.unwrap_or(8)).map_sqlx_sqlite_opts(
                |opts: SqliteConnectOptions| {
                    opts.create_if_missing(true)
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(SQLITE_BUSY_TIMEOUT)
                        // Reads map the file instead of copying each page through a system call
                        // (half of a broad search's time on tier M). The mapping is address
                        // space; only pages read count in RSS, and the kernel may drop them.
                        .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
                },
            );
        } else {
            options
                .test_before_acquire(true)
                .max_connections(pool.max_connections.unwrap_or(16))
                .statement_timeout(POSTGRES_STATEMENT_TIMEOUT);
        }
        // On SQLite each connection holds its own copy of the schema and page cache (about half
        // a MiB) and, in sqlx's pool, is reused in turn, so it is never idle long enough to be
        // closed. The hub's background tasks (relay, notification workers, periodic passes) all
        // wake at start and on the same ticks; on the request pool they would keep as many
        // connections open on an idle hub. They share a small pool of their own instead.
        let background = if sqlite {
            let mut background = options.clone();
            background.max_connections(SQLITE_BACKGROUND_CONNECTIONS);
            Some(Database::connect(background).await?)
        } else {
            None
        };
        let mut conn = Database::connect(options).await?;
        let background = background.unwrap_or_else(|| conn.clone());
        let statements = counted(&mut conn);
        let gate = (conn.get_database_backend() == DatabaseBackend::Sqlite).then(writes::Gate::default);
        Ok(Self { conn, background, statements, commits: outbox::Commits::default(), gate })
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The pool for work off the request path; its statements are not counted.
    pub fn background(&self) -> &DatabaseConnection {
        &self.background
    }

    /// This `Db` for work of the hub's own off the request path (closing due rounds, sending
    /// notifications): the background pool and the same count of commits; its statements are
    /// counted apart, by this `Db` and its clones only.
    pub fn for_background_work(&self) -> Db {
        let mut conn = self.background.clone();
        let statements = counted(&mut conn);
        Self {
            conn,
            background: self.background.clone(),
            statements,
            commits: self.commits.clone(),
            gate: self.gate.clone(),
        }
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// SQL statements executed through this pool since it was opened.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Connections to the database open now, in use or idle, over the hub's pools.
    pub fn connections_open(&self) -> u32 {
        match self.backend() {
            DatabaseBackend::Sqlite => {
                self.conn.get_sqlite_connection_pool().size()
                    + self.background.get_sqlite_connection_pool().size()
            }
            _ => self.conn.get_postgres_connection_pool().size(),
        }
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.conn, None).await
    }

    /// Starts a write transaction. On SQLite the writers of this process first queue at the
    /// write gate (`writes.rs`), and the transaction is `BEGIN IMMEDIATE`, so two writers never
    /// both read first and then fail to upgrade their lock; one of another process waits (busy
    /// timeout) instead.
    pub async fn begin_write(&self) -> Result<WriteTxn, DbErr> {
        let gate = match &self.gate {
            Some(gate) => Some(gate.enter(SQLITE_BUSY_TIMEOUT).await?),
            None => None,
        };
        let sqlite_transaction_mode =
            (self.backend() == DatabaseBackend::Sqlite).then_some(SqliteTransactionMode::Immediate);
        let txn = self
            .conn
            .begin_with_options(TransactionOptions { sqlite_transaction_mode, ..Default::default() })
            .await?;
        Ok(WriteTxn::new(txn, gate))
    }

    /// Commits a write transaction that did `effect`. A creation first stores the request's
    /// pending idempotency key with what it created, in the transaction (see `idempotency`);
    /// once committed, the effect is what the mutation's audit record names (see `audit`), and
    /// the commit is counted (SQLite's outbox reader waits on the count, see `outbox`).
    #[tracing::instrument(level = "debug", skip_all, fields(?effect))]
    pub async fn commit(&self, txn: WriteTxn, effect: Effect) -> Result<(), DbErr> {
        if let Effect::Created(node_type, id) = effect {
            idempotency::store_pending(&txn, node_type, id).await?;
        }
        txn.commit().await?;
        audit::note_subject(effect.subject());
        self.commits.count();
        Ok(())
    }

    /// Changes at each commit through this `Db` or its clones.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbErr> {
        self.conn.ping().await
    }

    pub async fn close(self) -> Result<(), DbErr> {
        if self.backend() == DatabaseBackend::Sqlite {
            self.background.close().await?;
        }
        self.conn.close().await
    }
}

/// Counts the statements `conn` (this clone of the pool) executes, and traces each.
fn counted(conn: &mut DatabaseConnection) -> Arc<AtomicU64> {
    let statements = Arc::new(AtomicU64::new(0));
    let counter = statements.clone();
    conn.set_metric_callback(move |info| {
        counter.fetch_add(1, Ordering::Relaxed);
        tracing::trace!(target: "knowledge_hub::sql", elapsed = ?info.elapsed, failed = info.failed, sql = %info.statement);
    });
    statements
}

/// What a write did, as the caller of [`Db::commit`] names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Made this record: what a retried request with the same idempotency key returns. Answering
    /// as if it made a record counts too (registering an existing person the caller may not see).
    Created(NodeType, i32),
    /// Changed this record (or, for a score, this need's standing in a round).
    Changed(NodeType, i32),
}

impl Effect {
    /// The record the effect is about.
    pub fn subject(self) -> (NodeType, i32) {
        match self {
            Self::Created(node_type, id) | Self::Changed(node_type, id) => (node_type, id),
        }
    }
}

/// Why a write did not happen, apart from database faults.
#[derive(Debug)]
pub enum WriteError {
    /// The change clashes with what is there: a duplicate, a stale version, a state that does
    /// not allow it. The field and what clashed.
    Conflict {
        field: &'static str,
        message: String,
    },
    /// The thing to change does not exist (any more).
    NotFound {
        field: &'static str,
    },
    /// An input that can never work, found only at write time.
    Invalid {
        field: &'static str,
        message: String,
    },
    Db(DbErr),
}

impl From<DbErr> for WriteError {
    fn from(err: DbErr) -> Self {
        Self::Db(err)
    }
}

/// Turns a unique constraint refusing a duplicate into a `Conflict` on `field`; any other error
/// stays a fault.
pub fn duplicate_is_conflict(field: &'static str, message: &'static str) -> impl FnOnce(DbErr) -> WriteError {
    move |err| {
        if matches!(err.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
            WriteError::Conflict { field, message: message.into() }
        } else {
            WriteError::Db(err)
        }
    }
}

/// Writes a consistent copy of the live SQLite database at `url` to `destination` (which must
/// not exist) with `VACUUM INTO`, while other connections go on reading and writing; returns its
/// size in bytes. PostgreSQL is backed up with its own tools.
pub async fn backup(url: &str, destination: &std::path::Path) -> Result<u64, String> {
    if !url.starts_with("sqlite:") {
        return Err("`backup` copies SQLite databases; for PostgreSQL use pg_dump (see the README)".into());
    }
    if destination.exists() {
        return Err(format!("{} exists already; choose a new file", destination.display()));
    }
    let target = destination.to_str().ok_or("the destination path is not valid UTF-8")?;
    let db = Db::connect(url).await.map_err(|e| format!("cannot open {url}: {e}"))?;
    sea_orm::ConnectionTrait::execute_raw(
        db.background(),
        sea_orm::Statement::from_sql_and_values(DatabaseBackend::Sqlite, "VACUUM INTO ?", [target.into()]),
    )
    .await
    .map_err(|e| format!("the backup failed: {e}"))?;
    let _ = db.close().await;
    std::fs::metadata(destination).map(|m| m.len()).map_err(|e| format!("the backup is missing: {e}"))
}

/// Whether an error means the database cannot be reached right now (the pool is exhausted, the
/// server restarts or refuses connections, SQLite stays locked past the busy timeout), as opposed
/// to a fault in a statement. Such a request changed nothing and may be retried.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx_err.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08), shutdowns (57P01-57P03), too many
            // connections (53300). SQLite: busy or locked (5, 6, and their extended codes).
            code.starts_with("08")
                || ["57P01", "57P02", "57P03", "53300"].contains(&code.as_ref())
                || (code.len() < 5 && code.parse::<i32>().is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6))
        }
        _ => false,
    }
}

/// Checks that `url` names a database the hub can use, before anything connects.
pub fn validate_url(url: &str) -> Result<(), String> {
    if url.starts_with("sqlite:") {
        SqliteConnectOptions::from_str(url).map(|_| ()).map_err(|e| format!("invalid SQLite URL: {e}"))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err("DATABASE_URL must start with sqlite: or postgres://".into())
    }
}

/// A migrated SQLite database with the reference data, in a file of its own, for unit tests;
/// the files go when it is dropped.
#[cfg(test)]
pub(crate) struct Scratch {
    pub db: Db,
    path: std::path::PathBuf,
}

#[cfg(test)]
impl Scratch {
    pub async fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("khub-{name}-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let db =
            crate::app::prepare_database(&format!("sqlite:{}", path.display())).await.expect("a database");
        Self { db, path }
    }
}

#[cfg(test)]
impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}
