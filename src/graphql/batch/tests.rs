//! The batcher with two toy loaders: one load per pass however many ask, failures, chunks, and
//! reference tables read once and shared until they expire.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::future::join_all;

use super::{Batcher, HashMap, Loader, ReferenceTables, queue::MAX_KEYS};
use crate::error::AppError;

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
        .drive(async move { (w.load_one(4u8).await.ok().flatten(), w.load_one(5u8).await.ok().flatten()) })
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
