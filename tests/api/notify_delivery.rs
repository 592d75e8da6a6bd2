//! Notifications end to end: a committed change is fanned out to the people and endpoints it
//! concerns and delivered by the workers through a real SMTP server (npm `smtp-server`) and a real
//! webhook receiver (verifying with npm `standardwebhooks`), both started by the test.
//!
//! These tests start their hub with the sink's settings, so they are plain functions run on each
//! database by `on_both_databases!` rather than `#[both_databases]` (whose settings are fixed).

use std::time::Duration;

use chrono::Utc;
use entity::{delivery, enums::DeliveryStatus};
use knowledge_hub::{config::Settings, graphql::ids::GlobalId};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, cast},
    support::SmtpSink,
};

/// Runs `async fn name(backend)` as `name::sqlite` and `name::postgres`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}
pub(crate) use on_both_databases;

on_both_databases!(
    a_returned_need_mails_its_followers_each_in_their_language,
    the_digest_groups_a_days_events_into_one_mail,
    a_commission_a_person_may_no_longer_see_is_not_mailed,
);

/// A hub that mails through `sink`, looks for due work every 100 ms, and may deliver webhooks to
/// the test's own receiver on 127.0.0.1.
pub async fn hub(backend: Backend, sink: &SmtpSink, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mail = sink.settings();
    TestApp::spawn_with(backend, move |s| {
        s.mail = mail;
        s.notify_poll_ms = 100;
        s.webhooks_allow_private_addresses = true;
        adjust(s);
    })
    .await
}

/// The database id of the person behind `token`.
pub async fn person_of(app: &TestApp, token: &str) -> i32 {
    let body = app.data_as(token, "{ viewer { person { id } } }", json!({})).await;
    GlobalId::decode(body["viewer"]["person"]["id"].as_str().expect("an id")).expect("a global id").key
}

/// Submits a need for `token`'s unit (not a draft).
pub async fn submit(app: &TestApp, token: &str, title: &str) -> Value {
    crate::realtime::submit(app, token, title, false).await
}

/// The mails `sink` received for `address`.
pub fn mails_to(mails: &[Value], address: &str) -> Vec<Value> {
    mails.iter().filter(|m| m["envelope"]["to"][0] == address).cloned().collect()
}

/// Waits until every delivery is settled (none queued), then returns them, oldest first.
pub async fn settled(app: &TestApp) -> Vec<delivery::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all = delivery::Entity::find()
            .order_by_asc(delivery::Column::Id)
            .all(app.db().conn())
            .await
            .expect("deliveries read");
        let queued = all.iter().any(|d| d.status == DeliveryStatus::Queued && d.due_at <= Utc::now());
        let waiting = knowledge_hub::db::notify::pending::any(app.db().conn()).await.expect("read");
        if (!queued && !waiting) || tokio::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Makes every digest delivery due now: the morning comes.
pub async fn morning(app: &TestApp) {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::DueAt, Expr::value(Utc::now() - chrono::Duration::seconds(1)))
        .filter(delivery::Column::Digest.eq(true))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Queued))
        .exec(app.db().conn())
        .await
        .expect("updated");
}

/// A need returned with a comment is mailed at once to the members of its unit, each in their
/// own language, and not to the coordinator who returned it; the mail carries the comment and a
/// `Message-ID` made from the person and the event.
async fn a_returned_need_mails_its_followers_each_in_their_language(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let ingrid = person_of(&app, &c.bergen).await;
    app.data_as(
        &c.bergen,
        "mutation { setNotificationPreferences(input: { language: NN }) { viewer { language } } }",
        json!({}),
    )
    .await;
    let need = submit(&app, &c.bergen, "Skulehelsetenesta i Bergen").await;
    app.data_as(
        &c.cluster_coordinator,
        "mutation($n: ID!) { returnNeed(input: { need: $n, version: 1, reason: \"Skriv meir om målgruppa.\" }) { need { status } } }",
        json!({ "n": need }),
    )
    .await;
    let mails = sink.wait_for(2).await;
    let to_ingrid = mails_to(&mails, "ingrid.berg@example.no");
    assert_eq!(to_ingrid.len(), 1, "{mails:#?}");
    let mail = &to_ingrid[0];
    assert_eq!(
        mail["subject"], "«Skulehelsetenesta i Bergen» er sendt attende, med ein kommentar",
        "{mail:#}"
    );
    let text = mail["text"].as_str().expect("a text part");
    assert!(
        text.contains("Kommentaren som følgde med:") && text.contains("Skriv meir om målgruppa."),
        "{text}"
    );
    let event: i32 = settled(&app)
        .await
        .iter()
        .find(|d| d.person_id == Some(ingrid))
        .map(|d| d.subject_id)
        .expect("Ingrid's delivery");
    let message_id = mail["messageId"].as_str().expect("a Message-ID");
    assert!(message_id.starts_with(&format!("<email%3A{ingrid}%3Aneed%3A{event}@")), "{message_id}");

    // Her colleague reads bokmål; the coordinator who returned it hears nothing of it.
    let to_per = mails_to(&mails, "per.berg@example.no");
    assert_eq!(to_per.len(), 1, "{mails:#?}");
    assert!(to_per[0]["subject"].as_str().is_some_and(|s| s.contains("med en kommentar")), "{:#}", to_per[0]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.received().len(), 2, "only the unit's members are mailed at once");
    assert!(mails_to(&sink.received(), "ola.hansen@example.no").is_empty());
}

