//! The load driver of every scenario: the reads (`load::run`, one kind), the writes of M1, the
//! read and write mix, and the mutations that trigger S1's events. Two modes: closed
//! loop (each worker sends its next operation when the last is answered) or fixed rate (each
//! worker keeps its share of a schedule, and latency counts from the scheduled time, so a stall
//! is not hidden by the load backing off). Each operation names its kind (`tag`), and every kind
//! gets its own histogram, counts and first error.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;

use crate::load::Outcome;

/// How to drive: workers, for how long, and at which total rate (`None`: closed loop).
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub concurrency: usize,
    pub duration: Duration,
    pub rate: Option<f64>,
}

struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
            ok: 0,
            errors: 0,
            first_error: None,
        }
    }
}

/// Runs `op(worker, iteration)` under `plan`; `op` answers with its kind (an index below
/// `kinds`) and whether it succeeded. Returns one outcome per kind.
pub async fn run<F, Fut>(plan: Plan, kinds: usize, op: F) -> Vec<Outcome>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (usize, Result<(), String>)> + Send,
{
    let op = Arc::new(op);
    let tallies = Arc::new(Mutex::new((0..kinds).map(|_| Tally::new()).collect::<Vec<_>>()));
    let concurrency = plan.concurrency.max(1);
    let start = Instant::now();
    let deadline = start + plan.duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|worker| {
            let (op, tallies) = (op.clone(), tallies.clone());
            tokio::spawn(async move {
                let interval = plan.rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r));
                let mut scheduled = start
                    + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / concurrency as f64));
                let mut iteration = 0u64;
                loop {
                    if interval.is_some() {
                        tokio::time::sleep_until(scheduled.into()).await;
                    }
                    let began = if interval.is_some() { scheduled } else { Instant::now() };
                    if began >= deadline {
                        break;
                    }
                    let (kind, result) = op(worker, iteration).await;
                    let micros = began.elapsed().as_micros().max(1) as u64;
                    iteration += 1;
                    let mut all = tallies.lock().expect("the lock");
                    let t = &mut all[kind.min(kinds - 1)];
                    match result {
                        Ok(()) => {
                            t.ok += 1;
                            let _ = t.latency.record(micros.min(60_000_000));
                        }
                        Err(e) => {
                            t.errors += 1;
                            t.first_error.get_or_insert(e);
                        }
                    }
                    drop(all);
                    if let Some(interval) = interval {
                        scheduled += interval;
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = start.elapsed().min(plan.duration.max(Duration::from_millis(1)));
    let tallies = Arc::try_unwrap(tallies).ok().and_then(|m| m.into_inner().ok()).expect("workers are done");
    tallies
        .into_iter()
        .map(|t| Outcome {
            latency: t.latency,
            ok: t.ok,
            errors: t.errors,
            first_error: t.first_error,
            elapsed,
        })
        .collect()
}
