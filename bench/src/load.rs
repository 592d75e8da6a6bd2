//! Drives a server over HTTP: closed loop (N workers, each sending its next request when the last
//! is answered) or fixed rate (requests scheduled at a rate; latency counted from the scheduled
//! time, so a stall is not hidden by the load backing off). Latencies go to an HDR histogram; a
//! response that is not 200 or carries `errors` is an error and never counts as throughput.

use std::{sync::Arc, time::Duration};

use hdrhistogram::Histogram;
use serde_json::Value;

use sample::Rng;

use crate::scenarios::Scenario;

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
    /// The servers' addresses: worker `w` sends to the `w % len`th (several hub instances).
    pub bases: Vec<String>,
    pub side: Side,
    pub scenario: Scenario,
    pub needs: usize,
    pub concurrency: usize,
    pub duration: Duration,
    /// Requests per second in total; `None` for closed loop.
    pub rate: Option<f64>,
    /// The token hub requests are sent with (`None`: the public).
    pub token: Option<String>,
}

async fn once(load: &Load, base: &str, rng: &mut Rng) -> Result<(), String> {
    let draw = load.scenario.draw(rng, load.needs);
    let response = match load.side {
        Side::Hub => {
            let request = load.client.post(format!("{base}/graphql")).json(&draw.graphql);
            match &load.token {
                Some(token) => request.bearer_auth(token),
                None => request,
            }
            .send()
            .await
        }
        Side::Baseline => {
            let path = draw.baseline.ok_or("no baseline for this scenario")?;
            load.client.get(format!("{base}{path}")).send().await
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
    let plan = crate::drive::Plan { concurrency: load.concurrency, duration: load.duration, rate: load.rate };
    let outcomes = crate::drive::run(plan, 1, move |worker, iteration| {
        let load = load.clone();
        async move {
            // Each request draws from its own seeded generator: the same run, the same requests.
            let mut rng = Rng::new(0x5EED ^ (worker as u64) ^ (iteration << 16));
            let base = &load.bases[worker % load.bases.len()];
            (0, once(&load, base, &mut rng).await)
        }
    })
    .await;
    outcomes.into_iter().next().expect("one kind")
}
