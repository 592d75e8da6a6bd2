//! Refusals in the audit log, bounded: the first refusal of a kind (same action, outcome, actor,
//! token, region, target and, for the public, address) within a window is written at once as an
//! event; its repeats in that window only raise the event's `repeats` and `last_occurred_at`,
//! written together about once a second. 3,000 bad tokens from one address are one event that
//! says 3,000, not 3,000 events.
//!
//! The open kinds are kept in memory, at most `MAX_OPEN` of them; beyond that, repeats from new
//! kinds are counted on one overflow event of no region (for the operators' view), so neither
//! memory nor the log grows with a flood of distinct addresses.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};

use crate::db::{
    Db, NodeType,
    audit::{self, Attempt},
};

/// How long repeats count on the same event.
const WINDOW: Duration = Duration::from_secs(600);
/// How often repeats are written.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Kinds kept open at most.
const MAX_OPEN: usize = 10_000;

/// What makes two refusals the same kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Kind {
    action: String,
    outcome: String,
    person_id: Option<i32>,
    token_id: Option<i32>,
    partnership_id: Option<i32>,
    target: Option<(NodeType, i32)>,
    address: Option<IpAddr>,
}

impl Kind {
    fn of(attempt: &Attempt, address: Option<IpAddr>) -> Self {
        Self {
            action: attempt.action.clone(),
            outcome: attempt.outcome.clone(),
            person_id: attempt.person_id,
            token_id: attempt.token_id,
            partnership_id: attempt.partnership_id,
            target: attempt.target,
            address,
        }
    }

    /// The kind that counts what no open kind had room for.
    fn overflow(&self) -> Self {
        Self {
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            person_id: None,
            token_id: None,
            partnership_id: None,
            target: None,
            address: None,
        }
    }
}

/// An event whose repeats are still being counted.
#[derive(Debug)]
struct Open {
    /// The event, once written.
    event_id: Option<i32>,
    opened: Instant,
    /// Repeats not written yet, and when the last happened.
    unwritten: u32,
    last: DateTime<Utc>,
}

/// The open kinds, and repeats of closed windows still to be written.
#[derive(Debug, Default)]
struct State {
    open: HashMap<Kind, Open>,
    closed: Vec<(i32, u32, DateTime<Utc>)>,
}

#[derive(Clone)]
pub struct RefusalLog {
    db: Db,
    state: Arc<Mutex<State>>,
}

impl RefusalLog {
    /// A log writing through `db`'s background handle; `spawn_flusher` writes the repeats.
    pub fn new(db: Db) -> Self {
        Self { db, state: Arc::default() }
    }

    /// Writes the repeats counted so far every second, for as long as the process runs.
    pub fn spawn_flusher(&self) {
        let log = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FLUSH_EVERY);
            loop {
                ticks.tick().await;
                log.flush().await;
            }
        });
    }

    /// Records a refusal: a new event, or one more repeat of an open one. An event of no region
    /// (the operators') names the client's address in its detail.
    pub async fn record(&self, attempt: Attempt, address: Option<IpAddr>) {
        let mut kind = Kind::of(&attempt, address);
        let mut attempt = attempt;
        if let (None, Some(address)) = (attempt.partnership_id, address) {
            let detail = attempt.detail.get_or_insert_with(|| serde_json::json!({}));
            if let Some(fields) = detail.as_object_mut() {
                fields.insert("address".to_owned(), serde_json::json!(address.to_string()));
            }
        }
        let now = Instant::now();
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let State { open, closed } = &mut *state;
            if open.len() >= MAX_OPEN && !open.contains_key(&kind) {
                open.retain(|_, o| now.duration_since(o.opened) < WINDOW || o.unwritten > 0);
                if open.len() >= MAX_OPEN {
                    kind = kind.overflow();
                    attempt = Attempt {
                        action: kind.action.clone(),
                        outcome: kind.outcome.clone(),
                        detail: Some(serde_json::json!({ "overflow": true })),
                        request_id: attempt.request_id,
                        ..Attempt::default()
                    };
                }
            }
            match open.get_mut(&kind) {
                Some(o) if now.duration_since(o.opened) < WINDOW => {
                    o.unwritten += 1;
                    o.last = Utc::now();
                    return;
                }
                _ => {
                    let fresh = Open { event_id: None, opened: now, unwritten: 0, last: Utc::now() };
                    if let Some(Open { event_id: Some(id), unwritten, last, .. }) =
                        open.insert(kind.clone(), fresh)
                        && unwritten > 0
                    {
                        closed.push((id, unwritten, last));
                    }
                }
            }
        }
        match audit::attempt(self.db.background(), attempt).await {
            Ok(id) => {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(o) = state.open.get_mut(&kind) {
                    o.event_id = Some(id);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "could not write an audit event");
                self.state.lock().unwrap_or_else(PoisonError::into_inner).open.remove(&kind);
            }
        }
    }

    /// Writes the repeats counted since the last flush, and forgets kinds whose window closed.
    pub async fn flush(&self) {
        let due: Vec<(i32, u32, DateTime<Utc>)> = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let mut due = std::mem::take(&mut state.closed);
            due.extend(state.open.values_mut().filter_map(|o| {
                let id = o.event_id?;
                (o.unwritten > 0).then(|| (id, std::mem::take(&mut o.unwritten), o.last))
            }));
            state.open.retain(|_, o| now.duration_since(o.opened) < WINDOW || o.event_id.is_none());
            due
        };
        for (id, repeats, last) in due {
            if let Err(err) = audit::add_repeats(self.db.background(), id, repeats, last).await {
                tracing::error!(error = %err, "could not write an audit event's repeats");
            }
        }
    }
}
