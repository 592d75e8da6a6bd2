//! Notifications end to end: a committed change is fanned out to the people and endpoints it
//! concerns and delivered by the workers through a real SMTP server (npm `smtp-server`) and a real
//! webhook receiver (verifying with npm `standardwebhooks`), both started by the test.
//!
//! These tests start their hub with the sink's settings, so they are plain functions run on each
//! database by `on_both_databases!` rather than `#[both_databases]` (whose settings are fixed).

use std::time::Duration;

use chrono::Utc;
use entity::{
    delivery,
    enums::{DeliveryChannel, DeliveryStatus},
};
use knowledge_hub::{
    config::{RoleArg, Settings},
    graphql::ids::GlobalId,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, cast},
    support::{SmtpSink, WebhookReceiver},
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
    a_receiver_failing_four_times_gets_the_fifth_attempt_signed_as_the_specification_says,
    killing_the_hub_between_send_and_mark_sends_once_more_with_the_same_id,
    a_mutation_does_not_wait_for_a_slow_smtp_server,
    an_endpoint_failing_for_a_day_is_disabled_and_its_owner_mailed,
    a_commission_opening_mails_and_webhooks_only_the_matching_institutions,
    a_batch_of_mails_costs_the_same_statements_however_many_mails_it_holds,
    a_fan_out_of_needs_raised_in_one_unit_costs_the_same_statements_however_many,
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

