//! Batching by resolution pass: how relation fields load rows without N+1 queries.
//!
//! A resolver asks the request's [`Batcher`] for rows by key (`load_one`, `load_many`) and waits.
//! Nothing is queried then. The request's execution runs inside [`Batcher::drive`], and only when
//! the execution cannot make any more progress without the database does the driver start one load
//! per key type with every key asked for so far. "Cannot make progress" is an execution that
//! returns `Pending` without having woken itself: async-graphql resolves fields and list items
//! with `FuturesUnordered`, which returns `Pending` after waking itself to yield for fairness,
//! long before every sibling has been polled; such a yield is not the end of a pass. A page of N
//! needs therefore costs one statement per relation and nesting level, the same for 5 needs as
//! for 500, however long the machine takes to resolve them: there is no timer to miss
//! (async-graphql's DataLoader gathers keys for a fixed delay, which splits batches on a busy
//! machine and adds that delay to every level).
//!
//! The loads run in the request's own task, next to its execution. Rows are not cached between
//! passes, so a resolver never reads a stale row written earlier in the same request, with one
//! exception: in a read-only request ([`Batcher::keep_reference_tables`]), the small reference tables
//! (municipalities, clusters, institutions, ...; a [`Loader`] with `REFERENCE`) are read whole the
//! first time one of their rows is asked for, and kept in the process's [`ReferenceTables`] for the
//! read-only requests that follow, up to a time-to-live. They change when a new release loads new
//! reference data at start-up and when a coordinator edits the reference data: such an edit drops
//! the process's tables ([`Batcher::forget_reference_tables`]), and the time-to-live bounds how
//! long another instance can show the old rows.
//!
//! The parts: the [`Loader`] trait and the [`Batcher`] resolvers call (this file); the queues of
//! keys of a pass and their loads (`queue.rs`); the future that drives a request's execution and
//! its passes (`driven.rs`); the reference tables kept by the process (`tables.rs`).

use std::{
    any::TypeId,
    future::Future,
    hash::Hash,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

/// The maps of keys and values here and in the loaders: foldhash, seeded per process, instead of
/// std's SipHash, which was about 3% of a dashboard page's instructions (keys are ids and page
/// windows, hashed some 2,000 times a page).
pub use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::error::AppError;

mod driven;
mod queue;
mod tables;
#[cfg(test)]
mod tests;

pub use driven::Driven;
pub use tables::ReferenceTables;

use queue::{Pending, answered, pick};

/// Loads the values of a set of keys of type `K` in one go (one statement, or a fixed few).
/// Keys without a value are left out of the map.
pub trait Loader<K: Send + Sync + Hash + Eq + Clone + 'static>: Send + Sync + 'static {
    type Value: Clone + Send + Sync + 'static;
    /// Keys of a small reference table, which [`Loader::load_all`] reads whole.
    const REFERENCE: bool = false;

    fn load(&self, keys: &[K]) -> impl Future<Output = Result<HashMap<K, Self::Value>, AppError>> + Send;

    /// Every row of a reference table (only called when `REFERENCE` is set).
    fn load_all(&self) -> impl Future<Output = Result<HashMap<K, Self::Value>, AppError>> + Send {
        std::future::ready(Ok(HashMap::new()))
    }
}

/// What a request's resolvers load through: see the module documentation.
pub struct Batcher<L> {
    shared: Arc<Shared<L>>,
}

impl<L> Clone for Batcher<L> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

struct Shared<L> {
    loader: Arc<L>,
    /// The keys asked for since the last pass, by key type.
    pending: Mutex<HashMap<TypeId, Box<dyn Pending<L>>>>,
    /// Whether reference tables are read whole and kept: the request only reads.
    keeps_tables: AtomicBool,
    /// Whole reference tables, the process's or this batcher's own.
    tables: Arc<ReferenceTables>,
    /// Reference tables being read: keys of their types wait for them instead of reading again.
    reading: Mutex<HashSet<TypeId>>,
}

impl<L: Send + Sync + 'static> Batcher<L> {
    /// A batcher with reference tables of its own: kept only if it is told the request only reads.
    pub fn new(loader: L) -> Self {
        Self::with_tables(loader, Arc::default())
    }

    /// A batcher that keeps whole reference tables in `tables` (the process's) once it is told
    /// that its request only reads; until then it keeps nothing (a request that may write, or a
    /// long-lived connection).
    pub fn with_tables(loader: L, tables: Arc<ReferenceTables>) -> Self {
        Self {
            shared: Arc::new(Shared {
                loader: Arc::new(loader),
                pending: Mutex::new(HashMap::new()),
                keeps_tables: AtomicBool::new(false),
                tables,
                reading: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The request only reads (its document has queries only, which is known once it is parsed):
    /// from now on reference tables are read whole and kept, or taken from those kept.
    pub fn keep_reference_tables(&self) {
        self.shared.keeps_tables.store(true, Ordering::Relaxed);
    }

    /// Drops the process's kept reference tables: the request changed reference data, which the
    /// read-only requests that follow must see.
    pub fn forget_reference_tables(&self) {
        self.shared.tables.forget();
    }

    /// The value of one key, `None` if there is none.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<L::Value>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        let mut values = self.load_many([key.clone()]).await?;
        Ok(values.remove(&key))
    }

    /// Whether the row of `key` exists, in a reference table whose rows are never deleted
    /// (themes, product types), for the checks of a request that writes: the process's kept
    /// table answers when it has the row (so a submission costs no statement for its themes);
    /// otherwise the table is read whole, in the next pass, and kept for the checks that follow
    /// (another instance may have added the row since the kept table was read).
    pub async fn exists<K>(&self, key: K) -> Result<bool, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        if !L::REFERENCE {
            return Ok(self.load_one(key).await?.is_some());
        }
        if self.shared.tables.get::<K, L::Value>().is_some_and(|table| table.contains_key(&key)) {
            return Ok(true);
        }
        let found = answered(self.shared.ask(vec![key.clone()], true)?).await?;
        Ok(found.contains_key(&key))
    }

    /// The values of several keys; keys without a value are left out.
    pub async fn load_many<K, I>(&self, keys: I) -> Result<HashMap<K, L::Value>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
        L: Loader<K>,
    {
        let asked: Vec<K> = keys.into_iter().collect();
        if asked.is_empty() {
            return Ok(HashMap::new());
        }
        if L::REFERENCE
            && let Some(table) = self.shared.table::<K, L::Value>()
        {
            return Ok(pick(&table, asked));
        }
        answered(self.shared.ask(asked, false)?).await
    }

    /// Runs `execution` (a request, or a WebSocket connection) with its loads: whenever it waits,
    /// the keys it asked for are loaded.
    pub fn drive<F: Future>(&self, execution: F) -> Driven<F, L> {
        Driven::new(self.clone(), execution)
    }
}
