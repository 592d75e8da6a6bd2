//! Announcing committed changes to subscribers, on one instance or many.
//!
//! Every change writes a history row in its own transaction: the outbox (`db::outbox`), which
//! also says how a committed row is announced (PostgreSQL's notifications to every instance, or
//! SQLite's reading of what each commit added). One relay task per process takes each announced
//! change once, read with what filters and authorization need, and sends it on one broadcast
//! channel per topic. Subscribers filter and authorise in memory: no query per subscriber per
//! event.

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast;

pub use crate::db::outbox::{CommissionChange, NeedChange};
use crate::db::{
    Db,
    outbox::{Announcements, Change},
};

/// Events a slow subscriber may fall behind before it is dropped.
pub const BUFFER: usize = 1024;
/// How long the relay waits after failing to read a change before it goes on.
const RETRY: Duration = Duration::from_secs(1);

/// The broadcast channels of one process.
#[derive(Clone)]
pub struct EventBus {
    pub needs: broadcast::Sender<Arc<NeedChange>>,
    pub commissions: broadcast::Sender<Arc<CommissionChange>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self { needs: broadcast::channel(BUFFER).0, commissions: broadcast::channel(BUFFER).0 }
    }
}

impl EventBus {
    /// Sends a change to the subscribers of its topic; no subscriber is not an error.
    fn send(&self, change: Change) {
        match change {
            Change::Need(change) => {
                let _ = self.needs.send(change);
            }
            Change::Commission(change) => {
                let _ = self.commissions.send(change);
            }
        }
    }
}

/// Starts the relay of this process (a PostgreSQL listener, or SQLite's reader of new rows)
/// and returns the channels it sends on.
pub fn spawn_relay(db: Db) -> EventBus {
    let bus = EventBus::default();
    let sender = bus.clone();
    tokio::spawn(async move { relay(&db, &sender).await });
    bus
}

/// Sends every announced change to the subscribers of its topic, until the `Db` is gone. A
/// failed read is logged and the relay goes on after a pause.
async fn relay(db: &Db, bus: &EventBus) {
    let mut announcements = loop {
        match Announcements::open(db).await {
            Ok(announcements) => break announcements,
            Err(err) => {
                tracing::warn!(error = %err, "cannot start the event relay; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    loop {
        match announcements.next().await {
            Ok(Some(changes)) => changes.into_iter().for_each(|change| bus.send(change)),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "relaying events");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