/// Waits until a mail to `address` arrived (or the sink's patience ran out); returns those.
async fn arrived(sink: &SmtpSink, address: &str) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let to = mails_to(&sink.received(), address);
        if !to.is_empty() || tokio::time::Instant::now() > deadline {
            return to;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every delivery is settled (none queued), then returns them, oldest first.
pub async fn settled(app: &TestApp) -> Vec<delivery::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        // Whether events wait, before the deliveries are read: a pass that commits between the
        // two reads has its deliveries in what is read.
        let waiting = knowledge_hub::db::notify::pending::any(app.db().conn()).await.expect("read");
        let all = delivery::Entity::find()
            .order_by_asc(delivery::Column::Id)
            .all(app.db().conn())
            .await
            .expect("deliveries read");
        let queued = all.iter().any(|d| d.status == DeliveryStatus::Queued && d.due_at <= Utc::now());
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

/// Makes every delivery waiting for a retry due now: the backoff's pause has passed.
async fn hurry(app: &TestApp) {
    delivery::Entity::update_many()
        .col_expr(delivery::Column::DueAt, Expr::value(Utc::now() - chrono::Duration::seconds(1)))
        .filter(delivery::Column::Status.eq(DeliveryStatus::Queued))
        .filter(delivery::Column::Digest.eq(false))
        .exec(app.db().conn())
        .await
        .expect("updated");
}

/// A need submitted in Bergen reaches the webhook endpoint Bergen's coordinator registered,
/// signed as the Standard Webhooks specification says (the receiver verifies each request with
/// the specification's reference library); the receiver fails four times, and the fifth attempt,
/// after the backoff, delivers the same message id. Every attempt is visible through the API.
async fn a_receiver_failing_four_times_gets_the_fifth_attempt_signed_as_the_specification_says(
    backend: Backend,
) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let mut receiver = WebhookReceiver::start().await;
    let registered = app
        .data_as(
            &c.cluster_coordinator,
            "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { id } secret userErrors { message } } }",
            json!({ "input": { "organisation": "4601", "url": receiver.url("127.0.0.1"), "events": ["NEED_CREATED"] } }),
        )
        .await;
    let secret = registered["registerWebhook"]["secret"].as_str().expect("the secret, once").to_owned();
    receiver.program(&[&secret], 4, 503).await;

    let need = submit(&app, &c.bergen, "Leseopplæring i Bergen").await;
    let mut seen = Vec::new();
    while seen.len() < 5 {
        let request = receiver.received(Duration::from_secs(20)).await.expect("an attempt arrives");
        seen.push(request);
        // The backoff's pause (5 s, 30 s, 2 min, ...) passes at once.
        settled(&app).await;
        hurry(&app).await;
    }
    let ids: Vec<&Value> = seen.iter().map(|r| &r["id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one message id on every attempt: {ids:?}");
    assert!(seen.iter().all(|r| r["verified"][0] == true), "each verifies: {seen:#?}");
    assert_eq!(
        seen.iter().map(|r| r["status"].as_u64()).collect::<Vec<_>>(),
        [503, 503, 503, 503, 200].map(Some)
    );
    let body: Value = serde_json::from_str(seen[4]["body"].as_str().expect("the body")).expect("JSON");
    assert_eq!(body["type"], "need.created");
    assert_eq!(body["data"]["need"], need);
    assert!(receiver.received(Duration::from_millis(500)).await.is_none(), "nothing after the success");

    let all = settled(&app).await;
    let hook = all.iter().find(|d| d.endpoint_id.is_some()).expect("the webhook's delivery");
    assert_eq!((hook.status, hook.attempts), (DeliveryStatus::Sent, 5), "{hook:#?}");
    let id = registered["registerWebhook"]["webhook"]["id"].clone();
    let attempts = "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { consecutiveFailures
        attempts(first: 10) { totalCount nodes { messageId attemptedAt statusCode durationMs error } } } } }";
    let seen = app.data_as(&c.cluster_coordinator, attempts, json!({ "id": id })).await["node"].clone();
    assert_eq!(seen["consecutiveFailures"], 0, "a success ends the run of failures");
    assert_eq!(seen["attempts"]["totalCount"], 5);
    let nodes = seen["attempts"]["nodes"].as_array().expect("attempts").clone();
    let codes: Vec<u64> = nodes.iter().filter_map(|a| a["statusCode"].as_u64()).collect();
    assert_eq!(codes, [200, 503, 503, 503, 503], "newest first");
    assert!(nodes.iter().all(|n| n["messageId"] == *ids[0] && n["durationMs"].as_i64().is_some()));
    assert!(nodes[0]["error"].is_null() && nodes[1]["error"].as_str().is_some_and(|e| e.contains("503")));
    let page = "query($id: ID!, $after: String) { node(id: $id) { ... on WebhookEndpoint {
        attempts(first: 2, after: $after) { pageInfo { hasNextPage endCursor } nodes { statusCode } } } } }";
    let first = app.data_as(&c.cluster_coordinator, page, json!({ "id": id })).await;
    assert_eq!(first["node"]["attempts"]["pageInfo"]["hasNextPage"], true);
    let after = first["node"]["attempts"]["pageInfo"]["endCursor"].clone();
    let next = app.data_as(&c.cluster_coordinator, page, json!({ "id": id, "after": after })).await;
    assert_eq!(next["node"]["attempts"]["nodes"], json!([{ "statusCode": 503 }, { "statusCode": 503 }]));
    // Others see no attempts: the endpoint is not there for them.
    let hidden = app.data_as(&c.bergen, attempts, json!({ "id": id })).await;
    assert!(hidden["node"].is_null(), "{hidden}");
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("sent").text().await.expect("text");
    assert!(metrics.contains("hub_notifications_retried_total{channel=\"webhook\"} 4"), "{metrics}");
    assert!(metrics.contains("hub_notifications_sent_total{channel=\"webhook\"} 1"), "{metrics}");
}

