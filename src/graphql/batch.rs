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
//! read-only requests that follow, up to a time-to-live. No request writes these tables: they
//! change only when a new release loads new reference data at start-up, and the time-to-live
//! bounds how long another instance can show the old rows.

use std::{
    any::{Any, TypeId},
    collections::{HashMap, HashSet},
    future::Future,
    hash::Hash,
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
    time::{Duration, Instant},
};

use futures_channel::oneshot;
use futures_util::{StreamExt, future::BoxFuture, stream::FuturesUnordered};

use crate::error::AppError;

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

/// The most keys one load is given; more are loaded in several (SQL has a bound on parameters).
const MAX_KEYS: usize = 5_000;

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
fn pick<K: Hash + Eq, V: Clone>(found: &HashMap<K, V>, keys: Vec<K>) -> HashMap<K, V> {
    keys.into_iter().filter_map(|k| found.get(&k).map(|v| (k, v.clone()))).collect()
}

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

    fn get<K: 'static, V: 'static>(&self) -> Option<Arc<HashMap<K, V>>> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (read_at, table) = kept.get(&TypeId::of::<K>())?;
        if read_at.elapsed() >= self.time_to_live {
            return None;
        }
        table.downcast_ref::<Arc<HashMap<K, V>>>().cloned()
    }

    fn put<K: Send + Sync + 'static, V: Send + Sync + 'static>(&self, table: Arc<HashMap<K, V>>) {
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

impl<L> Shared<L> {
    fn keeps_tables(&self) -> bool {
        self.keeps_tables.load(Ordering::Relaxed)
    }

    /// The reference table of `K`, if it was read already (and not too long ago).
    fn table<K: 'static, V: 'static>(&self) -> Option<Arc<HashMap<K, V>>> {
        if !self.keeps_tables() {
            return None;
        }
        self.tables.get::<K, V>()
    }

    /// The reference table of `K`: the one read already, else read now and kept.
    async fn read_table<K>(&self) -> Result<Arc<HashMap<K, L::Value>>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        if let Some(table) = self.table::<K, L::Value>() {
            return Ok(table);
        }
        let table = Arc::new(self.loader.load_all().await?);
        self.tables.put(table.clone());
        Ok(table)
    }
}

type Reply<K, V> = oneshot::Sender<Result<HashMap<K, V>, AppError>>;

/// The keys of one type asked for in this pass, and who asked for which.
struct Wanted<K, V> {
    keys: HashSet<K>,
    waiters: Vec<(Vec<K>, Reply<K, V>)>,
}

