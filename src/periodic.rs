//! Work each instance does by itself every so often, off the request path: closing due rounds
//! (`rounds_closer`) and folding the tallies' slots (`TallyFolder`).

use std::time::Duration;

use tokio::sync::watch;

use crate::db::{self, Db};

/// One pass of work done every so often.
pub trait Pass: Send + Sync + 'static {
    /// Does the work once; a failure is logged and tried again at the next pass.
    fn pass(&self) -> impl Future<Output = ()> + Send;
}

/// Runs `work` every `every` (the first time after `every`) until the hub starts shutting down.
pub fn spawn_every(every: Duration, mut shutting_down: watch::Receiver<bool>, work: impl Pass) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate.
        ticks.tick().await;
        loop {
            let stop = tokio::select! {
                _ = ticks.tick() => false,
                _ = shutting_down.wait_for(|down| *down) => true,
            };
            if stop {
                return;
            }
            work.pass().await;
        }
    });
}

/// How often each instance folds the tallies' slots on PostgreSQL.
pub const FOLD_EVERY: Duration = Duration::from_secs(5);

/// Folds what writes added to the tallies' slots into one row per group (`db::needs::fold_tallies`).
pub struct TallyFolder {
    db: Db,
}

impl TallyFolder {
    pub fn new(db: &Db) -> Self {
        Self { db: db.for_background_work() }
    }
}

impl Pass for TallyFolder {
    async fn pass(&self) {
        match db::needs::fold_tallies(&self.db).await {
            Ok(groups) => tracing::debug!(groups, "folded the tallies' slots"),
            Err(err) => tracing::warn!(error = %err, "cannot fold the tallies' slots now"),
        }
    }
}
