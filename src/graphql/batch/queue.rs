//! The keys asked for in a pass, one queue per key type: how a resolver's keys join the queue of
//! their type, how the driver takes the queues at the end of a pass, and how the load of one queue
//! answers each of its waiters with its own keys.

use std::{
    any::{Any, TypeId},
    hash::Hash,
    sync::Arc,
};

use futures_channel::oneshot;
use futures_util::future::BoxFuture;

use super::{Batcher, HashMap, HashMapExt, HashSet, HashSetExt, Loader, Shared};
use crate::error::AppError;

/// The most keys one load is given; more are loaded in several (SQL has a bound on parameters).
pub(super) const MAX_KEYS: usize = 5_000;

#[tracing::instrument(level = "debug", skip_all, fields(key = std::any::type_name::<K>(), keys = keys.len()))]
async fn load_in_chunks<K, L>(loader: &L, keys: Vec<K>) -> Result<HashMap<K, L::Value>, AppError>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    let mut found = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(MAX_KEYS) {
        found.extend(loader.load(chunk).await?);
    }
    Ok(found)
}

/// The values of `keys` that `found` has.
pub(super) fn pick<K: Hash + Eq, V: Clone>(found: &HashMap<K, V>, keys: Vec<K>) -> HashMap<K, V> {
    keys.into_iter().filter_map(|k| found.get(&k).map(|v| (k, v.clone()))).collect()
}

type Reply<K, V> = oneshot::Sender<Result<HashMap<K, V>, AppError>>;

/// The values of a waiter's keys, once their pass is loaded.
pub(super) type Answer<K, V> = oneshot::Receiver<Result<HashMap<K, V>, AppError>>;

/// The values a queued load answered with.
pub(super) async fn answered<K, V>(answer: Answer<K, V>) -> Result<HashMap<K, V>, AppError> {
    answer.await.map_err(|_| AppError::Internal("a batched load was dropped before it answered".into()))?
}

/// The keys of one type asked for in this pass, and who asked for which.
struct Wanted<K, V> {
    keys: HashSet<K>,
    waiters: Vec<(Vec<K>, Reply<K, V>)>,
    /// Read the whole (reference) table from the database and keep it, even in a request that
    /// writes: a waiter checks that a row exists (see [`Batcher::exists`]).
    whole: bool,
}

/// A [`Wanted`] of any key type, as the driver sees it.
pub(super) trait Pending<L>: Send {
    fn as_any(&mut self) -> &mut dyn Any;
    /// Whether the keys are of a reference table.
    fn reference(&self) -> bool;
    /// The load of every key, answering each waiter with its own keys.
    fn start(self: Box<Self>, shared: Arc<Shared<L>>) -> BoxFuture<'static, ()>;
}

impl<K, L> Pending<L> for Wanted<K, L::Value>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }

    fn reference(&self) -> bool {
        L::REFERENCE
    }

    fn start(self: Box<Self>, shared: Arc<Shared<L>>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let Wanted { keys, waiters, whole } = *self;
            let found = if L::REFERENCE && shared.keeps_tables() {
                // The whole table (unless an earlier pass read it while these keys waited).
                let table = shared.read_table::<K>().await;
                shared
                    .reading
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(&TypeId::of::<K>());
                table
            } else if L::REFERENCE && whole {
                shared.fresh_table::<K>().await
            } else {
                load_in_chunks(shared.loader.as_ref(), keys.into_iter().collect()).await.map(Arc::new)
            };
            for (asked, reply) in waiters {
                let answer = found.as_ref().map(|found| pick(found, asked)).map_err(AppError::clone);
                // A waiter that went away (its request was cancelled) needs no answer.
                let _ = reply.send(answer);
            }
        })
    }
}

impl<L> Shared<L> {
    /// Queues `asked` for the next pass, with the keys of their type asked for so far; `whole`
    /// has the pass read their whole reference table (see [`Wanted::whole`]).
    pub(super) fn ask<K>(&self, asked: Vec<K>, whole: bool) -> Result<Answer<K, L::Value>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        let (reply, answer) = oneshot::channel();
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let wanted = pending
            .entry(TypeId::of::<K>())
            .or_insert_with(|| {
                Box::new(Wanted::<K, L::Value> { keys: HashSet::new(), waiters: Vec::new(), whole: false })
            })
            .as_any()
            .downcast_mut::<Wanted<K, L::Value>>()
            .ok_or_else(|| AppError::Internal("a batch of another key type under this key type".into()))?;
        wanted.keys.extend(asked.iter().cloned());
        wanted.whole |= whole;
        wanted.waiters.push((asked, reply));
        Ok(answer)
    }
}

impl<L: Send + Sync + 'static> Batcher<L> {
    /// The keys to load now, by type. Keys of a reference table that is being read stay until it
    /// has been read (then they are answered from it); a table about to be read is marked.
    pub(super) fn take_pending(&self) -> Vec<Box<dyn Pending<L>>> {
        let mut pending = self.shared.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !self.shared.keeps_tables() {
            return pending.drain().map(|(_, wanted)| wanted).collect();
        }
        let mut reading = self.shared.reading.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let types: Vec<TypeId> = pending.keys().copied().collect();
        let mut taken = Vec::with_capacity(types.len());
        for type_id in types {
            let reference = pending.get(&type_id).is_some_and(|wanted| wanted.reference());
            if reference && !reading.insert(type_id) {
                continue;
            }
            taken.extend(pending.remove(&type_id));
        }
        taken
    }
}
