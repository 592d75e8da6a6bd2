//! The hub closes prioritisation rounds at their closing time by itself: a pass at start-up,
//! then one every `--round-check-secs`, on every instance. Each round is closed by the one
//! transaction that claims it (`db::rounds::close_due`), so instances sharing a PostgreSQL
//! database never close one twice, and a coordinator's `closeRound` racing the hub either wins
//! or gets a `CONFLICT` user error.

use std::time::Duration;

use chrono::Utc;

use crate::db::{self, Db, WriteError};

/// Closes due rounds, off the request path (its statements are not counted).
pub struct RoundsCloser {
    db: Db,
}

impl RoundsCloser {
    pub fn new(db: &Db) -> Self {
        Self { db: db.for_background_work() }
    }

    /// Closes every round due now; a failure is logged and tried again at the next pass.
    pub async fn pass(&self) {
        match db::rounds::close_due(&self.db, Utc::now()).await {
            Ok(closed) if closed.is_empty() => {}
            Ok(closed) => tracing::info!(rounds = ?closed, "closed rounds at their closing time"),
            Err(WriteError::Db(err)) => tracing::warn!(error = %err, "cannot close due rounds now"),
            Err(err) => tracing::warn!(error = ?err, "cannot close a due round"),
        }
    }

    /// Runs a pass every `every` until the hub starts shutting down.
    pub fn spawn(self, every: Duration, mut shutting_down: tokio::sync::watch::Receiver<bool>) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is immediate; the start-up pass has just run.
            ticks.tick().await;
            loop {
                let stop = tokio::select! {
                    _ = ticks.tick() => false,
                    _ = shutting_down.wait_for(|down| *down) => true,
                };
                if stop {
                    return;
                }
                self.pass().await;
            }
        });
    }
}
