//! Prioritisation rounds as users run them: open, score (two clusters and an institution), rank,
//! close; and every permission boundary around them.

use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, cast, error_codes, user_error_codes};

const CRITERIA: [&str; 5] =
    ["size-of-problem", "potential-improvement", "feasibility", "regional-relevance", "strategic-fit"];

const ROUND: &str = "id name status prioritiseCount criteria { key weight }
    ranking { nodes { position need { title status } weightedMean scoreCount reach outcome
              criterionMeans { criterion { key } mean count }
              scores { organisation { __typename ... on Cluster { key } ... on Institution { key } } \
              criterion { key } value } } }";

/// Submits a need as `token` and has `reviewer` accept it; returns its id.
pub(crate) async fn accepted_need(app: &TestApp, token: &str, reviewer: &str, title: &str) -> Value {
    let themes = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let submitted = app
        .data_as(
            token,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { \
             code } } }",
            json!({
                "input": {
                    "title": title,
                    "question": "Eit spørsmål som er langt nok?",
                    "background": "Bakgrunn",
                    "intendedUse": "Bruk",
                    "targetGroup": "Målgruppe",
                    "themes": [themes],
                },
            }),
        )
        .await;
    let id = submitted["submitNeed"]["need"]["id"].clone();
    let accepted = app
        .data_as(
            reviewer,
            "mutation($input: NeedMoveInput!) { acceptNeed(input: $input) { need { status } userErrors { \
             code } } }",
            json!({ "input": { "need": id, "version": 1 } }),
        )
        .await;
    assert_eq!(accepted["acceptNeed"]["need"]["status"], "ACCEPTED", "{accepted}");
    id
}

pub(crate) async fn open_round(
    app: &TestApp,
    token: &str,
    candidates: &[&Value],
    prioritise: i32,
) -> (Value, Vec<String>) {
    let (_, body) = app
        .query_as(
            token,
            &format!(
                "mutation($input: OpenRoundInput!) {{ openRound(input: $input) {{ round {{ {ROUND} }} \
                 userErrors {{ field code message }} }} }}"
            ),
            json!({
                "input": {
                    "name": "Runde 2027",
                    "closesAt": "2999-01-01T00:00:00Z",
                    "candidates": candidates,
                    "prioritiseCount": prioritise,
                },
            }),
        )
        .await;
    (body["data"]["openRound"].clone(), error_codes(&body))
}

pub(crate) fn all(value: i32) -> Vec<Value> {
    CRITERIA.iter().map(|c| json!({ "criterion": c, "value": value })).collect()
}

pub(crate) async fn score(
    app: &TestApp,
    token: &str,
    mutation: &str,
    round: &Value,
    need: &Value,
    scores: Vec<Value>,
) -> (Value, Vec<String>) {
    let (_, body) = app
        .query_as(
            token,
            &format!(
                "mutation($input: ScoreNeedInput!) {{ {mutation}(input: $input) {{ round {{ {ROUND} }} \
                 userErrors {{ field code message }} }} }}"
            ),
            json!({ "input": { "round": round, "need": need, "scores": scores } }),
        )
        .await;
    (body["data"][mutation].clone(), error_codes(&body))
}

pub(crate) async fn round_as(app: &TestApp, token: &str, id: &Value) -> Value {
    app.query_as(
        token,
        &format!("query($id: ID!) {{ node(id: $id) {{ ... on Round {{ {ROUND} }} }} }}"),
        json!({ "id": id }),
    )
    .await
    .1["data"]["node"]
        .clone()
}

