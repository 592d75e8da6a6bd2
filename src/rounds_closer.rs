//! The hub closes prioritisation rounds at their closing time by itself: a pass at start-up,
//! then one every `--round-check-secs`, on every instance. Each round is closed by the one
//! transaction that claims it (`db::rounds::close_due`), so instances sharing a PostgreSQL
//! database never close one twice, and a coordinator's `closeRound` racing the hub either wins
//! or gets a `CONFLICT` user error.

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
    pub async fn close_due(&self) {
        match db::rounds::close_due(&self.db, Utc::now()).await {
            Ok(closed) if closed.is_empty() => {}
            Ok(closed) => tracing::info!(rounds = ?closed, "closed rounds at their closing time"),
            Err(WriteError::Db(err)) => tracing::warn!(error = %err, "cannot close due rounds now"),
            Err(err) => tracing::warn!(error = ?err, "cannot close a due round"),
        }
    }
}

impl crate::periodic::Pass for RoundsCloser {
    async fn pass(&self) {
        self.close_due().await;
    }
}
