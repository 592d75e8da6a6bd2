//! The notification queue is the history: a committed change leaves its events pending for the
//! fan-out, a refused one leaves nothing, history written before the queue (or by the sample
//! data) is never pending, and instances sharing a PostgreSQL database claim each event once.
//! Deliveries are written once per message id and taken by one worker at a time, under a lease
//! that runs out if the worker dies.

use chrono::{Duration, Utc};
use entity::enums::{DeliveryChannel, DeliveryStatus, DeliveryTopic, NotificationKind};
use knowledge_hub::db::{
    Db,
    notify::{
        deliveries::{self, NewDelivery, Settled, Settlement, Take},
        pending::{self, Pending},
    },
    outbox::Topic,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, QueryOrder};
use serde_json::json;

use crate::helpers::{Backend, TestApp, both_databases, cast, need_input, without_workers};

async fn pending_now(db: &Db) -> Vec<Pending> {
    let txn = db.begin_write().await.expect("a write transaction");
    let claimed = pending::claim(&txn, 1_000).await.expect("claimed");
    txn.rollback().await.expect("rolled back");
    claimed
}

async fn submit(app: &TestApp, token: &str, title: &str) -> serde_json::Value {
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    app.data_as(
        token,
        "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
        json!({ "input": need_input(title, &theme) }),
    )
    .await["submitNeed"]["need"]["id"]
        .clone()
}

#[both_databases(without_workers)]
async fn a_committed_change_waits_for_its_notifications_and_a_refused_one_adds_nothing(app: TestApp) {
    let c = cast(&app).await;
    assert_eq!(pending_now(app.db()).await, Vec::new(), "the reference data and cast notify nothing");
    let need = submit(&app, &c.bergen, "Eit behov").await;
    let created = pending_now(app.db()).await;
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].topic, Topic::Need);

    // Refused: Bergen may not accept its own need; nothing is written, nothing waits.
    let accept = "mutation($n: ID!) { acceptNeed(input: { need: $n, version: 1 }) { need { status } } }";
    let (_, refused) = app.query_as(&c.bergen, accept, json!({ "n": need })).await;
    assert!(refused.get("errors").is_some(), "{refused}");
    assert_eq!(pending_now(app.db()).await, created);
    app.data_as(&c.cluster_coordinator, accept, json!({ "n": need })).await;
    let waiting = pending_now(app.db()).await;
    assert_eq!(waiting.len(), 2);

    // Claimed and done in one transaction: nothing waits any more; a rolled-back claim keeps them.
    let txn = app.db().begin_write().await.expect("a write transaction");
    let claimed = pending::claim(&txn, 1_000).await.expect("claimed");
    pending::done(&txn, &claimed).await.expect("done");
    txn.rollback().await.expect("rolled back");
    assert_eq!(pending_now(app.db()).await, waiting, "a claim that does not commit leaves them");
    let txn = app.db().begin_write().await.expect("a write transaction");
    let claimed = pending::claim(&txn, 1_000).await.expect("claimed");
    pending::done(&txn, &claimed).await.expect("done");
    txn.commit().await.expect("committed");
    assert_eq!(pending_now(app.db()).await, Vec::new());
}

#[both_databases(without_workers)]
async fn history_written_without_the_flag_is_never_pending(app: TestApp) {
    // The sample data writes history as the bench loads it: none of it waits.
    sample::generate_needs(app.db(), 50, 3).await.expect("sample needs");
    assert_eq!(pending_now(app.db()).await, Vec::new());
    let c = cast(&app).await;
    submit(&app, &c.bergen, "Eit behov").await;
    let txn = app.db().begin_write().await.expect("a write transaction");
    let claimed = pending::claim(&txn, 1_000).await.expect("claimed");
    pending::done(&txn, &claimed).await.expect("done");
    txn.commit().await.expect("committed");
    // An older writer (or the sample data) does not set the flag: the column's default keeps it
    // out of the queue, as the migration keeps the history that was there before it.
    let need_id = claimed[0].event_id;
    let event = entity::need_event::Entity::find_by_id(need_id)
        .one(app.db().conn())
        .await
        .expect("read")
        .expect("the event");
    entity::need_event::ActiveModel {
        need_id: Set(event.need_id),
        occurred_at: Set(chrono::Utc::now()),
        kind: Set(entity::enums::NeedEventKind::Edited),
        ..Default::default()
    }
    .insert(app.db().conn())
    .await
    .expect("an event without the flag");
    assert_eq!(pending_now(app.db()).await, Vec::new());
}

#[tokio::test]
async fn two_instances_claim_each_pending_event_once_postgres() {
    let a = TestApp::spawn_with(Backend::Postgres, without_workers).await;
    let c = cast(&a).await;
    for i in 0..10 {
        submit(&a, &c.bergen, &format!("Behov {i}")).await;
    }
    let other = Db::connect(&a.database_url).await.expect("a second instance's pool");
    let first = a.db().begin_write().await.expect("a write transaction");
    let second = other.begin_write().await.expect("another write transaction");
    let mine = pending::claim(&first, 4).await.expect("claimed");
    // The second instance skips the rows the first holds, without waiting for it.
    let theirs = pending::claim(&second, 1_000).await.expect("claimed");
    assert_eq!((mine.len(), theirs.len()), (4, 6));
    assert!(mine.iter().all(|p| !theirs.contains(p)), "{mine:?} {theirs:?}");
    pending::done(&first, &mine).await.expect("done");
    pending::done(&second, &theirs).await.expect("done");
    first.commit().await.expect("committed");
    second.commit().await.expect("committed");
    assert_eq!(pending_now(a.db()).await, Vec::new());
    other.close().await.expect("closed");
}

