//! Scheduled notices end to end, through the same real SMTP server and webhook receiver as
//! `notify_delivery`: a round opened is mailed to those who score in it, its closing soon once
//! however many passes and instances look, a commission's near deadline to its parties once, and
//! a round closed reaches a subscribed endpoint. Times are moved in the database (a round opened a
//! while ago, a deadline brought near) rather than waited for.

use std::time::Duration;

use chrono::Utc;
use entity::{
    commission, delivery,
    enums::{DeliveryStatus, DeliveryTopic},
    round,
};
use knowledge_hub::{graphql::ids::GlobalId, notify::schedule};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, cast},
    notify_delivery::{hub, mails_to, on_both_databases, person_of, settled},
    rounds::{accepted_need, open_round},
    support::{SmtpSink, WebhookReceiver},
};

on_both_databases!(
    a_round_opened_mails_the_unit_coordinators_who_score_in_it,
    closing_soon_is_mailed_once_however_many_passes_look,
    a_commission_deadline_two_days_away_mails_its_parties_once,
    a_milestone_due_in_two_days_mails_the_awarded_institution,
    a_closed_round_reaches_a_subscribed_webhook,
);

fn key(id: &Value) -> i32 {
    GlobalId::decode(id.as_str().expect("an id")).expect("a global id").key
}

/// Waits until a delivery of `topic` is written and every due delivery is settled; returns them.
async fn told(app: &TestApp, topic: DeliveryTopic) -> Vec<delivery::Model> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all = settled(app).await;
        if all.iter().any(|d| d.topic == topic) || tokio::time::Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Moves round `id`'s opening into the past (beyond the minute's grace) and sets its closing.
async fn round_times(app: &TestApp, id: i32, opened_ago: chrono::Duration, closes_in: chrono::Duration) {
    round::Entity::update_many()
        .col_expr(round::Column::CreatedAt, Expr::value(Utc::now() - opened_ago))
        .col_expr(round::Column::ClosesAt, Expr::value(Utc::now() + closes_in))
        .filter(round::Column::Id.eq(id))
        .exec(app.db().conn())
        .await
        .expect("updated");
}

/// A need accepted in Bergen and a round over it opened by RSO Vest's coordinator; the round's id.
async fn a_round(app: &TestApp, c: &crate::helpers::Cast) -> i32 {
    let need = accepted_need(app, &c.bergen, &c.cluster_coordinator, "Skulehelse i Bergen").await;
    let (opened, errors) = open_round(app, &c.coordinator, &[&need], 1).await;
    assert!(errors.is_empty(), "{errors:?}");
    key(&opened["round"]["id"])
}

/// A round's opening is mailed at once to a unit coordinator who scores in it (the default for
/// UNIT_COORDINATOR), not to a unit member of a unit it serves, nor to the coordinator who
/// opened it; and only once it has been open a minute.
async fn a_round_opened_mails_the_unit_coordinators_who_score_in_it(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let (ola, ingrid, kari) = (
        person_of(&app, &c.cluster_coordinator).await,
        person_of(&app, &c.bergen).await,
        person_of(&app, &c.coordinator).await,
    );
    let id = a_round(&app, &c).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        settled(&app).await.iter().all(|d| d.topic != DeliveryTopic::RoundOpened),
        "nothing within the minute's grace"
    );

    round_times(&app, id, chrono::Duration::minutes(2), chrono::Duration::days(30)).await;
    let all = told(&app, DeliveryTopic::RoundOpened).await;
    let opened: Vec<_> = all.iter().filter(|d| d.topic == DeliveryTopic::RoundOpened).collect();
    let to_ola = opened.iter().find(|d| d.person_id == Some(ola)).expect("Ola scores in it");
    assert!(!to_ola.digest && to_ola.status == DeliveryStatus::Sent, "{to_ola:#?}");
    assert_eq!(to_ola.subject_id, id);
    assert!(opened.iter().all(|d| d.person_id != Some(ingrid) && d.person_id != Some(kari)), "{opened:#?}");

    let mails = mails_to(&sink.received(), "ola.hansen@example.no");
    let mail = mails
        .iter()
        .find(|m| m["subject"].as_str().is_some_and(|s| s.contains("Runde 2027")))
        .unwrap_or_else(|| panic!("the round's mail: {mails:#?}"));
    assert!(mail["text"].as_str().is_some_and(|t| t.contains("Regionalt samarbeidsorgan Vest")), "{mail:#}");
    let message_id = mail["messageId"].as_str().expect("a Message-ID");
    assert!(message_id.starts_with(&format!("<email%3A{ola}%3Around-opened%3A{id}@")), "{message_id}");
    assert!(
        mails_to(&sink.received(), "ingrid.berg@example.no")
            .iter()
            .all(|m| !m["subject"].as_str().unwrap_or_default().contains("Runde 2027")),
        "a unit member does not score"
    );
}

