//! The notification queue is the history: a committed change leaves its events pending for the
//! fan-out, a refused one leaves nothing, history written before the queue (or by the sample
//! data) is never pending, and instances sharing a PostgreSQL database claim each event once.

use knowledge_hub::db::{
    Db,
    notify::pending::{self, Pending},
    outbox::Topic,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;

use crate::helpers::{Backend, TestApp, both_databases, cast, need_input};

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

#[both_databases]
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

#[both_databases]
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
    let a = TestApp::spawn(Backend::Postgres).await;
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