/// Deliveries for the people of the cast: one per message id, due now.
fn deliveries_for(person_id: i32, count: usize) -> Vec<NewDelivery> {
    (0..count)
        .map(|i| NewDelivery {
            message_id: format!("email:{person_id}:need:{i}"),
            channel: DeliveryChannel::Email,
            person_id: Some(person_id),
            endpoint_id: None,
            topic: DeliveryTopic::Need,
            subject_id: i32::try_from(i).unwrap_or(0),
            notification_kind: Some(NotificationKind::NeedStatusChanged),
            webhook_kind: None,
            digest: false,
            due_at: Utc::now() - Duration::seconds(1),
        })
        .collect()
}

async fn a_person(app: &TestApp) -> i32 {
    cast(app).await;
    entity::person::Entity::find().one(app.db().conn()).await.expect("read").expect("a person").id
}

#[both_databases(without_workers)]
async fn a_delivery_is_written_once_and_taken_by_one_worker_at_a_time(app: TestApp) {
    let person = a_person(&app).await;
    let db = app.db();
    let new = deliveries_for(person, 3);
    let txn = db.begin_write().await.expect("a write transaction");
    assert_eq!(deliveries::enqueue(&txn, &new).await.expect("written"), 3);
    assert_eq!(
        deliveries::enqueue(&txn, &new).await.expect("written"),
        0,
        "a fan-out run again writes nothing twice"
    );
    txn.commit().await.expect("committed");

    let now = Utc::now();
    let lease = Duration::seconds(60);
    let webhooks = deliveries::claim_due(db, Take::Single(DeliveryChannel::Webhook), now, lease, 10)
        .await
        .expect("claimed");
    assert!(webhooks.is_empty(), "another channel's");
    let first = deliveries::claim_due(db, Take::Single(DeliveryChannel::Email), now, lease, 2)
        .await
        .expect("claimed");
    assert_eq!(first.len(), 2);
    let rest = deliveries::claim_due(db, Take::Single(DeliveryChannel::Email), now, lease, 10)
        .await
        .expect("claimed");
    assert_eq!(rest.len(), 1, "what another worker holds is not taken");
    assert!(first.iter().all(|d| d.id != rest[0].id));

    // Outcomes: sent is done; a failure with a retry is due again later; without one it is dead.
    let outcome = |d: &entity::delivery::Model, settled| Settlement { id: d.id, settled, attempt: None };
    let again = Settled::Again { error: "421 try later".into(), at: now + Duration::minutes(5) };
    let dead = Settled::Dead { error: "550 no such user".into() };
    let done = [outcome(&first[0], Settled::Sent), outcome(&first[1], again), outcome(&rest[0], dead)];
    deliveries::settle(db, &done, &[], now).await.expect("recorded in one transaction");
    let later = now + Duration::minutes(6);
    let again = deliveries::claim_due(db, Take::Single(DeliveryChannel::Email), later, lease, 10)
        .await
        .expect("claimed");
    assert_eq!(again.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(), vec![(first[1].id, 1)]);
    let statuses: Vec<DeliveryStatus> = entity::delivery::Entity::find()
        .order_by_asc(entity::delivery::Column::Id)
        .all(db.conn())
        .await
        .expect("read")
        .into_iter()
        .map(|d| d.status)
        .collect();
    assert_eq!(statuses, [DeliveryStatus::Sent, DeliveryStatus::Queued, DeliveryStatus::Dead]);
}

/// A worker that dies after sending and before recording leaves its lease to run out: the
/// delivery is taken again, with the same message id (at most one repeat, which the receiver can
/// recognise).
#[both_databases(without_workers)]
async fn a_delivery_whose_worker_died_is_taken_again_with_the_same_message_id(app: TestApp) {
    let person = a_person(&app).await;
    let db = app.db();
    let txn = db.begin_write().await.expect("a write transaction");
    deliveries::enqueue(&txn, &deliveries_for(person, 1)).await.expect("written");
    txn.commit().await.expect("committed");
    let now = Utc::now();
    let lease = Duration::seconds(60);
    let taken = deliveries::claim_due(db, Take::Single(DeliveryChannel::Email), now, lease, 10)
        .await
        .expect("claimed");
    // ... the worker sends and dies here ...
    let within = deliveries::claim_due(
        db,
        Take::Single(DeliveryChannel::Email),
        now + Duration::seconds(30),
        lease,
        10,
    )
    .await
    .expect("claimed");
    assert!(within.is_empty(), "held while the lease runs");
    let after = deliveries::claim_due(
        db,
        Take::Single(DeliveryChannel::Email),
        now + Duration::seconds(61),
        lease,
        10,
    )
    .await
    .expect("claimed");
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].id, &after[0].message_id), (taken[0].id, &taken[0].message_id));
}

#[both_databases(without_workers)]
async fn workers_of_two_instances_take_each_delivery_once(app: TestApp) {
    let person = a_person(&app).await;
    let txn = app.db().begin_write().await.expect("a write transaction");
    deliveries::enqueue(&txn, &deliveries_for(person, 20)).await.expect("written");
    txn.commit().await.expect("committed");
    let other = Db::connect(&app.database_url).await.expect("a second instance's pool");
    let now = Utc::now();
    let lease = Duration::seconds(60);
    let (a, b) = tokio::join!(
        deliveries::claim_due(app.db(), Take::Single(DeliveryChannel::Email), now, lease, 12),
        deliveries::claim_due(&other, Take::Single(DeliveryChannel::Email), now, lease, 12),
    );
    let (a, b) = (a.expect("claimed"), b.expect("claimed"));
    assert_eq!(a.len() + b.len(), 20, "{} and {}", a.len(), b.len());
    assert!(a.iter().all(|d| b.iter().all(|e| e.id != d.id)), "no delivery taken twice");
    other.close().await.expect("closed");
}