/// The hub is killed (SIGKILL) after the SMTP server took a mail and before the hub heard its
/// answer, so before it could mark the mail sent. When the lease runs out another instance sends
/// it again, once, with the same `Message-ID`, and marks it.
async fn killing_the_hub_between_send_and_mark_sends_once_more_with_the_same_id(backend: Backend) {
    let sink = SmtpSink::answering_after(Duration::from_secs(3)).await;
    // This instance serves the requests and sends nothing.
    let app = TestApp::spawn_with(backend, crate::helpers::without_workers).await;
    let ingrid = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let ola = app.token_for("Ola Hansen", RoleArg::UnitCoordinator, "kunnskapskommunen").await;
    let need = submit(&app, &ingrid, "Trafikktryggleik ved skulane").await;
    app.data_as(
        &ola,
        "mutation($n: ID!) { returnNeed(input: { need: $n, version: 1, reason: \"Kva skular gjeld det?\" }) { need { status } } }",
        json!({ "n": need }),
    )
    .await;

    // A hub process sends the mail and is killed while it waits for the server's answer.
    let settings = sink.settings();
    let mut doomed = tokio::process::Command::new(crate::cli::BIN)
        .args(["--database-url", &app.database_url, "--bind", "127.0.0.1:0"])
        .args(["--smtp-host", "127.0.0.1", "--smtp-port", &settings.smtp_port.expect("a port").to_string()])
        .args(["--smtp-security", "none", "--notify-lease-secs", "2", "--notify-poll-ms", "100"])
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("the hub starts");
    let first = sink.wait_for(1).await;
    assert_eq!(first.len(), 1, "the doomed hub sent the mail");
    doomed.kill().await.expect("killed");
    let held = delivery::Entity::find().all(app.db().conn()).await.expect("read");
    let immediate: Vec<_> = held.iter().filter(|d| !d.digest).collect();
    assert_eq!(immediate.len(), 1, "{held:#?}");
    assert_eq!(immediate[0].status, DeliveryStatus::Queued, "not marked: the hub died first");

    // Another instance takes it when the lease has run out.
    let mail = sink.settings();
    let survivor = TestApp::spawn_on(app.database_url.clone(), move |s| {
        s.mail = mail;
        s.notify_poll_ms = 100;
        s.notify_lease_secs = 2;
    })
    .await;
    let both = sink.wait_for(2).await;
    assert_eq!(both.len(), 2, "{both:#?}");
    assert_eq!(both[0]["messageId"], both[1]["messageId"], "the same Message-ID");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = settled(&survivor).await;
    let sent: Vec<_> = all.iter().filter(|d| !d.digest).collect();
    assert_eq!((sent[0].status, sent[0].attempts), (DeliveryStatus::Sent, 1), "{sent:#?}");
    assert_eq!(sink.received().len(), 2, "at most one duplicate");
}

