//! Drives a server over HTTP: closed loop (N workers, each sending its next request when the last
//! is answered) or fixed rate (requests scheduled at a rate; latency counted from the scheduled
//! time, so a stall is not hidden by the load backing off). Latencies go to an HDR histogram; a
//! response that is not 200 or carries `errors` is an error and never counts as throughput.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hdrhistogram::Histogram;
use serde_json::Value;

use crate::{dataset::Rng, scenarios::Scenario};

/// Which server a run drives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Hub,
    Baseline,
}

/// What a run measured.
pub struct Outcome {
    /// Microseconds.
    pub latency: Histogram<u64>,
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl Outcome {
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

pub struct Load {
    pub client: reqwest::Client,
    pub base: String,
    pub side: Side,
    pub scenario: Scenario,
    pub needs: usize,
    pub concurrency: usize,
    pub duration: Duration,
    /// Requests per second in total; `None` for closed loop.
    pub rate: Option<f64>,
}

struct Shared {
    latency: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

async fn once(load: &Load, rng: &mut Rng) -> Result<(), String> {
    let draw = load.scenario.draw(rng, load.needs);
    let response = match load.side {
        Side::Hub => load.client.post(format!("{}/graphql", load.base)).json(&draw.graphql).send().await,
        Side::Baseline => {
            let path = draw.baseline.ok_or("no baseline for this scenario")?;
            load.client.get(format!("{}{path}", load.base)).send().await
        }
    }
    .map_err(|e| e.to_string())?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    if !status.is_success() || body.get("errors").is_some() || body.get("data").is_none() {
        return Err(format!("{status}: {body}"));
    }
    Ok(())
}

pub async fn run(load: Arc<Load>) -> Outcome {
    let shared = Arc::new(Mutex::new(Shared {
        latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
        ok: 0,
        errors: 0,
        first_error: None,
    }));
    let start = Instant::now();
    let deadline = start + load.duration;
    let workers: Vec<_> = (0..load.concurrency)
        .map(|worker| {
            let (load, shared) = (load.clone(), shared.clone());
            tokio::spawn(async move {
                let mut rng = Rng::new(0x5EED ^ worker as u64);
                // Fixed rate: this worker's share of the schedule.
                let interval = load.rate.map(|r| Duration::from_secs_f64(load.concurrency as f64 / r));
                let mut scheduled = start
                    + interval.map_or(Duration::ZERO, |i| i.mul_f64(worker as f64 / load.concurrency as f64));
                loop {
                    if interval.is_some() {
                        tokio::time::sleep_until(scheduled.into()).await;
                    }
                    let began = if interval.is_some() { scheduled } else { Instant::now() };
                    if began >= deadline {
                        break;
                    }
                    let result = once(&load, &mut rng).await;
                    let micros = began.elapsed().as_micros().max(1) as u64;
                    let mut s = shared.lock().expect("the lock");
                    match result {
                        Ok(()) => {
                            s.ok += 1;
                            let _ = s.latency.record(micros.min(60_000_000));
                        }
                        Err(e) => {
                            s.errors += 1;
                            s.first_error.get_or_insert(e);
                        }
                    }
                    drop(s);
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
    let elapsed = start.elapsed().min(load.duration.max(Duration::from_millis(1)));
    let shared = Arc::try_unwrap(shared).ok().and_then(|m| m.into_inner().ok()).expect("workers are done");
    Outcome {
        latency: shared.latency,
        ok: shared.ok,
        errors: shared.errors,
        first_error: shared.first_error,
        elapsed,
    }
}
