//! The audit log: every mutation and every refused request leaves an event with actor, token,
//! action, target, outcome and request id; coordinators read their region's log; no token or
//! e-mail address is ever in it.

use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, cast, need_input};

/// Posts a GraphQL request with a chosen request id; returns the status and body.
async fn post(
    app: &TestApp,
    token: Option<&str>,
    request_id: &str,
    query: &str,
    variables: Value,
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", request_id)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

const LOG: &str = "query($f: AuditFilter) { auditEvents(filter: $f, first: 100) { edges { node {
    action outcome target requestId detail actorLabel tokenId actor { name } } } pageInfo { \
    hasNextPage } } }";

async fn log_for(app: &TestApp, token: &str, request_id: &str) -> Vec<Value> {
    let body = app.data_as(token, LOG, json!({ "f": { "requestId": request_id } })).await;
    body["auditEvents"]["edges"].as_array().expect("edges").iter().map(|e| e["node"].clone()).collect()
}

#[both_databases]
async fn every_mutation_and_refusal_is_in_the_coordinators_log(app: TestApp) {
    let c = cast(&app).await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let submit = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { \
                  code } } }";
    let input = need_input("Fallforebygging", &theme);

    let (_, ok) = post(&app, Some(&c.bergen), "audit-ok", submit, json!({ "input": input })).await;
    let need = ok["data"]["submitNeed"]["need"]["id"].clone();
    let mut bad = input.clone();
    bad["title"] = json!("x");
    post(&app, Some(&c.bergen), "audit-user-error", submit, json!({ "input": bad })).await;
    let (_, forbidden) = post(
        &app,
        Some(&c.bergen),
        "audit-forbidden",
        "mutation($n: ID!) { acceptNeed(input: { need: $n, version: 1 }) { need { id } } }",
        json!({ "n": need }),
    )
    .await;
    assert_eq!(forbidden["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let (_, public) = post(&app, None, "audit-public-query", "{ people { totalCount } }", json!({})).await;
    let public_code = public["errors"][0]["extensions"]["code"].clone();
    let (status, _) = post(
        &app,
        Some("khub_this-is-not-a-token"),
        "audit-bad-token",
        "{ regions { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(status, 401);

    let events = log_for(&app, &c.coordinator, "audit-ok").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0]["action"].as_str(), events[0]["outcome"].as_str()),
        (Some("mutation.submitNeed"), Some("OK"))
    );
    assert_eq!(events[0]["target"], need, "the need it created");
    assert_eq!(events[0]["actor"]["name"], "Ingrid Berg");
    assert!(events[0]["tokenId"].is_string());

    let events = log_for(&app, &c.coordinator, "audit-user-error").await;
    assert_eq!(events[0]["outcome"], "USER_ERROR");
    assert_eq!(events[0]["detail"], r#"{"userErrors":["BAD_USER_INPUT"]}"#);
    let events = log_for(&app, &c.coordinator, "audit-forbidden").await;
    assert_eq!(
        (events[0]["action"].as_str(), events[0]["outcome"].as_str()),
        (Some("mutation.acceptNeed"), Some("FORBIDDEN"))
    );
    assert_eq!(events[0]["target"], need, "the need it tried to move");
    // The public's refusals and unknown tokens concern no region: they are in the operators'
    // log (`knowledge-hub audit`), not in any coordinator's.
    for request_id in ["audit-public-query", "audit-bad-token"] {
        assert!(log_for(&app, &c.coordinator, request_id).await.is_empty(), "{request_id}");
    }
    let operators: Vec<Value> = knowledge_hub::bootstrap::operators_log(app.db(), 10)
        .await
        .expect("the operators' log")
        .iter()
        .map(|line| serde_json::from_str(line).expect("JSON"))
        .collect();
    let of = |id: &str| operators.iter().find(|e| e["requestId"] == id).cloned().unwrap_or_default();
    assert_eq!(
        (of("audit-public-query")["action"].as_str(), of("audit-public-query")["outcome"].clone()),
        (Some("query.people"), public_code)
    );
    assert_eq!(of("audit-public-query")["actor"], "public");
    assert_eq!(
        (of("audit-bad-token")["action"].as_str(), of("audit-bad-token")["outcome"].as_str()),
        (Some("authenticate"), Some("UNAUTHENTICATED"))
    );
    assert_eq!(of("audit-bad-token")["detail"]["reason"], "malformed");

    // Others may not read the log, and trying is itself recorded.
    let (_, refused) = post(&app, Some(&c.cluster_coordinator), "audit-reader", LOG, json!({})).await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(log_for(&app, &c.coordinator, "audit-reader").await[0]["action"], "query.auditEvents");

    // Filters.
    let forbidden = app
        .data_as(
            &c.coordinator,
            LOG,
            json!({ "f": { "outcome": "FORBIDDEN", "action": "mutation.acceptNeed" } }),
        )
        .await;
    assert_eq!(forbidden["auditEvents"]["edges"].as_array().map(Vec::len), Some(1));

    // No secret and no e-mail address anywhere in the log.
    for row in app.audit_rows().await {
        let text = row.to_string();
        assert!(!text.contains("khub_") && !text.contains("@example.no"), "{text}");
    }
}

#[both_databases]
async fn a_coordinator_reads_only_their_regions_log(app: TestApp) {
    let c = cast(&app).await;
    app.add_second_region().await;
    let north = app.token_for("Nora Nord", RoleArg::Coordinator, "rso-nord").await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    post(
        &app,
        Some(&c.bergen),
        "audit-west",
        "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
        json!({ "input": need_input("Fallforebygging", &theme) }),
    )
    .await;
    assert_eq!(log_for(&app, &c.coordinator, "audit-west").await.len(), 1);
    assert_eq!(log_for(&app, &north, "audit-west").await, Vec::<Value>::new(), "another region's log");
}
