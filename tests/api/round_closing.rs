//! A round's closing time: scores sent later are refused, and the hub closes the round by itself
//! (at start-up and then every `--round-check-secs`), exactly as `closeRound` would and exactly
//! once, however many instances share the database and whether or not a coordinator closes it
//! at the same moment.

use std::time::Duration;

use chrono::Utc;
use entity::round;
use knowledge_hub::graphql::ids::{GlobalId, NodeType};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, Cast, TestApp, both_databases, cast, user_error_codes},
    rounds::{accepted_need, all, open_round, round_as, score},
};

/// Three accepted needs (`suffix` tells the sets apart), a round over them that prioritises one,
/// and the same scores every time: A first, then C, then B.
async fn scored_round(app: &TestApp, c: &Cast, suffix: &str) -> (Value, Vec<Value>) {
    let a = accepted_need(app, &c.bergen, &c.cluster_coordinator, &format!("Behov A {suffix}")).await;
    let b = accepted_need(app, &c.askoy, &c.cluster_coordinator, &format!("Behov B {suffix}")).await;
    let cc =
        accepted_need(app, &c.stavanger, &c.other_cluster_coordinator, &format!("Behov C {suffix}")).await;
    let (opened, errors) = open_round(app, &c.coordinator, &[&a, &b, &cc], 1).await;
    assert!(errors.is_empty() && user_error_codes(&opened).is_empty(), "{opened} {errors:?}");
    let round = opened["round"]["id"].clone();
    for (token, need, value) in [
        (&c.cluster_coordinator, &a, 5),
        (&c.cluster_coordinator, &b, 2),
        (&c.other_cluster_coordinator, &cc, 4),
    ] {
        let (payload, errors) = score(app, token, "scoreNeed", &round, need, all(value)).await;
        assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{payload} {errors:?}");
    }
    (round, vec![a, b, cc])
}

fn round_key(round: &Value) -> i32 {
    GlobalId::decode_as(round.as_str().expect("an id"), NodeType::Round).expect("a round id")
}

/// Moves a round's closing time into the past, as if time had passed.
pub(crate) async fn make_due(app: &TestApp, round: &Value) {
    round::Entity::update_many()
        .col_expr(round::Column::ClosesAt, Expr::value(Utc::now() - chrono::Duration::minutes(1)))
        .filter(round::Column::Id.eq(round_key(round)))
        .exec(app.db().background())
        .await
        .expect("the closing time moved");
}