/// A coordinator hears of new needs in a daily digest: a day's three needs are one mail the next
/// morning, listing each, and nothing is sent before then.
async fn the_digest_groups_a_days_events_into_one_mail(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    for (token, title) in [
        (&c.bergen, "Barnehagar i Bergen"),
        (&c.askoy, "Skulevegen på Askøy"),
        (&c.bergen, "Eldreomsorg i Bergen"),
    ] {
        submit(&app, token, title).await;
    }
    let queued = settled(&app).await;
    let kari = person_of(&app, &c.coordinator).await;
    let hers: Vec<_> = queued.iter().filter(|d| d.person_id == Some(kari)).collect();
    assert_eq!(hers.len(), 3, "{queued:#?}");
    assert!(hers.iter().all(|d| d.digest && d.status == DeliveryStatus::Queued && d.due_at > Utc::now()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(mails_to(&sink.received(), "kari.nordmann@example.no").is_empty(), "nothing before the morning");

    morning(&app).await;
    settled(&app).await;
    let mails = sink.wait_for(2).await;
    let to_kari = mails_to(&mails, "kari.nordmann@example.no");
    assert_eq!(to_kari.len(), 1, "one digest: {mails:#?}");
    let text = to_kari[0]["text"].as_str().expect("a text part");
    for title in ["Barnehagar i Bergen", "Skulevegen på Askøy", "Eldreomsorg i Bergen"] {
        assert!(text.contains(title), "{title} in {text}");
    }
    let message_id = to_kari[0]["messageId"].as_str().expect("a Message-ID");
    assert!(message_id.starts_with(&format!("<digest%3A{kari}%3A")), "{message_id}");
    let all = settled(&app).await;
    assert!(all.iter().filter(|d| d.person_id == Some(kari)).all(|d| d.status == DeliveryStatus::Sent));
}

/// Authorisation at delivery time: an institution's member who hears of opened commissions in
/// a digest, and leaves the institution before the morning, is not mailed about it.
async fn a_commission_a_person_may_no_longer_see_is_not_mailed(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    app.data_as(
        &c.institution,
        "mutation { setNotificationPreferences(input: { preferences: [{ kind: COMMISSION_OPENED_MATCHING, cadence: DIGEST }] }) { viewer { language } } }",
        json!({}),
    )
    .await;
    let sofie = person_of(&app, &c.institution).await;
    let need = crate::realtime::prioritised(&app, &c, "Einsemd blant eldre").await;
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    crate::realtime::open_commission(&app, &c.coordinator, &need, &product, "Kva verkar mot einsemd?").await;
    let queued = settled(&app).await;
    assert!(queued.iter().any(|d| d.person_id == Some(sofie) && d.digest), "{queued:#?}");

    // Sofie leaves UiB; the morning comes.
    entity::membership::Entity::delete_many()
        .filter(entity::membership::Column::PersonId.eq(sofie))
        .exec(app.db().conn())
        .await
        .expect("deleted");
    morning(&app).await;
    let all = settled(&app).await;
    let hers = all.iter().find(|d| d.person_id == Some(sofie)).expect("her delivery");
    assert_eq!(hers.status, DeliveryStatus::Skipped, "{hers:#?}");
    assert_eq!(hers.last_error.as_deref(), Some("the recipient may no longer see what it tells of"));
    assert!(mails_to(&sink.received(), "sofie.dahl@example.no").is_empty());
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("sent").text().await.expect("text");
    assert!(metrics.contains("hub_notifications_skipped_total{channel=\"email\"} 1"), "{metrics}");
}
