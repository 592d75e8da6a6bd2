//! Limits and error codes for documents that must not run: too deep, too costly, malformed,
//! batched, oversized or not JSON. Each is refused before any resolver runs.

use serde_json::json;

use crate::helpers::{TestApp, both_databases, error_codes};

/// The introspection query GraphiQL and most clients send (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}"#;

/// A document exactly `levels` fields deep (at least 3): counties -> nodes -> region -> counties -> ...
/// One county at the top, so that depth 10 stays within the cost limit with 15 counties a region
/// may have.
fn nested(levels: usize) -> String {
    let mut fields = vec!["counties(first: 1)", "nodes"];
    while fields.len() + 1 < levels {
        fields.push(if fields.last() == Some(&"region") { "counties" } else { "region" });
    }
    let open: String = fields.iter().map(|f| format!("{f} {{ ")).collect();
    format!("{{ {open}name {} }}", "} ".repeat(fields.len()))
}

async fn post(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("sent")
}

#[both_databases]
async fn a_query_deeper_than_10_is_refused(app: TestApp) {
    let ok = app.query(&nested(10)).await;
    assert!(ok.get("errors").is_none(), "depth 10 runs: {ok}");
    let before = app.statements();
    let response = app.query(&nested(11)).await;
    assert_eq!(error_codes(&response), ["QUERY_TOO_DEEP"]);
    assert!(response["data"].is_null());
    assert_eq!(app.statements(), before, "refused before any SQL");
    let response = app.query(&nested(50)).await;
    assert_eq!(error_codes(&response), ["QUERY_TOO_DEEP"]);
}

#[both_databases]
async fn depth_counts_through_fragments(app: TestApp) {
    let response = app
        .query(
            "{ clusters { nodes { ...C } } } fragment C on Cluster { region { clusters { nodes { region { \
             clusters { nodes { region { clusters { nodes { key } } } } } } } } } }",
        )
        .await;
    assert_eq!(error_codes(&response), ["QUERY_TOO_DEEP"]);
}

#[both_databases]
async fn a_query_costlier_than_the_limit_is_refused(app: TestApp) {
    let before = app.statements();
    let response = app
        .query(
            "{ regions(first: 100) { nodes { clusters(first: 100) { nodes { municipalities(first: 100) { \
             nodes { name } } } } } } }",
        )
        .await;
    assert_eq!(error_codes(&response), ["QUERY_TOO_COMPLEX"]);
    assert_eq!(app.statements(), before, "refused before any SQL");
    // The same shape with small pages is fine.
    let ok = app
        .query(
            "{ regions(first: 1) { nodes { clusters(first: 4) { nodes { municipalities(first: 100) { \
             nodes { name } } } } } } }",
        )
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
}

#[both_databases]
async fn graphiql_introspection_works_but_circular_introspection_is_refused(app: TestApp) {
    let token = app.token_for("Ingrid Introspekt", knowledge_hub::config::RoleArg::UnitMember, "4601").await;
    let (_, response) = app.query_as(&token, INTROSPECTION, serde_json::json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"]["__schema"]["queryType"]["name"], "Query");
    let (_, response) = app
        .query_as(
            &token,
            "{ __schema { types { fields { type { fields { type { fields { type { fields { \
             type { fields { type { fields { type { fields { type { \
             name } } } } } } } } } } } } } } } } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(error_codes(&response), ["QUERY_TOO_DEEP"]);
}

#[both_databases]
async fn malformed_documents_get_stable_codes(app: TestApp) {
    let response = app.query("{ regions { nodes { key }").await;
    assert_eq!(error_codes(&response), ["GRAPHQL_PARSE_FAILED"]);
    let response = app.query("{ regions { nodes { nonsense } } }").await;
    assert_eq!(error_codes(&response), ["GRAPHQL_VALIDATION_FAILED"]);
    let response = app
        .query_with("query($n: Int) { municipalities(first: $n) { totalCount } }", json!({ "n": "many" }))
        .await;
    assert!(!error_codes(&response).is_empty());
    assert!(!error_codes(&response).contains(&"<none>".to_owned()), "{response}");
}

#[both_databases]
async fn batched_requests_are_refused(app: TestApp) {
    let response = post(
        &app,
        "application/json",
        r#"[{"query":"{ regions { totalCount } }"},{"query":"{ themes { totalCount } }"}]"#,
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(error_codes(&body), ["BAD_REQUEST"]);
}

#[both_databases]
async fn bodies_that_are_not_one_json_request_are_refused(app: TestApp) {
    let response = post(&app, "text/plain", r#"{"query":"{ regions { totalCount } }"}"#).await;
    assert_eq!(response.status(), 415);
    let response = post(&app, "application/x-www-form-urlencoded", "query=%7B%7D").await;
    assert_eq!(response.status(), 415);
    for body in ["{not json", "42", r#"{"variables": {}}"#] {
        let response = post(&app, "application/json", body).await;
        assert_eq!(response.status(), 400, "{body}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(error_codes(&body), ["BAD_REQUEST"]);
    }
    let huge =
        format!(r#"{{"query":"{{ regions {{ totalCount }} }}", "padding": "{}"}}"#, "x".repeat(300 * 1024));
    let response = post(&app, "application/json", huge).await;
    assert_eq!(response.status(), 413);
}

/// The operation a request runs cannot be chosen: every such error carries one code, with a
/// message that says what to send.
async fn resolution(app: &TestApp, query: &str, operation_name: Option<&str>) -> serde_json::Value {
    let mut body = json!({ "query": query });
    if let Some(name) = operation_name {
        body["operationName"] = json!(name);
    }
    let response = app.client.post(app.url("/graphql")).json(&body).send().await.expect("sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

#[both_databases]
async fn operations_that_cannot_be_resolved_have_a_code(app: TestApp) {
    let two = "query A { regions { totalCount } } query B { counties { totalCount } }";
    let unknown = resolution(&app, two, Some("C")).await;
    assert_eq!(error_codes(&unknown), ["OPERATION_RESOLUTION_FAILURE"], "{unknown}");
    assert!(unknown["errors"][0]["message"].as_str().expect("a message").contains("\"C\""), "{unknown}");
    let unnamed = resolution(&app, two, None).await;
    assert_eq!(error_codes(&unnamed), ["OPERATION_RESOLUTION_FAILURE"], "{unnamed}");
    assert!(
        unnamed["errors"][0]["message"].as_str().expect("a message").contains("operationName"),
        "{unnamed}"
    );
    let anonymous = resolution(&app, "{ regions { totalCount } }", Some("A")).await;
    assert_eq!(error_codes(&anonymous), ["OPERATION_RESOLUTION_FAILURE"], "{anonymous}");
    for name in [None, Some("A")] {
        let two_anonymous =
            resolution(&app, "{ regions { totalCount } } { counties { totalCount } }", name).await;
        assert_eq!(error_codes(&two_anonymous), ["OPERATION_RESOLUTION_FAILURE"], "{two_anonymous}");
    }
    let mixed =
        resolution(&app, "{ regions { totalCount } } query B { counties { totalCount } }", Some("B")).await;
    assert_eq!(error_codes(&mixed), ["OPERATION_RESOLUTION_FAILURE"], "{mixed}");
    // The named operation asked for runs.
    let chosen = resolution(&app, two, Some("B")).await;
    assert!(
        chosen.get("errors").is_none() && chosen["data"]["counties"]["totalCount"].is_number(),
        "{chosen}"
    );
}