/// Waits (up to 20 s) until the round is CLOSED; returns it as the coordinator sees it.
async fn closed(app: &TestApp, c: &Cast, round: &Value) -> Value {
    for _ in 0..200 {
        let seen = round_as(app, &c.coordinator, round).await;
        if seen["status"] == "CLOSED" {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the round was not closed");
}

/// What a round's closing did, without the names that tell two rounds apart: the ranking
/// (position, outcome, status) and each candidate's history after acceptance.
async fn effects(app: &TestApp, c: &Cast, round: &Value, needs: &[Value]) -> Value {
    let seen = round_as(app, &c.coordinator, round).await;
    let ranking: Vec<Value> = seen["ranking"]["nodes"]
        .as_array()
        .expect("ranking")
        .iter()
        .map(|l| {
            let title = l["need"]["title"].as_str().unwrap_or_default();
            json!({
                "need": &title[..7],
                "position": l["position"],
                "outcome": l["outcome"],
                "status": l["need"]["status"],
            })
        })
        .collect();
    let mut histories = Vec::new();
    for need in needs {
        let data = app
            .data_as(
                &c.coordinator,
                "query($id: ID!) { node(id: $id) { ... on Need { history(first: 500) { nodes { kind from to \
                 reason actor { name } } } } } }",
                json!({ "id": need }),
            )
            .await;
        let history = data["node"]["history"]["nodes"].as_array().expect("history").clone();
        histories.push(json!(
            history[2..]
                .iter()
                .map(
                    |e| json!({ "kind": e["kind"], "from": e["from"], "to": e["to"], "reason": e["reason"] })
                )
                .collect::<Vec<_>>()
        ));
    }
    json!({ "status": seen["status"], "ranking": ranking, "histories": histories })
}

/// The audit events of closing rounds, as (actor label, actor name) pairs.
async fn close_audits(app: &TestApp, c: &Cast) -> Vec<(Value, Value)> {
    let data = app
        .data_as(
            &c.coordinator,
            "{ auditEvents(filter: { action: \"round.close\" }, first: 100) { edges { node { target \
             actorLabel actor { name } } } } }",
            json!({}),
        )
        .await;
    data["auditEvents"]["edges"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["node"]["actorLabel"].clone(), e["node"]["actor"]["name"].clone()))
        .collect()
}

/// How many history events of `needs` say they changed status (a closing writes one each).
async fn status_changes(app: &TestApp, needs: &[Value]) -> usize {
    let mut n = 0;
    for need in needs {
        let data = app
            .data(&format!(
                "{{ node(id: \"{}\") {{ ... on Need {{ history(first: 500) {{ nodes {{ kind }} }} }} }} }}",
                need.as_str().expect("id")
            ))
            .await;
        n += data["node"]["history"]["nodes"]
            .as_array()
            .expect("history")
            .iter()
            .filter(|e| e["kind"] == "STATUS_CHANGED")
            .count();
    }
    n
}

#[both_databases]
async fn scores_after_the_closing_time_are_refused(app: TestApp) {
    let c = cast(&app).await;
    let (round, needs) = scored_round(&app, &c, "sein").await;
    make_due(&app, &round).await;
    let before = round_as(&app, &c.coordinator, &round).await["ranking"]["nodes"].clone();
    // Whether the hub has closed it yet or not, a score after the closing time is refused.
    for (mutation, need, scores) in [
        ("scoreNeed", &needs[2], all(3)),
        ("reviseScores", &needs[0], all(1)),
        ("withdrawScores", &needs[1], vec![]),
    ] {
        let (_, body) = if mutation == "withdrawScores" {
            app.query_as(
                &c.cluster_coordinator,
                "mutation($input: WithdrawScoresInput!) { \
                 withdrawScores(input: $input) { userErrors { field code \
                 message } } }",
                json!({ "input": { "round": round, "need": need } }),
            )
            .await
        } else {
            app.query_as(
                &c.cluster_coordinator,
                &format!(
                    "mutation($input: ScoreNeedInput!) {{ {mutation}(input: $input) {{ \
                     userErrors {{ field code message }} }} }}"
                ),
                json!({ "input": { "round": round, "need": need, "scores": scores } }),
            )
            .await
        };
        let payload = &body["data"][mutation];
        assert_eq!(user_error_codes(payload), ["CONFLICT"], "{mutation}: {body}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["input", "round"]));
        assert!(payload["userErrors"][0]["message"].as_str().is_some_and(|m| m.contains("closed")), "{body}");
    }
    let after = round_as(&app, &c.coordinator, &round).await["ranking"]["nodes"].clone();
    let figures = |ranking: &Value| {
        ranking
            .as_array()
            .expect("ranking")
            .iter()
            .map(|l| (l["need"]["title"].clone(), l["weightedMean"].clone(), l["scoreCount"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(figures(&after), figures(&before), "no score changed");
}

#[both_databases]
async fn the_hub_closes_a_due_round_as_close_round_would(app: TestApp) {
    let c = cast(&app).await;
    let (by_hand, by_hand_needs) = scored_round(&app, &c, "hand").await;
    let (by_hub, by_hub_needs) = scored_round(&app, &c, "klokke").await;
    let closed_by_hand = app
        .data_as(
            &c.coordinator,
            "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } userErrors { code } } }",
            json!({ "r": by_hand }),
        )
        .await;
    assert_eq!(closed_by_hand["closeRound"]["round"]["status"], "CLOSED");
    make_due(&app, &by_hub).await;
    closed(&app, &c, &by_hub).await;

    let expected = effects(&app, &c, &by_hand, &by_hand_needs).await;
    assert_eq!(
        expected["ranking"][0],
        json!({ "need": "Behov A", "position": 1, "outcome": "PRIORITISED", "status": "PRIORITISED" })
    );
    assert_eq!(effects(&app, &c, &by_hub, &by_hub_needs).await, expected);
    // The hub is the actor: no person on the need events, "hub" in the audit log.
    let data = app
        .data_as(
            &c.coordinator,
            "query($id: ID!) { node(id: $id) { ... on Need { \
             history(first: 500) { nodes { actor { name } } } } } }",
            json!({ "id": by_hub_needs[0] }),
        )
        .await;
    assert_eq!(
        data["node"]["history"]["nodes"].as_array().and_then(|h| h.last()).expect("event")["actor"],
        Value::Null
    );
    let mut audits = close_audits(&app, &c).await;
    audits.sort_by_key(|(label, _)| label.to_string());
    assert_eq!(audits, [(json!("hub"), Value::Null), (Value::Null, json!("Kari Nordmann"))]);
    // Closed is closed: the coordinator cannot close it again.
    let again = app
        .data_as(
            &c.coordinator,
            "mutation($r: ID!) { closeRound(input: { round: $r }) { userErrors { field code message } } }",
            json!({ "r": by_hub }),
        )
        .await;
    assert_eq!(user_error_codes(&again["closeRound"]), ["CONFLICT"]);
}

#[both_databases]
async fn a_coordinator_closing_as_the_hub_closes_leaves_one_closing(app: TestApp) {
    let c = cast(&app).await;
    let mut hand_won = 0;
    for attempt in 0..3 {
        let (round, needs) = scored_round(&app, &c, &format!("kapp {attempt}")).await;
        make_due(&app, &round).await;
        let by_hand = app.query_as(
            &c.coordinator,
            "mutation($r: ID!) { closeRound(input: { round: $r }) { \
             round { status } userErrors { field code message } } }",
            json!({ "r": round }),
        );
        let by_hub = knowledge_hub::db::rounds::close_due(app.db(), Utc::now());
        let ((_, by_hand), by_hub) = tokio::join!(by_hand, by_hub);
        let by_hub = by_hub.expect("the hub's pass");
        let payload = &by_hand["data"]["closeRound"];
        if payload["round"]["status"] == "CLOSED" && user_error_codes(payload).is_empty() {
            hand_won += 1;
            assert!(!by_hub.contains(&round_key(&round)), "both closed it: {by_hand} {by_hub:?}");
        } else {
            // The hub won (this pass, or its own ticking one): the coordinator is told so.
            assert_eq!(user_error_codes(payload), ["CONFLICT"], "{by_hand}");
            assert_eq!(payload["userErrors"][0]["message"], "the round is closed already");
        }
        closed(&app, &c, &round).await;
        // One closing either way: a status change per candidate, and nothing half-done.
        assert_eq!(status_changes(&app, &needs).await, needs.len() * 2, "accepted, then closed once");
        let ranking = round_as(&app, &c.coordinator, &round).await["ranking"]["nodes"].clone();
        assert!(ranking.as_array().expect("ranking").iter().all(|l| !l["outcome"].is_null()), "{ranking}");
    }
    let audits = close_audits(&app, &c).await;
    assert_eq!(audits.len(), 3, "one closing per round: {audits:?}");
    assert_eq!(audits.iter().filter(|(_, name)| name == "Kari Nordmann").count(), hand_won);
}

/// Two instances on one database, both closing due rounds: the round closes once.
mod two_instances_close_a_due_round_once {
    use super::*;

    async fn run(backend: Backend) {
        let a = TestApp::spawn(backend).await;
        let b = a.another_instance().await;
        let c = cast(&a).await;
        let (round, needs) = scored_round(&a, &c, "to").await;
        make_due(&a, &round).await;
        // Besides their own passes every second, both instances try at once, again and again.
        for _ in 0..5 {
            let (x, y) = tokio::join!(
                knowledge_hub::db::rounds::close_due(a.db(), Utc::now()),
                knowledge_hub::db::rounds::close_due(b.db(), Utc::now())
            );
            x.expect("a's pass");
            y.expect("b's pass");
        }
        closed(&b, &c, &round).await;
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_eq!(status_changes(&a, &needs).await, needs.len() * 2, "one status change per candidate");
        assert_eq!(close_audits(&a, &c).await, [(json!("hub"), Value::Null)]);
    }

    #[tokio::test]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}

/// A round whose closing time passed while no hub ran is closed before the hub serves.
mod a_due_round_is_closed_at_start_up {
    use super::*;

    async fn run(backend: Backend) {
        // This instance looks only once an hour, so it never closes the round itself.
        let first = TestApp::spawn_with(backend, |s| s.round_check_secs = 3_600).await;
        let c = cast(&first).await;
        let (round, needs) = scored_round(&first, &c, "oppstart").await;
        make_due(&first, &round).await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(round_as(&first, &c.coordinator, &round).await["status"], "OPEN");
        let second = TestApp::spawn_on(first.database_url.clone(), |s| s.round_check_secs = 3_600).await;
        let seen = round_as(&second, &c.coordinator, &round).await;
        assert_eq!(seen["status"], "CLOSED", "closed before the first request");
        assert_eq!(status_changes(&second, &needs).await, needs.len() * 2);
    }

    #[tokio::test]
    async fn sqlite() {
        run(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn postgres() {
        run(Backend::Postgres).await;
    }
}
