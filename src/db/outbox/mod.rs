//! The outbox: the history rows (`need_event`, `commission_event`) every change writes in its own
//! transaction, and how committed ones are announced and read back.
//!
//! - On PostgreSQL the writer also runs `pg_notify('hub_events', 'n:<id>')` inside the same
//!   transaction ([`announce`]), so the notification is delivered only when (and if) the change
//!   commits, to every instance listening on the database ([`Listener`]).
//! - On SQLite (one instance, writers serialised) `Db::commit` counts the commit
//!   ([`Db::commits`]), and a reader takes the history rows committed since the last it saw
//!   ([`Tail`]).
//!
//! [`Announcements`] reads either way, each row with what subscribers filter and authorise on
//! ([`Change`]). What is done with an announced row (the relay and the fan-out to subscribers) sits above, in
//! `crate::events`.

use std::{collections::HashMap, sync::Arc, time::Duration};

use entity::{
    commission, commission_event, commission_need, enums::CommissionStatus, need, need_event, need_theme,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, Func, Query},
    sqlx::postgres::PgListener,
};
use tokio::sync::watch;

use super::Db;

/// The PostgreSQL channel the hub announces on.
pub const CHANNEL: &str = "hub_events";

/// The history tables of the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// A `need_event` row.
    Need,
    /// A `commission_event` row.
    Commission,
}

impl Topic {
    /// The letter naming the topic in a notification (`n:<id>`, `c:<id>`).
    fn letter(self) -> char {
        match self {
            Self::Need => 'n',
            Self::Commission => 'c',
        }
    }

    fn of_letter(letter: &str) -> Option<Self> {
        match letter {
            "n" => Some(Self::Need),
            "c" => Some(Self::Commission),
            _ => None,
        }
    }
}

/// A committed history row, read with what subscribers filter and authorise on; shared, since
/// it is sent to every subscriber.
#[derive(Clone, Debug)]
pub enum Change {
    Need(Arc<NeedChange>),
    Commission(Arc<CommissionChange>),
}

/// A change to a need.
#[derive(Clone, Debug)]
pub struct NeedChange {
    pub event: need_event::Model,
    pub need: need::Model,
    /// The unit that raised the need and every organisation above it, in id order (its
    /// partnership is the need's own).
    pub ancestors: Vec<i32>,
    pub theme_ids: Vec<i32>,
}

/// A change to a commission.
#[derive(Clone, Debug)]
pub struct CommissionChange {
    pub event: commission_event::Model,
    /// The commission with the status the event left (its other fields as they are now).
    pub commission: commission::Model,
    /// The themes of the needs it answers.
    pub theme_ids: Vec<i32>,
}

/// Runs inside a writing transaction: on PostgreSQL, announces the history row `id` of `topic`
/// when (and if) the transaction commits. SQLite's readers learn of it from the commit itself.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn announce(txn: &impl ConnectionTrait, topic: Topic, id: i32) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute(&Query::select().expr(announcement(topic, Expr::val(id))).to_owned()).await?;
    }
    Ok(())
}

/// PostgreSQL's announcement of the history row whose id `id` yields: `pg_notify` (which
/// sea-query does not name) on [`CHANNEL`] with `<letter>:<id>`, in a statement of its own or in
/// the statement that writes the row (see `db::needs::write::create`).
pub(crate) fn announcement(topic: Topic, id: Expr) -> Expr {
    let payload = Func::cust("concat").arg(format!("{}:", topic.letter())).arg(id);
    Func::cust("pg_notify").arg(CHANNEL).arg(payload).into()
}

/// The number of write transactions a `Db` has committed, shared by its clones: SQLite's
/// outbox reader waits on it.
#[derive(Clone)]
pub(super) struct Commits(Arc<watch::Sender<u64>>);

impl Default for Commits {
    fn default() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }
}

