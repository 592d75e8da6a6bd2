//! Announcing committed changes to subscribers, on one instance or many.
//!
//! Every change already writes a history row (`need_event`, `commission_event`) in its own
//! transaction. Those rows are the outbox:
//! - on PostgreSQL the writer also runs `pg_notify('hub_events', 'n:<id>')` inside the same
//!   transaction, so the notification is delivered only when (and if) the change commits, to every
//!   instance listening on the database;
//! - on SQLite (one instance, writers serialised) `Db::commit` wakes the relay, which reads the
//!   history rows committed since the last it saw.
//!
//! One relay task per process loads each announced row once, with what filters and authorization
//! need, and sends it on one broadcast channel per topic. Subscribers filter and authorise in
//! memory: no query per subscriber per event.

use std::{sync::Arc, time::Duration};

use entity::{commission, commission_event, commission_need, need, need_event, need_theme};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use tokio::sync::{broadcast, watch};

use crate::db::Db;

/// The PostgreSQL channel the hub announces on.
pub const CHANNEL: &str = "hub_events";
/// Events a slow subscriber may fall behind before it is dropped.
pub const BUFFER: usize = 1024;

/// A change to a need, with what subscribers filter and authorise on.
#[derive(Clone, Debug)]
pub struct NeedChange {
    pub event: need_event::Model,
    pub need: need::Model,
    pub cluster_id: Option<i32>,
    pub region_id: Option<i32>,
    pub theme_ids: Vec<i32>,
}

/// A change to a commission.
#[derive(Clone, Debug)]
pub struct CommissionChange {
    pub event: commission_event::Model,
    pub commission: commission::Model,
    /// The themes of the needs it answers.
    pub theme_ids: Vec<i32>,
}

/// The broadcast channels of one process, and the wake-up of its relay.
#[derive(Clone)]
pub struct EventBus {
    pub needs: broadcast::Sender<Arc<NeedChange>>,
    pub commissions: broadcast::Sender<Arc<CommissionChange>>,
    committed: Arc<watch::Sender<u64>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            needs: broadcast::channel(BUFFER).0,
            commissions: broadcast::channel(BUFFER).0,
            committed: Arc::new(watch::channel(0).0),
        }
    }
}

impl EventBus {
    /// Called after every committed write (SQLite's relay reads what is new).
    pub fn committed(&self) {
        self.committed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Runs inside a writing transaction: on PostgreSQL, announces the history row `kind:id`
/// (`n` for a need event, `c` for a commission event) when the transaction commits.
pub async fn announce(txn: &impl ConnectionTrait, kind: char, id: i32) -> Result<(), DbErr> {
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), format!("{kind}:{id}").into()],
        ))
        .await?;
    }
    Ok(())
}

async fn need_change(db: &Db, event: need_event::Model) -> Result<Option<NeedChange>, DbErr> {
    let Some(placed) = crate::db::needs::with_place(db.background(), event.need_id).await? else {
        return Ok(None);
    };
    let crate::db::needs::Placed { need, cluster_id, region_id, theme_ids } = placed;
    Ok(Some(NeedChange { event, cluster_id, region_id, theme_ids, need }))
}

async fn commission_change(
    db: &Db,
    event: commission_event::Model,
) -> Result<Option<CommissionChange>, DbErr> {
    let Some(mut commission) =
        commission::Entity::find_by_id(event.commission_id).one(db.background()).await?
    else {
        return Ok(None);
    };
    // The commission as the event left it: a later move may already be committed, and a
    // subscriber must see the moves in order (and be shown, or not, by the status of each).
    // Its other fields are read as they are now.
    let status_then = match event.to_status {
        Some(status) => Some(status),
        None => commission_event::Entity::find()
            .filter(commission_event::Column::CommissionId.eq(event.commission_id))
            .filter(commission_event::Column::Id.lte(event.id))
            .filter(commission_event::Column::ToStatus.is_not_null())
            .order_by_desc(commission_event::Column::Id)
            .one(db.background())
            .await?
            .and_then(|earlier| earlier.to_status),
    };
    if let Some(status) = status_then {
        commission.status = status;
    }
    let need_ids: Vec<i32> = commission_need::Entity::find()
        .filter(commission_need::Column::CommissionId.eq(commission.id))
        .all(db.background())
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect();
    let mut theme_ids: Vec<i32> = need_theme::Entity::find()
        .filter(need_theme::Column::NeedId.is_in(need_ids))
        .all(db.background())
        .await?
        .into_iter()
        .map(|t| t.theme_id)
        .collect();
    theme_ids.sort_unstable();
    theme_ids.dedup();
    Ok(Some(CommissionChange { event, commission, theme_ids }))
}