#[both_databases]
async fn a_round_ranks_scores_and_closes_as_one_transaction(app: TestApp) {
    let c = cast(&app).await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Behov A frå Bergen").await;
    let b = accepted_need(&app, &c.askoy, &c.cluster_coordinator, "Behov B frå Askøy").await;
    let cc = accepted_need(&app, &c.stavanger, &c.other_cluster_coordinator, "Behov C frå Stavanger").await;
    // Askøy also shares A, so A reaches two municipalities.
    app.data_as(
        &c.askoy,
        "mutation($n: ID!) { cosignNeed(input: { need: $n }) { userErrors { code } } }",
        json!({ "n": a }),
    )
    .await;

    let (opened, errors) = open_round(&app, &c.coordinator, &[&a, &b, &cc], 1).await;
    assert!(errors.is_empty(), "{errors:?}");
    let round = opened["round"].clone();
    assert_eq!(round["status"], "OPEN");
    assert_eq!(round["criteria"].as_array().map(Vec::len), Some(5), "the default criteria");

    // Kunnskapskommunen: A all 5, B all 4. Sør-Rogaland: A all 3, C all 4.
    // UiB: abstains on A and C, scores only feasibility 2 on B.
    for (token, need, value) in [
        (&c.cluster_coordinator, &a, 5),
        (&c.cluster_coordinator, &b, 4),
        (&c.other_cluster_coordinator, &a, 3),
        (&c.other_cluster_coordinator, &cc, 4),
    ] {
        let (payload, errors) = score(&app, token, "scoreNeed", &round["id"], need, all(value)).await;
        assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{payload} {errors:?}");
    }
    score(
        &app,
        &c.institution,
        "scoreNeed",
        &round["id"],
        &b,
        vec![json!({ "criterion": "feasibility", "value": 2 })],
    )
    .await;

    let ranking = round_as(&app, &c.coordinator, &round["id"]).await["ranking"]["nodes"].clone();
    let line = |i: usize| &ranking[i];
    // A: every criterion (5 + 3) / 2 = 4 -> 4.0, two organisations, reach 2.
    assert_eq!(line(0)["need"]["title"], "Behov A frå Bergen");
    assert_eq!(
        (line(0)["weightedMean"].as_f64(), line(0)["scoreCount"].as_i64(), line(0)["reach"].as_i64()),
        (Some(4.0), Some(2), Some(2))
    );
    // C: 4.0 as well from one organisation, reach 1: second on the reach tie-break.
    assert_eq!(line(1)["need"]["title"], "Behov C frå Stavanger");
    assert_eq!(line(1)["weightedMean"].as_f64(), Some(4.0));
    // B: feasibility (4 + 2) / 2 = 3, the other four 4: (4 * 4 + 3) / 5 = 3.8.
    assert_eq!(line(2)["need"]["title"], "Behov B frå Askøy");
    assert!((line(2)["weightedMean"].as_f64().expect("a mean") - 3.8).abs() < 1e-9);
    let feasibility = line(2)["criterionMeans"]
        .as_array()
        .expect("means")
        .iter()
        .find(|m| m["criterion"]["key"] == "feasibility")
        .expect("feasibility")
        .clone();
    assert_eq!(feasibility, json!({ "criterion": { "key": "feasibility" }, "mean": 3.0, "count": 2 }));
    assert_eq!(line(0)["scores"].as_array().map(Vec::len), Some(10), "coordinators see every score");

    // Each organisation sees its own scores, not the others'.
    let seen_by_uib = round_as(&app, &c.institution, &round["id"]).await;
    let uib_scores: Vec<&Value> = seen_by_uib["ranking"]["nodes"]
        .as_array()
        .expect("ranking")
        .iter()
        .flat_map(|l| l["scores"].as_array().expect("scores").iter())
        .collect();
    assert_eq!(uib_scores.len(), 1);
    assert_eq!(uib_scores[0]["organisation"], json!({ "__typename": "Institution", "key": "uib" }));

    let close = "mutation($input: CloseRoundInput!) { closeRound(input: $input) { round { status closedAt
            ranking { nodes { position need { title status history { nodes { kind from to reason } } } \
            outcome } } } userErrors { code } } }";
    let (_, body) =
        app.query_as(&c.cluster_coordinator, close, json!({ "input": { "round": round["id"] } })).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "only coordinators close rounds");
    let closed =
        app.data_as(&c.coordinator, close, json!({ "input": { "round": round["id"] } })).await["closeRound"]
            ["round"]
            .clone();
    assert_eq!(closed["status"], "CLOSED");
    let outcomes: Vec<(&str, &str, &str)> = closed["ranking"]["nodes"]
        .as_array()
        .expect("ranking")
        .iter()
        .map(|l| {
            (
                l["need"]["title"].as_str().unwrap_or(""),
                l["need"]["status"].as_str().unwrap_or(""),
                l["outcome"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("Behov A frå Bergen", "PRIORITISED", "PRIORITISED"),
            ("Behov C frå Stavanger", "DEFERRED", "DEFERRED"),
            ("Behov B frå Askøy", "DEFERRED", "DEFERRED"),
        ]
    );
    let last_event = closed["ranking"]["nodes"][0]["need"]["history"]["nodes"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("an event");
    assert_eq!(
        last_event,
        json!({
            "kind": "STATUS_CHANGED",
            "from": "ACCEPTED",
            "to": "PRIORITISED",
            "reason": "Runde 2027: position 1",
        })
    );

    // A closed round is read-only.
    let (late, _) = score(&app, &c.institution, "scoreNeed", &round["id"], &a, all(5)).await;
    assert_eq!(user_error_codes(&late), ["CONFLICT"]);
    let again = app.data_as(&c.coordinator, close, json!({ "input": { "round": round["id"] } })).await;
    assert_eq!(user_error_codes(&again["closeRound"]), ["CONFLICT"]);

    // Deferred needs are candidates for the next round, and a deferral again is recorded.
    let (next, errors) = open_round(&app, &c.coordinator, &[&b, &cc], 1).await;
    assert!(errors.is_empty() && user_error_codes(&next).is_empty(), "{next}");
}

#[both_databases]
async fn scoring_rules_are_clear_user_errors_that_change_nothing(app: TestApp) {
    let c = cast(&app).await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Behov A frå Bergen").await;
    let submitted_only = app
        .data_as(
            &c.askoy,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
            json!({
                "input": {
                    "title": "Berre sendt inn",
                    "question": "Eit spørsmål som er langt nok?",
                    "background": "b",
                    "intendedUse": "u",
                    "targetGroup": "t",
                    "themes": [
                        app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"],
                    ],
                },
            }),
        )
        .await["submitNeed"]["need"]["id"]
        .clone();
    let (not_accepted, _) = open_round(&app, &c.coordinator, &[&submitted_only], 1).await;
    assert_eq!(user_error_codes(&not_accepted), ["CONFLICT"], "candidates must be ACCEPTED or DEFERRED");
    let message = not_accepted["userErrors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("is SUBMITTED;"), "statuses as the schema writes them: {message}");
    let (too_many, _) = open_round(&app, &c.coordinator, &[&a], 2).await;
    assert_eq!(user_error_codes(&too_many), ["BAD_USER_INPUT"]);
    let (opened, _) = open_round(&app, &c.coordinator, &[&a], 1).await;
    let round = opened["round"]["id"].clone();
    let (busy, _) = open_round(&app, &c.coordinator, &[&a], 1).await;
    assert_eq!(user_error_codes(&busy), ["CONFLICT"], "a need is in one open round at a time");

    let (out_of_range, _) = score(&app, &c.cluster_coordinator, "scoreNeed", &round, &a, all(6)).await;
    assert_eq!(user_error_codes(&out_of_range), ["BAD_USER_INPUT"]);
    let (unknown, _) = score(
        &app,
        &c.cluster_coordinator,
        "scoreNeed",
        &round,
        &a,
        vec![json!({ "criterion": "charm", "value": 3 })],
    )
    .await;
    assert_eq!(user_error_codes(&unknown), ["NOT_FOUND"]);
    // A need that exists but is not a candidate is named as such, not "no such need".
    let (not_candidate, _) =
        score(&app, &c.cluster_coordinator, "scoreNeed", &round, &submitted_only, all(3)).await;
    assert_eq!(user_error_codes(&not_candidate), ["BAD_USER_INPUT"]);
    let message = not_candidate["userErrors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("not a candidate of this round"), "{message}");
    let (nothing, _) = score(&app, &c.cluster_coordinator, "scoreNeed", &round, &a, vec![]).await;
    assert_eq!(user_error_codes(&nothing), ["BAD_USER_INPUT"], "scoreNeed without scores: {nothing}");
    assert_eq!(nothing["userErrors"][0]["field"], json!(["input", "scores"]));
    let (first, _) = score(&app, &c.cluster_coordinator, "scoreNeed", &round, &a, all(3)).await;
    assert_eq!(first["userErrors"], json!([]));
    let (twice, _) = score(&app, &c.cluster_coordinator, "scoreNeed", &round, &a, all(5)).await;
    assert_eq!(user_error_codes(&twice), ["CONFLICT"], "once per organisation; revise instead");
    let mean = |round: &Value| round["ranking"]["nodes"][0]["weightedMean"].as_f64();
    assert_eq!(
        mean(&round_as(&app, &c.coordinator, &round).await),
        Some(3.0),
        "unchanged by the refused calls"
    );
    let (revised, _) = score(&app, &c.cluster_coordinator, "reviseScores", &round, &a, all(5)).await;
    assert_eq!(mean(&revised["round"]), Some(5.0));
    let withdrawn = app
        .data_as(
            &c.cluster_coordinator,
            &format!(
                "mutation($input: WithdrawScoresInput!) {{ withdrawScores(input: $input) {{
                round {{ {ROUND} }} userErrors {{ code }} }} }}"
            ),
            json!({ "input": { "round": round, "need": a } }),
        )
        .await["withdrawScores"]
        .clone();
    assert_eq!(withdrawn["userErrors"], json!([]), "{withdrawn}");
    assert_eq!(withdrawn["round"]["ranking"]["nodes"][0]["weightedMean"], Value::Null, "an abstention");
    assert_eq!(withdrawn["round"]["ranking"]["nodes"][0]["scoreCount"], 0);
}