/// A [`Wanted`] of any key type, as the driver sees it.
trait Pending<L>: Send {
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
            let Wanted { keys, waiters } = *self;
            let found = if L::REFERENCE && shared.keeps_tables() {
                // The whole table (unless an earlier pass read it while these keys waited).
                let table = shared.read_table::<K>().await;
                shared
                    .reading
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(&TypeId::of::<K>());
                table
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

    /// The value of one key, `None` if there is none.
    pub async fn load_one<K>(&self, key: K) -> Result<Option<L::Value>, AppError>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
    {
        let mut values = self.load_many([key.clone()]).await?;
        Ok(values.remove(&key))
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
        let (reply, answer) = oneshot::channel();
        {
            let mut pending = self.shared.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let wanted = pending
                .entry(TypeId::of::<K>())
                .or_insert_with(|| {
                    Box::new(Wanted::<K, L::Value> { keys: HashSet::new(), waiters: Vec::new() })
                })
                .as_any()
                .downcast_mut::<Wanted<K, L::Value>>()
                .ok_or_else(|| {
                    AppError::Internal("a batch of another key type under this key type".into())
                })?;
            wanted.keys.extend(asked.iter().cloned());
            wanted.waiters.push((asked, reply));
        }
        answer
            .await
            .map_err(|_| AppError::Internal("a batched load was dropped before it answered".into()))?
    }

    /// Runs `execution` (a request, or a WebSocket connection) with its loads: whenever it waits,
    /// the keys it asked for are loaded.
    pub fn drive<F: Future>(&self, execution: F) -> Driven<F, L> {
        let alarm = Arc::new(Alarm { rang: false.into(), task: Mutex::new(None) });
        Driven {
            // Tokio's cooperative budget would make a busy execution look idle and split a pass.
            execution: Box::pin(tokio::task::unconstrained(execution)),
            batcher: self.clone(),
            loads: FuturesUnordered::new(),
            alarm_waker: Waker::from(alarm.clone()),
            alarm,
            yields: 0,
        }
    }

    /// The keys to load now, by type. Keys of a reference table that is being read stay until it
    /// has been read (then they are answered from it); a table about to be read is marked.
    fn take_pending(&self) -> Vec<Box<dyn Pending<L>>> {
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

/// An execution and the loads it waits for; see [`Batcher::drive`].
pub struct Driven<F: Future, L> {
    execution: Pin<Box<tokio::task::Unconstrained<F>>>,
    batcher: Batcher<L>,
    loads: FuturesUnordered<BoxFuture<'static, ()>>,
    /// Notes whether the execution woke itself; `alarm_waker` is the waker made of it that the
    /// execution is polled with.
    alarm: Arc<Alarm>,
    alarm_waker: Waker,
    /// Polls in a row in which the execution yielded.
    yields: u32,
}

/// After this many yields in a row, the keys asked for are loaded anyway: a safety valve against an
/// execution that yields until a load answers (none of ours does). A page of 500 items takes about
/// 250 yields per pass (`FuturesUnordered` yields after two of its items yielded), nested pages
/// their product, so the valve is far above that.
const MAX_YIELDS: u32 = 1 << 20;

/// Forwards wakes to the task's waker and remembers that one came.
struct Alarm {
    rang: AtomicBool,
    task: Mutex<Option<Waker>>,
}

impl Wake for Alarm {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.rang.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref() {
            task.wake_by_ref();
        }
    }
}

impl<F: Future, L: Send + Sync + 'static> Driven<F, L> {
    /// Polls the execution; `Err(true)` if it is pending but woke itself (it only yielded).
    fn poll_execution(&mut self, cx: &Context<'_>) -> Result<F::Output, bool> {
        {
            let mut task = self.alarm.task.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if !task.as_ref().is_some_and(|t| t.will_wake(cx.waker())) {
                *task = Some(cx.waker().clone());
            }
        }
        self.alarm.rang.store(false, Ordering::SeqCst);
        match self.execution.as_mut().poll(&mut Context::from_waker(&self.alarm_waker)) {
            Poll::Ready(output) => Ok(output),
            Poll::Pending => Err(self.alarm.rang.load(Ordering::SeqCst)),
        }
    }
}

impl<F: Future, L: Send + Sync + 'static> Future for Driven<F, L> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        loop {
            let yielded = match this.poll_execution(cx) {
                Ok(output) => return Poll::Ready(output),
                Err(yielded) => yielded,
            };
            if yielded && this.yields < MAX_YIELDS {
                // Not idle: siblings are still to be polled and may ask for more keys. The
                // execution's own wake brings this task back; meanwhile the loads move on.
                this.yields += 1;
                while let Poll::Ready(Some(())) = this.loads.poll_next_unpin(cx) {}
                return Poll::Pending;
            }
            this.yields = 0;
            // The execution waits: everything it asked for in this pass is one load per key type.
            for wanted in this.batcher.take_pending() {
                this.loads.push(wanted.start(this.batcher.shared.clone()));
            }
            let mut answered = false;
            while let Poll::Ready(Some(())) = this.loads.poll_next_unpin(cx) {
                answered = true;
            }
            if !answered {
                return Poll::Pending;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures_util::future::join_all;

    use super::*;

    /// Doubles numbers, counting its calls; fails on a negative key.
    #[derive(Default)]
    struct Doubler {
        calls: AtomicUsize,
    }

    impl Loader<i32> for Doubler {
        type Value = i32;

        async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, i32>, AppError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            if keys.iter().any(|k| *k < 0) {
                return Err(AppError::Internal("negative".into()));
            }
            Ok(keys.iter().filter(|k| **k != 0).map(|k| (*k, k * 2)).collect())
        }
    }