/// A round closing within a day is mailed once to those who score in it, though the workers'
/// scan and two more passes at once (two instances) all find it due.
async fn closing_soon_is_mailed_once_however_many_passes_look(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let ola = person_of(&app, &c.cluster_coordinator).await;
    let id = a_round(&app, &c).await;
    round_times(&app, id, chrono::Duration::days(3), chrono::Duration::hours(12)).await;
    let (a, b) =
        tokio::join!(schedule::pass(app.db(), true, Utc::now()), schedule::pass(app.db(), true, Utc::now()));
    a.expect("a pass");
    b.expect("another pass");
    told(&app, DeliveryTopic::RoundClosing).await;
    schedule::pass(app.db(), true, Utc::now()).await.expect("a later pass");
    let all = settled(&app).await;
    let closing: Vec<_> =
        all.iter().filter(|d| d.topic == DeliveryTopic::RoundClosing && d.person_id == Some(ola)).collect();
    assert_eq!(closing.len(), 1, "{all:#?}");
    assert_eq!(closing[0].status, DeliveryStatus::Sent);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mails: Vec<_> = mails_to(&sink.received(), "ola.hansen@example.no")
        .into_iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains("stenger snart")))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    let marked = round::Entity::find_by_id(id).one(app.db().conn()).await.expect("read").expect("the round");
    assert!(marked.closing_notified_at.is_some() && marked.closed_notified_at.is_none());
}

/// An open commission whose deadline is two days away is mailed to its parties once: the
/// institution that showed interest at once, its coordinator in the morning's digest.
async fn a_commission_deadline_two_days_away_mails_its_parties_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let (sofie, kari) = (person_of(&app, &c.institution).await, person_of(&app, &c.coordinator).await);
    let question = "Kva verkar mot einsemd blant eldre?";
    let id = interested(&app, &c, question).await;
    commission::Entity::update_many()
        .col_expr(commission::Column::Deadline, Expr::value(Utc::now() + chrono::Duration::days(2)))
        .filter(commission::Column::Id.eq(key(&id)))
        .exec(app.db().conn())
        .await
        .expect("updated");

    let all = told(&app, DeliveryTopic::CommissionDue).await;
    schedule::pass(app.db(), true, Utc::now()).await.expect("a second pass");
    let all_after = settled(&app).await;
    let due: Vec<_> = all_after.iter().filter(|d| d.topic == DeliveryTopic::CommissionDue).collect();
    assert_eq!(due.len(), all.iter().filter(|d| d.topic == DeliveryTopic::CommissionDue).count());
    let to_sofie: Vec<_> = due.iter().filter(|d| d.person_id == Some(sofie)).collect();
    assert_eq!(to_sofie.len(), 1, "{due:#?}");
    assert!(!to_sofie[0].digest && to_sofie[0].status == DeliveryStatus::Sent, "{:#?}", to_sofie[0]);
    let to_kari: Vec<_> = due.iter().filter(|d| d.person_id == Some(kari)).collect();
    assert_eq!(to_kari.len(), 1, "{due:#?}");
    assert!(to_kari[0].digest && to_kari[0].status == DeliveryStatus::Queued, "{:#?}", to_kari[0]);

    tokio::time::sleep(Duration::from_millis(400)).await;
    let mails: Vec<_> = mails_to(&sink.received(), "sofie.dahl@example.no")
        .into_iter()
        .filter(|m| m["subject"].as_str().is_some_and(|s| s.contains("nærmer seg")))
        .collect();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(mails[0]["subject"].as_str().is_some_and(|s| s.contains(question)), "{:#}", mails[0]);
}

/// An open commission (deadline 2999) for a prioritised need, in which UiB showed interest.
async fn interested(app: &TestApp, c: &crate::helpers::Cast, question: &str) -> Value {
    let need = crate::realtime::prioritised(app, c, "Einsemd blant eldre").await;
    let product =
        app.data("{ productTypes(first: 1) { nodes { id } } }").await["productTypes"]["nodes"][0]["id"]
            .clone();
    let id = crate::realtime::open_commission(app, &c.coordinator, &need, &product, question).await;
    let interest = app
        .data_as(
            &c.institution,
            "mutation($c: ID!) { expressInterest(input: { commission: $c, proposal: \"Vi kan\" }) { userErrors { code } } }",
            json!({ "c": id }),
        )
        .await;
    assert_eq!(interest["expressInterest"]["userErrors"], json!([]), "{interest}");
    id
}