async fn relay_need_event(db: &Db, bus: &EventBus, event: need_event::Model) -> Result<(), DbErr> {
    if let Some(change) = need_change(db, event).await? {
        // No subscriber is not an error.
        let _ = bus.needs.send(Arc::new(change));
    }
    Ok(())
}

async fn relay_commission_event(
    db: &Db,
    bus: &EventBus,
    event: commission_event::Model,
) -> Result<(), DbErr> {
    if let Some(change) = commission_change(db, event).await? {
        let _ = bus.commissions.send(Arc::new(change));
    }
    Ok(())
}

/// Starts the relay of this process: a PostgreSQL listener, or SQLite's reader of new rows.
pub fn spawn_relay(db: Db) {
    let bus = db.bus().clone();
    tokio::spawn(async move {
        let result = match db.backend() {
            DatabaseBackend::Postgres => listen(&db, &bus).await,
            _ => tail(&db, &bus).await,
        };
        if let Err(err) = result {
            tracing::error!(error = %err, "the event relay stopped");
        }
    });
}

/// PostgreSQL: every instance listens; a notification names one committed history row.
async fn listen(db: &Db, bus: &EventBus) -> Result<(), DbErr> {
    let pool = db.background().get_postgres_connection_pool();
    loop {
        let mut listener = match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for events; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %err, "cannot listen for events; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        while let Ok(notification) = listener.recv().await {
            let payload = notification.payload();
            let Some((kind, id)) =
                payload.split_once(':').and_then(|(k, id)| Some((k, id.parse::<i32>().ok()?)))
            else {
                continue;
            };
            let relayed = match kind {
                "n" => match need_event::Entity::find_by_id(id).one(db.background()).await? {
                    Some(event) => relay_need_event(db, bus, event).await,
                    None => Ok(()),
                },
                "c" => match commission_event::Entity::find_by_id(id).one(db.background()).await? {
                    Some(event) => relay_commission_event(db, bus, event).await,
                    None => Ok(()),
                },
                _ => Ok(()),
            };
            if let Err(err) = relayed {
                tracing::warn!(error = %err, payload, "relaying an event");
            }
        }
        tracing::warn!("the event listener lost its connection; reconnecting");
    }
}