/// Two instances on one PostgreSQL database share the work and send each message once.
#[tokio::test]
async fn two_instances_on_one_postgresql_send_each_message_once() {
    let sink = SmtpSink::start().await;
    let one = hub(Backend::Postgres, &sink, |_| {}).await;
    let mail = sink.settings();
    let two = TestApp::spawn_on(one.database_url.clone(), move |s| {
        s.mail = mail;
        s.notify_poll_ms = 100;
    })
    .await;
    let c = cast(&one).await;
    let mut needs = Vec::new();
    for i in 0..15 {
        needs.push(submit(&two, &c.bergen, &format!("Behov nummer {i}")).await);
    }
    for need in &needs {
        one.data_as(
            &c.cluster_coordinator,
            "mutation($n: ID!) { returnNeed(input: { need: $n, version: 1, reason: \"Meir, takk.\" }) { need { status } } }",
            json!({ "n": need }),
        )
        .await;
    }
    // Ingrid and Per, each told at once of each of the 15 returns.
    let mails = sink.wait_for(30).await;
    settled(&one).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mails = if sink.received().len() > mails.len() { sink.received() } else { mails };
    let mut ids: Vec<&str> = mails.iter().map(|m| m["messageId"].as_str().expect("a Message-ID")).collect();
    assert_eq!(ids.len(), 30, "{ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30, "each message once");
}

/// Sending never holds up a mutation: while the SMTP server holds its answer to a mail (the
/// delivery taken and in flight), a mutation that queues more mail commits and answers.
async fn a_mutation_does_not_wait_for_a_slow_smtp_server(backend: Backend) {
    let sink = SmtpSink::answering_after(Duration::from_secs(5)).await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let need = submit(&app, &c.bergen, "Kollektivtilbodet om kvelden").await;
    let returning = "mutation($n: ID!, $v: Int!) { returnNeed(input: { need: $n, version: $v, reason: \"Meir om kveldsruter.\" }) { need { version } } }";
    let v = app.data_as(&c.cluster_coordinator, returning, json!({ "n": need, "v": 1 })).await["returnNeed"]
        ["need"]["version"]
        .clone();
    assert!(!sink.wait_for(1).await.is_empty(), "the server has the first mail and holds its answer");
    let in_flight = |all: &[delivery::Model]| {
        all.iter().any(|d| d.status == DeliveryStatus::Queued && d.claimed_until.is_some())
    };
    let before = delivery::Entity::find().all(app.db().conn()).await.expect("read");
    assert!(in_flight(&before), "a delivery is being sent: {before:#?}");

    // Bergen resubmits and is returned again while the first mails are still in flight.
    let resubmit =
        "mutation($n: ID!, $v: Int!) { resubmitNeed(input: { need: $n, version: $v }) { need { version } } }";
    let v = app.data_as(&c.bergen, resubmit, json!({ "n": need, "v": v })).await["resubmitNeed"]["need"]["version"].clone();
    let answer = app.data_as(&c.cluster_coordinator, returning, json!({ "n": need, "v": v })).await;
    assert!(answer["returnNeed"]["need"]["version"].is_number(), "{answer}");
    let during = delivery::Entity::find().all(app.db().conn()).await.expect("read");
    assert!(in_flight(&during), "the mutations committed while the first mails were unanswered");
}

/// An endpoint that fails every attempt of the schedule is disabled by the hub, and whoever
/// registered it is mailed, in their language, with the endpoint's URL.
async fn an_endpoint_failing_for_a_day_is_disabled_and_its_owner_mailed(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let mut receiver = WebhookReceiver::start().await;
    let url = receiver.url("127.0.0.1");
    let registered = app
        .data_as(
            &c.cluster_coordinator,
            "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { id } secret } }",
            json!({ "input": { "organisation": "4601", "url": url, "events": ["NEED_CREATED"] } }),
        )
        .await;
    let secret = registered["registerWebhook"]["secret"].as_str().expect("the secret").to_owned();
    receiver.program(&[&secret], 1_000, 500).await;
    submit(&app, &c.bergen, "Vinterdrift av gang- og sykkelvegar").await;
    let attempts = knowledge_hub::domain::webhooks::MAX_ATTEMPTS;
    for _ in 0..attempts {
        receiver.received(Duration::from_secs(20)).await.expect("an attempt arrives");
        settled(&app).await;
        hurry(&app).await;
    }
    let endpoint = app
        .data_as(
            &c.cluster_coordinator,
            "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { disabledAt } } }",
            json!({ "id": registered["registerWebhook"]["webhook"]["id"] }),
        )
        .await;
    assert!(endpoint["node"]["disabledAt"].is_string(), "{endpoint}");
    let to_ola = arrived(&sink, "ola.hansen@example.no").await;
    assert_eq!(to_ola.len(), 1, "{to_ola:#?}");
    assert!(to_ola[0]["text"].as_str().is_some_and(|t| t.contains(&url)), "{:#}", to_ola[0]);
    assert!(receiver.received(Duration::from_millis(500)).await.is_none(), "no attempt after the last");
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("sent").text().await.expect("text");
    assert!(metrics.contains("hub_notifications_failed_total{channel=\"webhook\"} 1"), "{metrics}");
}

/// A commission that opens is mailed to the members of the institutions whose profile it matches
/// and sent to their endpoints, and to no other institution: UiB follows the need's theme, HVL
/// another.
async fn a_commission_opening_mails_and_webhooks_only_the_matching_institutions(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let hanne = app.token_for("Hanne Lie", RoleArg::InstitutionMember, "hvl").await;
    let themes = app.data("{ themes(first: 2) { nodes { id } } }").await["themes"]["nodes"].clone();
    let profile = "mutation($input: SetInstitutionProfileInput!) { setInstitutionProfile(input: $input) { userErrors { message } } }";
    for (token, institution, theme) in
        [(&c.institution, "uib", &themes[0]["id"]), (&hanne, "hvl", &themes[1]["id"])]
    {
        let set = app
            .data_as(
                token,
                profile,
                json!({ "input": { "institution": institution, "themes": [theme], "productTypes": [] } }),
            )
            .await;
        assert_eq!(set["setInstitutionProfile"]["userErrors"], json!([]), "{set}");
    }
    let mut receivers = Vec::new();
    for institution in ["uib", "hvl"] {
        let mut receiver = WebhookReceiver::start().await;
        let registered = app
            .data_as(
                &c.coordinator,
                "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { secret userErrors { message } } }",
                json!({ "input": { "organisation": institution, "url": receiver.url("127.0.0.1"), "events": ["COMMISSION_OPENED"] } }),
            )
            .await;
        let secret = registered["registerWebhook"]["secret"]
            .as_str()
            .unwrap_or_else(|| panic!("{registered}"))
            .to_owned();
        receiver.program(&[&secret], 0, 200).await;
        receivers.push(receiver);
    }
    // The need has the first theme (`realtime::submit` takes the first).
    let need = crate::realtime::prioritised(&app, &c, "Einsemd blant eldre").await;
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let commission =
        crate::realtime::open_commission(&app, &c.coordinator, &need, &product, "Kva verkar mot einsemd?")
            .await;

    let to_uib = receivers[0].received(Duration::from_secs(20)).await.expect("UiB's endpoint hears of it");
    assert_eq!(to_uib["verified"][0], true);
    let body: Value = serde_json::from_str(to_uib["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!((&body["type"], &body["data"]["commission"]), (&json!("commission.opened"), &commission));
    let to_sofie = arrived(&sink, "sofie.dahl@example.no").await;
    assert_eq!(to_sofie.len(), 1, "{to_sofie:#?}");
    assert!(to_sofie[0]["text"].as_str().is_some_and(|t| t.contains("Kva verkar mot einsemd?")));
    settled(&app).await;
    assert!(
        receivers[1].received(Duration::from_millis(700)).await.is_none(),
        "HVL's endpoint hears nothing"
    );
    assert!(mails_to(&sink.received(), "hanne.lie@example.no").is_empty(), "HVL's member hears nothing");
}

/// A hub that mails through `sink` and may deliver webhooks to 127.0.0.1 but sends nothing of
/// itself, with notification workers of the test's own to drive, one pass at a time.
async fn driven(backend: Backend, sink: &SmtpSink) -> (TestApp, knowledge_hub::notify::worker::Workers) {
    use knowledge_hub::notify::{
        Notifier,
        webhook::{Deliverer, Guard, TIMEOUT},
        worker::{Timing, Workers},
    };
    let mail = sink.settings();
    let app = TestApp::spawn_with(backend, |s| {
        s.mail = mail.clone();
        s.notify_workers = false;
        s.webhooks_allow_private_addresses = true;
    })
    .await;
    let notifier = Notifier::start(app.db(), &sink.settings(), "127.0.0.1:8000".parse().expect("an address"))
        .await
        .expect("e-mail on");
    let workers = Workers::new(
        app.db(),
        notifier,
        Deliverer::new(Guard { allow_private: true }, TIMEOUT).expect("a client"),
        std::sync::Arc::new(knowledge_hub::http::Metrics::default()),
        Timing { poll: Duration::from_secs(1), lease: Duration::from_secs(120) },
    );
    (app, workers)
}

/// Bergen's reviewers (the region's coordinator and the cluster's) want new needs mailed at once.
async fn mail_new_needs_at_once(app: &TestApp, c: &crate::helpers::Cast) {
    let at_once = "mutation { setNotificationPreferences(input: { preferences: [{ kind: NEW_NEED_IN_MY_UNITS, cadence: IMMEDIATE }] }) { viewer { language } } }";
    for coordinator in [&c.coordinator, &c.cluster_coordinator] {
        app.data_as(coordinator, at_once, json!({})).await;
    }
}

/// A worker reads a batch of deliveries at once (its recipients, their rights and choices, the
/// events with their needs, each name once) and records what became of it in one transaction:
/// a batch of 16 mails costs the statements a batch of 4 does. The instance serving requests
/// sends nothing; the test drives a worker of its own.
async fn a_batch_of_mails_costs_the_same_statements_however_many_mails_it_holds(backend: Backend) {
    let sink = SmtpSink::start().await;
    let (app, workers) = driven(backend, &sink).await;
    let c = cast(&app).await;
    mail_new_needs_at_once(&app, &c).await;
    let wake = tokio::sync::Notify::new();
    let mut costs = Vec::new();
    for needs in [2, 8] {
        for n in 0..needs {
            submit(&app, &c.bergen, &format!("Behov {n} av {needs}")).await;
        }
        workers.fan_out_pass(&wake, &wake).await;
        let before = (workers.statements_executed(), sink.received().len());
        workers.send_due(DeliveryChannel::Email).await;
        let mails = sink.wait_for(before.1 + 2 * needs).await.len() - before.1;
        costs.push((mails, workers.statements_executed() - before.0));
    }
    assert!(costs[0].0 >= 4 && costs[1].0 == 4 * costs[0].0, "mails in each batch: {costs:?}");
    assert_eq!(costs[0].1, costs[1].1, "statements per batch (mails, statements): {costs:?}");
    let all = delivery::Entity::find().all(app.db().conn()).await.expect("read");
    assert!(all.iter().all(|d| d.status == DeliveryStatus::Sent), "{all:#?}");
}

/// A fan-out pass reads what its events share once: the webhook endpoints above the units its
/// needs were raised in, and the people (and their choices) of needs raised in the same unit.
/// Eight needs submitted in Bergen cost the pass the statements two do, and each is planned for
/// both coordinators and the endpoint.
async fn a_fan_out_of_needs_raised_in_one_unit_costs_the_same_statements_however_many(backend: Backend) {
    let sink = SmtpSink::start().await;
    let (app, workers) = driven(backend, &sink).await;
    let c = cast(&app).await;
    mail_new_needs_at_once(&app, &c).await;
    let registered = app
        .data_as(
            &c.cluster_coordinator,
            "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) { webhook { id } userErrors { message } } }",
            json!({ "input": { "organisation": "4601", "url": "http://127.0.0.1:9/hook", "events": ["NEED_CREATED"] } }),
        )
        .await;
    assert!(registered["registerWebhook"]["webhook"]["id"].is_string(), "{registered}");
    let wake = tokio::sync::Notify::new();
    let mut costs = Vec::new();
    let by_channel = || async {
        let all = delivery::Entity::find().all(app.db().conn()).await.expect("read");
        let emails = all.iter().filter(|d| d.channel == DeliveryChannel::Email).count();
        (emails, all.len() - emails)
    };
    for needs in [2, 8] {
        let queued = by_channel().await;
        for n in 0..needs {
            submit(&app, &c.bergen, &format!("Behov {n} av {needs} i eininga")).await;
        }
        let before = workers.statements_executed();
        workers.fan_out_pass(&wake, &wake).await;
        let statements = workers.statements_executed() - before;
        let planned = by_channel().await;
        costs.push((needs, planned.0 - queued.0, planned.1 - queued.1, statements));
    }
    for (needs, emails, webhooks, _) in &costs {
        assert_eq!(
            (*emails, *webhooks),
            (2 * needs, *needs),
            "(needs, e-mails, webhooks, statements): {costs:?}"
        );
    }
    assert_eq!(costs[0].3, costs[1].3, "(needs, e-mails, webhooks, statements): {costs:?}");
}