/// A milestone of awarded work due in two days is mailed to the awarded institution's members at
/// once (and their coordinator in the digest), once; the commission's own deadline, far off, is not.
async fn a_milestone_due_in_two_days_mails_the_awarded_institution(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let (sofie, kari) = (person_of(&app, &c.institution).await, person_of(&app, &c.coordinator).await);
    let id = interested(&app, &c, "Kva verkar mot einsemd?").await;
    let institutions = app.data("{ institutions(first: 100) { nodes { id key } } }").await;
    let uib = institutions["institutions"]["nodes"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["key"] == "uib"))
        .expect("uib")["id"]
        .clone();
    let awarded = app
        .data_as(
            &c.coordinator,
            "mutation($c: ID!, $i: ID!) { awardCommission(input: { commission: $c, institution: $i }) { commission { status } } }",
            json!({ "c": id, "i": uib }),
        )
        .await;
    assert_eq!(awarded["awardCommission"]["commission"]["status"], "AWARDED", "{awarded}");
    let due = (Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let added = app
        .data_as(
            &c.institution,
            "mutation($c: ID!, $d: DateTime!) { addMilestone(input: { commission: $c, title: \"Protokoll\", dueAt: $d }) { milestone { id } } }",
            json!({ "c": id, "d": due }),
        )
        .await;
    let milestone = key(&added["addMilestone"]["milestone"]["id"]);

    let all = told(&app, DeliveryTopic::MilestoneDue).await;
    schedule::pass(app.db(), true, Utc::now()).await.expect("a second pass");
    let after = settled(&app).await;
    assert_eq!(all.len(), after.len(), "the second pass writes nothing");
    let due: Vec<_> = after.iter().filter(|d| d.topic == DeliveryTopic::MilestoneDue).collect();
    assert!(due.iter().all(|d| d.subject_id == milestone));
    let to_sofie: Vec<_> = due.iter().filter(|d| d.person_id == Some(sofie)).collect();
    assert_eq!(to_sofie.len(), 1, "{due:#?}");
    assert!(!to_sofie[0].digest && to_sofie[0].status == DeliveryStatus::Sent, "{:#?}", to_sofie[0]);
    assert!(due.iter().any(|d| d.person_id == Some(kari) && d.digest), "{due:#?}");
    assert!(after.iter().all(|d| d.topic != DeliveryTopic::CommissionDue), "the deadline is far off");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mails = sink.received();
    let mail = mails_to(&mails, "sofie.dahl@example.no")
        .into_iter()
        .find(|m| m["text"].as_str().is_some_and(|t| t.contains("Protokoll")));
    assert!(mail.is_some(), "{mails:#?}");
}

/// A round closed by hand reaches the endpoint of an organisation it is open to that subscribed
/// to ROUND_CLOSED, signed and verified by the reference library; closed within the minute's
/// grace, its opening is never told.
async fn a_closed_round_reaches_a_subscribed_webhook(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = hub(backend, &sink, |_| {}).await;
    let c = cast(&app).await;
    let mut receiver = WebhookReceiver::start().await;
    let register = "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) {
        secret userErrors { field code message } } }";
    let input = json!({
        "organisation": "4601",
        "url": receiver.url("127.0.0.1"),
        "events": ["ROUND_OPENED", "ROUND_CLOSED"],
    });
    let made = app.data_as(&c.cluster_coordinator, register, json!({ "input": input })).await;
    assert_eq!(made["registerWebhook"]["userErrors"], json!([]), "{made}");
    let secret = made["registerWebhook"]["secret"].as_str().expect("the secret").to_owned();
    receiver.program(&[&secret], 0, 500).await;

    let id = a_round(&app, &c).await;
    let closed = app
        .data_as(
            &c.coordinator,
            "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } } }",
            json!({ "r": GlobalId::new(knowledge_hub::domain::nodes::NodeType::Round, id).encode().to_string() }),
        )
        .await;
    assert_eq!(closed["closeRound"]["round"]["status"], "CLOSED", "{closed}");

    let request = receiver.received(Duration::from_secs(20)).await.expect("delivered");
    assert_eq!(request["verified"], json!([true]), "{request}");
    let body: Value = serde_json::from_str(request["body"].as_str().expect("a body")).expect("JSON");
    assert_eq!(body["type"], "round.closed", "{body}");
    assert_eq!(body["data"]["status"], "CLOSED", "{body}");
    assert_eq!(key(&body["data"]["round"]), id, "{body}");
    assert!(request["id"].as_str().is_some_and(|m| m.contains(":round-closed:")), "{request}");
    assert!(receiver.received(Duration::from_millis(800)).await.is_none(), "nothing more, no opening");
}