impl Commits {
    pub(super) fn count(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// The most announcements the PostgreSQL listener reads together.
const READ_AT_ONCE: usize = 256;

/// Reads the announced rows with their changes: the needs' first, in the order announced, then
/// the commissions'; a row that is gone (or whose need or commission is) is left out. The needs'
/// changes take two statements however many there are.
#[tracing::instrument(level = "debug", skip_all)]
async fn read_all(conn: &impl ConnectionTrait, announced: &[(Topic, i32)]) -> Result<Vec<Change>, DbErr> {
    let of = |topic| announced.iter().filter(move |(t, _)| *t == topic).map(|(_, id)| *id);
    let mut changes = Vec::with_capacity(announced.len());
    let need_ids: Vec<i32> = of(Topic::Need).collect();
    if !need_ids.is_empty() {
        let mut events: HashMap<i32, need_event::Model> = need_event::Entity::find()
            .filter(need_event::Column::Id.is_in(need_ids.iter().copied()))
            .all(conn)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
        let in_order = need_ids.iter().filter_map(|id| events.remove(id)).collect();
        changes.extend(need_changes(conn, in_order).await?);
    }
    for id in of(Topic::Commission) {
        if let Some(event) = commission_event::Entity::find_by_id(id).one(conn).await? {
            changes.extend(commission_change(conn, event).await?);
        }
    }
    Ok(changes)
}

/// The changes of need events, in their order: each need with the organisations it was raised
/// under and its themes, read in one statement for all; an event whose need is gone is left out.
#[tracing::instrument(level = "debug", skip_all)]
async fn need_changes(
    conn: &impl ConnectionTrait,
    events: Vec<need_event::Model>,
) -> Result<Vec<Change>, DbErr> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let need_ids: Vec<i32> = events.iter().map(|e| e.need_id).collect();
    let placed = super::needs::with_places(conn, &need_ids).await?;
    Ok(events
        .into_iter()
        .filter_map(|event| {
            let super::needs::Placed { need, ancestors, theme_ids } = placed.get(&event.need_id)?.clone();
            Some(Change::Need(Arc::new(NeedChange { event, need, ancestors, theme_ids })))
        })
        .collect())
}

/// A commission's change: the commission as the event left it (a later move may already be
/// committed, and a subscriber must see the moves in order, and be shown, or not, by the status
/// of each; its other fields are read as they are now), with the themes of its needs.
#[tracing::instrument(level = "debug", skip_all)]
async fn commission_change(
    conn: &impl ConnectionTrait,
    event: commission_event::Model,
) -> Result<Option<Change>, DbErr> {
    let Some(mut commission) = commission::Entity::find_by_id(event.commission_id).one(conn).await? else {
        return Ok(None);
    };
    let status_then = match event.to_status {
        Some(status) => Some(status),
        None => commission_event::Entity::find()
            .filter(commission_event::Column::CommissionId.eq(event.commission_id))
            .filter(commission_event::Column::Id.lte(event.id))
            .filter(commission_event::Column::ToStatus.is_not_null())
            .order_by_desc(commission_event::Column::Id)
            .one(conn)
            .await?
            // No move yet: every commission is created as a draft (`Created` names no status).
            .map_or(Some(CommissionStatus::Draft), |earlier| earlier.to_status),
    };
    if let Some(status) = status_then {
        commission.status = status;
    }
    let need_ids: Vec<i32> = commission_need::Entity::find()
        .filter(commission_need::Column::CommissionId.eq(commission.id))
        .all(conn)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect();
    let mut theme_ids: Vec<i32> = need_theme::Entity::find()
        .filter(need_theme::Column::NeedId.is_in(need_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|t| t.theme_id)
        .collect();
    theme_ids.sort_unstable();
    theme_ids.dedup();
    Ok(Some(Change::Commission(Arc::new(CommissionChange { event, commission, theme_ids }))))
}

/// A notification's topic and row (`n:<id>`); `None` for one the hub did not send.
fn parse(payload: &str) -> Option<(Topic, i32)> {
    let (letter, id) = payload.split_once(':')?;
    Some((Topic::of_letter(letter)?, id.parse().ok()?))
}

/// The committed changes as they come, read the way the database allows: PostgreSQL's
/// notifications of every instance's commits, or SQLite's rows committed by this process.
pub enum Announcements {
    Listen(Listener),
    Tail(Tail),
}

impl Announcements {
    /// Starts reading: only what is committed from now on.
    pub async fn open(db: &Db) -> Result<Self, DbErr> {
        Ok(match db.backend() {
            DatabaseBackend::Postgres => Self::Listen(Listener::new(db)),
            _ => Self::Tail(Tail::new(db).await?),
        })
    }

    /// The next committed changes, in order; `None` when the `Db` is gone.
    pub async fn next(&mut self) -> Result<Option<Vec<Change>>, DbErr> {
        match self {
            Self::Listen(listener) => listener.next().await.map(Some),
            Self::Tail(tail) => tail.next().await,
        }
    }
}

/// PostgreSQL: the notifications of every instance's commits, one connection per process.
pub struct Listener {
    db: Db,
    listener: Option<PgListener>,
}

impl Listener {
    pub fn new(db: &Db) -> Self {
        Self { db: db.clone(), listener: None }
    }

    /// The next committed rows announced on the channel: the first to arrive with those already
    /// received after it (up to [`READ_AT_ONCE`]), read together. When the connection is lost it
    /// reconnects, retrying every second; rows announced meanwhile are missed (subscriptions
    /// carry what happens while they are connected, history is read through the API).
    pub async fn next(&mut self) -> Result<Vec<Change>, DbErr> {
        loop {
            let Some(listener) = self.listener.as_mut() else {
                self.listener = Some(self.connect().await);
                continue;
            };
            match listener.recv().await {
                Ok(first) => {
                    let mut announced: Vec<(Topic, i32)> = parse(first.payload()).into_iter().collect();
                    while announced.len() < READ_AT_ONCE {
                        let Some(next) = listener.next_buffered() else { break };
                        announced.extend(parse(next.payload()));
                    }
                    let changes = read_all(self.db.background(), &announced).await?;
                    if !changes.is_empty() {
                        return Ok(changes);
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "the event listener lost its connection; reconnecting");
                    self.listener = None;
                }
            }
        }
    }

    async fn connect(&self) -> PgListener {
        let pool = self.db.background().get_postgres_connection_pool();
        loop {
            let listening = async {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(CHANNEL).await?;
                Ok::<_, sea_orm::sqlx::Error>(listener)
            };
            match listening.await {
                Ok(listener) => return listener,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot listen for events; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// SQLite: after each commit of this process, the history rows committed since the last seen.
pub struct Tail {
    db: Db,
    commits: watch::Receiver<u64>,
    last_need: i32,
    last_commission: i32,
}

impl Tail {
    /// Starts after the newest rows: only what is committed from now on.
    pub async fn new(db: &Db) -> Result<Self, DbErr> {
        let commits = db.commits();
        let conn = db.background();
        let last_need = need_event::Entity::find()
            .order_by_desc(need_event::Column::Id)
            .one(conn)
            .await?
            .map_or(0, |e| e.id);
        let last_commission = commission_event::Entity::find()
            .order_by_desc(commission_event::Column::Id)
            .one(conn)
            .await?
            .map_or(0, |e| e.id);
        Ok(Self { db: db.clone(), commits, last_need, last_commission })
    }

    /// Waits for the next commit, then reads what it (and any before it) added, in order of
    /// topic and id. `None` when the `Db` is gone.
    pub async fn next(&mut self) -> Result<Option<Vec<Change>>, DbErr> {
        if self.commits.changed().await.is_err() {
            return Ok(None);
        }
        let conn = self.db.background();
        let needs = need_event::Entity::find()
            .filter(need_event::Column::Id.gt(self.last_need))
            .order_by_asc(need_event::Column::Id)
            .all(conn)
            .await?;
        let commissions = commission_event::Entity::find()
            .filter(commission_event::Column::Id.gt(self.last_commission))
            .order_by_asc(commission_event::Column::Id)
            .all(conn)
            .await?;
        // Past the needs' events once they are read: a failed read reads them again next time.
        let last_need = needs.last().map_or(self.last_need, |e| e.id);
        let mut changes = need_changes(conn, needs).await?;
        self.last_need = last_need;
        for event in commissions {
            self.last_commission = event.id;
            changes.extend(commission_change(conn, event).await?);
        }
        Ok(Some(changes))
    }
}

#[cfg(test)]
mod tests;
