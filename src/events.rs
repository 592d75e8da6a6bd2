//! Announcing committed changes to subscribers, on one instance or many.
//!
//! Every change writes a history row in its own transaction: the outbox (`db::outbox`), which
//! also says how a committed row is announced (PostgreSQL's notifications to every instance, or
//! SQLite's reading of what each commit added). One relay task per process takes each announced
//! change once, read with what filters and authorization need, and sends it on one broadcast
//! channel per topic. Subscribers filter and authorise in memory: no query per subscriber per
//! event.

use std::{sync::Arc, time::Duration};

use sea_orm::DatabaseBackend;
use tokio::sync::broadcast;

pub use crate::db::outbox::{CommissionChange, NeedChange};
use crate::db::{
    Db,
    outbox::{Change, Listener, Tail},
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
    tokio::spawn(async move {
        match db.backend() {
            DatabaseBackend::Postgres => listen(&db, &sender).await,
            _ => tail(&db, &sender).await,
        }
    });
    bus
}

/// PostgreSQL: every instance listens; a notification names one committed history row.
async fn listen(db: &Db, bus: &EventBus) {
    let mut listener = Listener::new(db);
    loop {
        match listener.next().await {
            Ok(change) => bus.send(change),
            Err(err) => {
                tracing::warn!(error = %err, "relaying an event");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

/// SQLite: after each commit, the history rows committed since the last seen.
async fn tail(db: &Db, bus: &EventBus) {
    let mut tail = loop {
        match Tail::new(db).await {
            Ok(tail) => break tail,
            Err(err) => {
                tracing::warn!(error = %err, "cannot start the event relay; retrying");
                tokio::time::sleep(RETRY).await;
            }
        }
    };
    loop {
        match tail.next().await {
            Ok(Some(changes)) => changes.into_iter().for_each(|change| bus.send(change)),
            Ok(None) => return,
            Err(err) => {
                tracing::warn!(error = %err, "relaying events");
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}