    #[tokio::test]
    async fn one_pass_is_one_load_however_many_ask() {
        let batcher = Batcher::new(Doubler::default());
        let b = batcher.clone();
        let (first, second) = batcher
            .drive(async move {
                let first = join_all((0..500).map(|k| b.load_one(k))).await;
                // Asked after the first pass was answered: the next pass, a second load.
                let second = b.load_many([1, 2, 3]).await;
                (first, second)
            })
            .await;
        let first: Vec<Option<i32>> = first.into_iter().map(|r| r.ok().flatten()).collect();
        assert_eq!(first[0], None, "a key without a value");
        assert_eq!(first[10], Some(20));
        assert_eq!(first.iter().flatten().count(), 499);
        assert_eq!(second.ok().map(|m| m.len()), Some(3));
        assert_eq!(batcher.shared.loader.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_load_fails_every_waiter_of_its_pass() {
        let batcher = Batcher::new(Doubler::default());
        let b = batcher.clone();
        let results = batcher.drive(async move { join_all([1, -1, 2].map(|k| b.load_one(k))).await }).await;
        assert!(results.iter().all(Result::is_err));
    }

    #[tokio::test]
    async fn many_keys_are_loaded_in_chunks() {
        let batcher = Batcher::new(Doubler::default());
        let b = batcher.clone();
        let values = batcher.drive(async move { b.load_many(1..=(MAX_KEYS as i32 + 1)).await }).await;
        assert_eq!(values.ok().map(|m| m.len()), Some(MAX_KEYS + 1));
        assert_eq!(batcher.shared.loader.calls.load(Ordering::SeqCst), 2);
    }

    /// A small reference table of squares, read whole.
    #[derive(Default)]
    struct Squares {
        reads: AtomicUsize,
    }

    impl Loader<u8> for Squares {
        type Value = u32;
        const REFERENCE: bool = true;

        async fn load(&self, keys: &[u8]) -> Result<HashMap<u8, u32>, AppError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Ok(keys.iter().map(|k| (*k, u32::from(*k).pow(2))).collect())
        }

        async fn load_all(&self) -> Result<HashMap<u8, u32>, AppError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok((0..=255u8).map(|k| (k, u32::from(k).pow(2))).collect())
        }
    }

    #[tokio::test]
    async fn a_read_only_request_reads_a_reference_table_once() {
        let batcher = Batcher::new(Squares::default());
        batcher.keep_reference_tables();
        let b = batcher.clone();
        let found = batcher
            .drive(async move {
                // Two branches: one asks at once, the other a pass later, while the read runs.
                let early = b.load_many([1u8, 2]);
                let late = async {
                    tokio::task::yield_now().await;
                    b.load_one(12u8).await
                };
                let (early, late) = futures_util::join!(early, late);
                let again = b.load_one(3u8).await;
                (early.map(|m| m.len()).ok(), late.ok().flatten(), again.ok().flatten())
            })
            .await;
        assert_eq!(found, (Some(2), Some(144), Some(9)));
        assert_eq!(batcher.shared.loader.reads.load(Ordering::SeqCst), 1);

        let writing = Batcher::new(Squares::default());
        let w = writing.clone();
        let found = writing
            .drive(
                async move { (w.load_one(4u8).await.ok().flatten(), w.load_one(5u8).await.ok().flatten()) },
            )
            .await;
        assert_eq!(found, (Some(16), Some(25)));
        assert_eq!(
            writing.shared.loader.reads.load(Ordering::SeqCst),
            2,
            "a request that may write keeps nothing"
        );
    }

    /// A read-only request of the table with `tables`: the value of key 2, and the reads made.
    async fn read_two(tables: &Arc<ReferenceTables>) -> (Option<u32>, usize) {
        let batcher = Batcher::with_tables(Squares::default(), tables.clone());
        batcher.keep_reference_tables();
        let b = batcher.clone();
        let found = batcher.drive(async move { b.load_one(2u8).await.ok().flatten() }).await;
        (found, batcher.shared.loader.reads.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn read_only_requests_share_the_process_reference_tables_until_they_expire() {
        let process = Arc::new(ReferenceTables::default());
        assert_eq!(read_two(&process).await, (Some(4), 1), "the first request reads the table");
        assert_eq!(read_two(&process).await, (Some(4), 0), "the next takes it from the process");

        let expiring = Arc::new(ReferenceTables::new(Duration::ZERO));
        assert_eq!(read_two(&expiring).await, (Some(4), 1));
        assert_eq!(read_two(&expiring).await, (Some(4), 1), "an expired table is read again");
    }
}