/// SQLite: after each commit, read the history rows committed since the last seen.
async fn tail(db: &Db, bus: &EventBus) -> Result<(), DbErr> {
    // Only what is committed from now on; history is read through the API.
    let mut last_need = need_event::Entity::find()
        .order_by_desc(need_event::Column::Id)
        .one(db.background())
        .await?
        .map_or(0, |e| e.id);
    let mut last_commission = commission_event::Entity::find()
        .order_by_desc(commission_event::Column::Id)
        .one(db.background())
        .await?
        .map_or(0, |e| e.id);
    let mut committed = bus.committed.subscribe();
    while committed.changed().await.is_ok() {
        let needs = need_event::Entity::find()
            .filter(need_event::Column::Id.gt(last_need))
            .order_by_asc(need_event::Column::Id)
            .all(db.background())
            .await?;
        for event in needs {
            last_need = event.id;
            relay_need_event(db, bus, event).await?;
        }
        let commissions = commission_event::Entity::find()
            .filter(commission_event::Column::Id.gt(last_commission))
            .order_by_asc(commission_event::Column::Id)
            .all(db.background())
            .await?;
        for event in commissions {
            last_commission = event.id;
            relay_commission_event(db, bus, event).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use entity::{
        enums::{CommissionEventKind, CommissionStatus},
        person, product_type, region,
    };
    use sea_orm::{ActiveModelTrait, ActiveValue::Set};

    use super::*;

    /// Each relayed change shows the commission with the status its event left, even when later
    /// moves were committed before the relay read it.
    #[tokio::test]
    async fn a_relayed_commission_has_the_status_of_its_event() {
        let scratch = crate::db::Scratch::new("relay").await;
        let db = &scratch.db;
        let conn = db.conn();
        let now = chrono::Utc::now();
        let region = region::Entity::find().one(conn).await.expect("read").expect("a region");
        let product = product_type::Entity::find().one(conn).await.expect("read").expect("a product type");
        let person = person::ActiveModel {
            name: Set("Kari Nordmann".into()),
            email: Set("kari@example.no".into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("a person");
        // The commission as it is now: three moves on.
        let commission = commission::ActiveModel {
            region_id: Set(region.id),
            question: Set("Kva verkar?".into()),
            product_type_id: Set(product.id),
            deadline: Set(now),
            status: Set(CommissionStatus::InProgress),
            created_by_person_id: Set(person.id),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("a commission");
        use CommissionEventKind::{Created, Interest, MilestoneAdded, Progress, StatusChanged};
        use CommissionStatus::{Awarded, Draft, InProgress, Open};
        let history = [
            (Created, None, Some(Draft), Draft),
            (StatusChanged, Some(Draft), Some(Open), Open),
            (Interest, None, None, Open),
            (StatusChanged, Some(Open), Some(Awarded), Awarded),
            (MilestoneAdded, None, None, Awarded),
            (Progress, Some(Awarded), Some(InProgress), InProgress),
        ];
        let mut events = Vec::new();
        for (kind, from, to, _) in history {
            let event = commission_event::ActiveModel {
                commission_id: Set(commission.id),
                occurred_at: Set(now),
                kind: Set(kind),
                from_status: Set(from),
                to_status: Set(to),
                ..Default::default()
            }
            .insert(conn)
            .await
            .expect("an event");
            events.push(event);
        }
        for (event, (kind, _, _, expected)) in events.into_iter().zip(history) {
            let change = commission_change(db, event).await.expect("read").expect("the commission");
            assert_eq!(change.commission.status, expected, "after {kind}");
        }
    }

    /// A need's change carries its municipality's cluster and region (read with the need, in
    /// one statement) and its themes.
    #[tokio::test]
    async fn a_relayed_need_has_its_place_and_themes() {
        let scratch = crate::db::Scratch::new("relay-need").await;
        let db = &scratch.db;
        let conn = db.conn();
        crate::sample::generate_needs(db, 200, 5).await.expect("needs");
        let in_cluster: Vec<i32> = entity::municipality::Entity::find()
            .filter(entity::municipality::Column::ClusterId.is_not_null())
            .all(conn)
            .await
            .expect("read")
            .into_iter()
            .map(|m| m.id)
            .collect();
        let need = need::Entity::find()
            .filter(need::Column::MunicipalityId.is_in(in_cluster))
            .one(conn)
            .await
            .expect("read")
            .expect("a need in a cluster");
        let event = need_event::Entity::find()
            .filter(need_event::Column::NeedId.eq(need.id))
            .one(conn)
            .await
            .expect("read")
            .expect("an event");
        let municipality = entity::municipality::Entity::find_by_id(need.municipality_id)
            .one(conn)
            .await
            .expect("read")
            .expect("its municipality");
        let county = entity::county::Entity::find_by_id(municipality.county_id)
            .one(conn)
            .await
            .expect("read")
            .expect("a county");
        let mut themes: Vec<i32> = crate::db::needs::themes_of(conn, &[need.id])
            .await
            .expect("read")
            .remove(&need.id)
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.id)
            .collect();
        let change = need_change(db, event).await.expect("read").expect("the need");
        assert_eq!(change.need, need);
        assert_eq!((change.cluster_id, change.region_id), (municipality.cluster_id, county.region_id));
        assert!(change.cluster_id.is_some());
        let mut relayed = change.theme_ids.clone();
        relayed.sort_unstable();
        themes.sort_unstable();
        assert_eq!(relayed, themes);
    }
}