#[both_databases]
async fn only_member_organisations_of_the_region_score_and_only_coordinators_run_rounds(app: TestApp) {
    app.add_second_region().await;
    let c = cast(&app).await;
    let nord = app.token_for("Nils Nord", RoleArg::Coordinator, "rso-nord").await;
    let nord_uni = app.token_for("Nora Nord", RoleArg::InstitutionMember, "nord").await;
    let a = accepted_need(&app, &c.bergen, &c.cluster_coordinator, "Behov A frå Bergen").await;
    for token in [&c.cluster_coordinator, &c.institution, &c.bergen] {
        let (_, errors) = open_round(&app, token, &[&a], 1).await;
        assert_eq!(errors, ["FORBIDDEN"]);
    }
    let (_, body) = app
        .query_as(
            &c.cluster_coordinator,
            "mutation($input: OpenRoundInput!) { openRound(input: $input) { round { id } } }",
            json!({
                "input": {
                    "name": "Kupp",
                    "closesAt": "2999-01-01T00:00:00Z",
                    "candidates": [a],
                    "prioritiseCount": 1,
                },
            }),
        )
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("only a coordinator (COORDINATOR) of the partnership"),
        "the role that may: {message}"
    );
    let vest = app.data("{ regions { nodes { id } } }").await["regions"]["nodes"][0]["id"].clone();
    let (_, body) = app
        .query_as(
            &nord,
            "mutation($input: OpenRoundInput!) { openRound(input: $input) { round { id } } }",
            json!({
                "input": {
                    "region": vest,
                    "name": "Kupp",
                    "closesAt": "2999-01-01T00:00:00Z",
                    "candidates": [a],
                    "prioritiseCount": 1,
                },
            }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "another region's coordinator cannot open a round here");
    let (opened, _) = open_round(&app, &c.coordinator, &[&a], 1).await;
    let round = opened["round"]["id"].clone();

    let (_, body) = app
        .query_as(
            &c.bergen,
            "mutation($input: ScoreNeedInput!) { scoreNeed(input: $input) { userErrors { code } } }",
            json!({ "input": { "round": round, "need": a, "scores": all(3) } }),
        )
        .await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"], "a municipality cannot score");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("UNIT_COORDINATOR") && message.contains("INSTITUTION_MEMBER"),
        "who may score: {message}"
    );
    let (_, errors) = score(&app, &c.coordinator, "scoreNeed", &round, &a, all(3)).await;
    assert_eq!(errors, ["FORBIDDEN"], "a coordinator is not a scoring organisation");
    let (payload, _) = score(&app, &nord_uni, "scoreNeed", &round, &a, all(3)).await;
    assert_eq!(user_error_codes(&payload), ["NOT_FOUND"], "another region's round cannot be seen");
    assert!(round_as(&app, &nord, &round).await.is_null());
    let public = app.query_with("query($id: ID!) { node(id: $id) { id } }", json!({ "id": round })).await;
    assert!(public["data"]["node"].is_null(), "rounds are not public");
    let listed = app.data_as(&c.bergen, "{ rounds { totalCount nodes { name } } }", json!({})).await;
    assert_eq!(listed["rounds"]["totalCount"], 1, "members of the region can follow its rounds");
    let by_id = app
        .data_as(
            &c.cluster_coordinator,
            "query($id: ID!) { round(id: $id) { name } }",
            json!({ "id": round }),
        )
        .await;
    assert_eq!(by_id["round"]["name"], "Runde 2027");
    let listed = app.data_as(&nord, "{ rounds { totalCount } }", json!({})).await;
    assert_eq!(listed["rounds"]["totalCount"], 0);
    let seen_by_municipality = round_as(&app, &c.bergen, &round).await;
    assert_eq!(
        seen_by_municipality["ranking"]["nodes"][0]["scores"],
        json!([]),
        "scores are for coordinators and the scorers"
    );
}
