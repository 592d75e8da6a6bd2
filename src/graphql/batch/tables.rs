//! The reference tables a process keeps: small tables read whole by a read-only request and shared
//! by the read-only requests that follow it, up to a time-to-live; and how a batcher takes a table
//! from them, or reads it and keeps it.

use std::{
    any::{Any, TypeId},
    hash::Hash,
    sync::{Arc, Mutex, atomic::Ordering},
    time::{Duration, Instant},
};

use super::{HashMap, HashMapExt, Loader, Shared};
use crate::error::AppError;

/// A reference table (an `Arc<HashMap<K, V>>`) and when it was read.
type Kept = (Instant, Box<dyn Any + Send>);

/// Whole reference tables (an `Arc<HashMap<K, V>>` by key type) with the time each was read,
/// shared by the read-only requests of a process.
pub struct ReferenceTables {
    kept: Mutex<HashMap<TypeId, Kept>>,
    time_to_live: Duration,
}

impl ReferenceTables {
    /// How long a process keeps a reference table it read.
    pub const TIME_TO_LIVE: Duration = Duration::from_secs(60);

    pub fn new(time_to_live: Duration) -> Self {
        Self { kept: Mutex::new(HashMap::new()), time_to_live }
    }

    pub(super) fn get<K: 'static, V: 'static>(&self) -> Option<Arc<HashMap<K, V>>> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (read_at, table) = kept.get(&TypeId::of::<K>())?;
        if read_at.elapsed() >= self.time_to_live {
            return None;
        }
        table.downcast_ref::<Arc<HashMap<K, V>>>().cloned()
    }

    /// Drops every kept table, so the next read-only request reads them again.
    pub fn forget(&self) {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
    }

    pub(super) fn put<K: Send + Sync + 'static, V: Send + Sync + 'static>(&self, table: Arc<HashMap<K, V>>) {
        let kept: Box<dyn Any + Send> = Box::new(table);
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(TypeId::of::<K>(), (Instant::now(), kept));
    }
}

impl Default for ReferenceTables {
    fn default() -> Self {
        Self::new(Self::TIME_TO_LIVE)
    }
}

impl<L> Shared<L> {
    /// Whether reference tables are read whole and kept: the batcher was told its request only reads.
    pub(super) fn keeps_tables(&self) -> bool {
        self.keeps_tables.load(Ordering::Relaxed)
    }

    /// The reference table of `K`, if it was read already (and not too long ago).
    pub(super) fn table<K: 'static, V: 'static>(&self) -> Option<Arc<HashMap<K, V>>> {
        if !self.keeps_tables() {
            return None;
        }
        self.tables.get::<K, V>()
    }

    /// The reference table of `K`: the one read already, else read now and kept.
    pub(super) async fn read_table<K>(&self) -> Result<Arc<HashMap<K, L::Value>>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        if let Some(table) = self.table::<K, L::Value>() {
            return Ok(table);
        }
        self.fresh_table::<K>().await
    }

    /// The reference table of `K` read now, and kept for the requests that follow.
    pub(super) async fn fresh_table<K>(&self) -> Result<Arc<HashMap<K, L::Value>>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        let table = Arc::new(self.loader.load_all().await?);
        self.tables.put(table.clone());
        Ok(table)
    }
}
