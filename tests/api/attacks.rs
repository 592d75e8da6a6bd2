//! The attack suite: hostile documents, requests and inputs, each refused with the right HTTP
//! status and `extensions.code` (or user error), with the database unchanged afterwards.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both_databases, cast, need_input};

/// Every distinct code in a response: top-level errors and the `userErrors` of every mutation
/// payload.
fn codes(body: &Value) -> Vec<String> {
    let mut found: Vec<String> = body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned())
        .collect();
    if let Some(data) = body["data"].as_object() {
        for payload in data.values() {
            for error in payload["userErrors"].as_array().into_iter().flatten() {
                found.push(error["code"].as_str().unwrap_or("<none>").to_owned());
            }
        }
    }
    found.dedup();
    found
}

/// Sends a raw body to `/graphql`; returns the status and the JSON answer.
async fn raw(app: &TestApp, token: Option<&str>, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let mut request = app.client.post(app.url("/graphql")).header("content-type", content_type).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn graphql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
    let body = json!({ "query": query, "variables": variables }).to_string().into_bytes();
    raw(app, token, "application/json", body).await
}

fn repeat(part: &str, times: usize) -> String {
    (0..times).map(|i| part.replace("{i}", &i.to_string())).collect::<Vec<_>>().join(" ")
}

#[both_databases]
async fn hostile_documents_are_refused_before_they_run(app: TestApp) {
    let c = cast(&app).await;
    let token = Some(c.coordinator.as_str());
    graphql(&app, token, "{ viewer { authenticated } }", json!({})).await;
    let before = app.fingerprint().await;
    let statements = app.statements();

    let mut fan_out = String::from("{ ...F0 }");
    for level in 0..12 {
        fan_out
            .push_str(&format!(" fragment F{level} on Query {{ ...F{n} ...F{n} ...F{n} }}", n = level + 1));
    }
    fan_out.push_str(" fragment F12 on Query { regions { totalCount } }");
    let documents: Vec<(&str, String, &str)> = vec![
        (
            "depth 50",
            format!("{{ {} name {} }}", "regions { nodes { ".repeat(25), "} } ".repeat(25)),
            "QUERY_TOO_DEEP",
        ),
        ("a 10,000-level document", "{".repeat(10_000), "QUERY_TOO_DEEP"),
        (
            "101 aliases",
            format!("{{ regions {{ nodes {{ {} }} }} }}", repeat("a{i}: name", 101)),
            "QUERY_TOO_LARGE",
        ),
        (
            "500 duplicated fields",
            format!("{{ regions {{ nodes {{ {} }} }} }}", repeat("name", 500)),
            "QUERY_TOO_LARGE",
        ),
        (
            "many directives",
            format!("{{ regions {} {{ totalCount }} }}", repeat("@include(if: true)", 50)),
            "QUERY_TOO_LARGE",
        ),
        (
            "21 root fields",
            format!("{{ {} }}", repeat("r{i}: regions { totalCount }", 21)),
            "QUERY_TOO_LARGE",
        ),
        ("10,001 tokens", format!("{{ nodes(ids: [{}]) {{ id }} }}", repeat("1", 10_001)), "QUERY_TOO_LARGE"),
        (
            "70 KB of document",
            format!("# {}\n{{ regions {{ totalCount }} }}", "x".repeat(70 * 1024)),
            "QUERY_TOO_LARGE",
        ),
        ("fragments spread 3^12 times", fan_out, "QUERY_TOO_LARGE"),
        (
            "circular introspection",
            format!(
                "{{ __schema {{ types {{ {} name {} }} }} }}",
                "fields { type { ".repeat(8),
                "} } ".repeat(8)
            ),
            "QUERY_TOO_DEEP",
        ),
        (
            "a page of 100 x 100 x 100",
            "{ clusters(first: 100) { nodes { municipalities(first: 100) { nodes { cluster {
                municipalities(first: 100) { nodes { name } } } } } } } }"
                .to_owned(),
            "QUERY_TOO_COMPLEX",
        ),
        ("a syntax error", "{ regions { nodes { key }".to_owned(), "GRAPHQL_PARSE_FAILED"),
        ("an unknown field", "{ regions { nodes { nonsense } } }".to_owned(), "GRAPHQL_VALIDATION_FAILED"),
    ];
    for (what, document, code) in documents {
        let (status, body) = graphql(&app, token, &document, json!({})).await;
        assert_eq!((status, codes(&body)), (200, vec![code.to_owned()]), "{what}: {body:.300}");
        assert!(body["data"].is_null(), "{what}");
    }
    assert_eq!(app.statements(), statements, "no document ran any SQL");
    assert_eq!(app.fingerprint().await, before);
}

#[both_databases]
async fn introspection_and_suggestions_are_for_authenticated_callers(app: TestApp) {
    let c = cast(&app).await;
    let (_, public) = graphql(&app, None, "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(codes(&public), ["INTROSPECTION_DISABLED"]);
    let (_, public) = graphql(&app, None, "{ __type(name: \"Need\") { name } }", json!({})).await;
    assert_eq!(codes(&public), ["INTROSPECTION_DISABLED"]);
    let (_, typename) = graphql(&app, None, "{ __typename regions { __typename } }", json!({})).await;
    assert_eq!(typename["data"]["__typename"], "Query", "__typename is not introspection");
    let (_, member) = graphql(&app, Some(&c.bergen), "{ __schema { queryType { name } } }", json!({})).await;
    assert_eq!(member["data"]["__schema"]["queryType"]["name"], "Query");

    let (_, public) = graphql(&app, None, "{ regoins { totalCount } }", json!({})).await;
    let message = public["errors"][0]["message"].as_str().expect("a message");
    assert!(!message.contains("Did you mean"), "{message}");
    let (_, member) = graphql(&app, Some(&c.bergen), "{ regoins { totalCount } }", json!({})).await;
    assert!(member["errors"][0]["message"].as_str().expect("a message").contains("Did you mean \"regions\""));

    // The public reads the schema as SDL, the same text as schema.graphql.
    let sdl =
        app.client.get(app.url("/schema.graphql")).send().await.expect("sent").text().await.expect("text");
    assert_eq!(sdl, knowledge_hub::graphql::schema::sdl());
}

#[both_databases]
async fn hostile_requests_get_the_right_status(app: TestApp) {
    let c = cast(&app).await;
    let before = app.fingerprint().await;
    let mutation = r#"mutation { createToken(input: { name: "x" }) { secret } }"#;

    let get = app.client.get(app.url("/graphql")).query(&[("query", mutation)]).send().await.expect("sent");
    assert_eq!(get.status(), 405, "a mutation over GET");
    let body = json!({ "query": mutation }).to_string().into_bytes();
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
    {
        let (status, _) = raw(&app, Some(&c.coordinator), content_type, body.clone()).await;
        assert_eq!(status, 415, "{content_type}");
    }
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "a batch",
            br#"[{"query":"{ regions { totalCount } }"},{"query":"{ themes { totalCount } }"}]"#.to_vec(),
            400,
            "BAD_REQUEST",
        ),
        ("malformed JSON", b"{\"query\": \"{ regions".to_vec(), 400, "BAD_REQUEST"),
        (
            "invalid UTF-8",
            b"{\"query\": \"{ regions { totalCount } }\xff\xfe\"}".to_vec(),
            400,
            "BAD_REQUEST",
        ),
        (
            "an oversized body",
            format!(r#"{{"query":"{{ regions {{ totalCount }} }}","pad":"{}"}}"#, "x".repeat(300 * 1024))
                .into_bytes(),
            413,
            "",
        ),
    ];
    for (what, body, status, code) in cases {
        let (got, answer) = raw(&app, Some(&c.coordinator), "application/json", body).await;
        assert_eq!(got, status, "{what}: {answer}");
        if !code.is_empty() {
            assert_eq!(codes(&answer), [code], "{what}");
        }
    }
    assert_eq!(app.fingerprint().await, before);
}

#[both_databases]
async fn hostile_arguments_and_inputs_are_user_errors_that_change_nothing(app: TestApp) {
    let c = cast(&app).await;
    let region = app.data("{ regions { nodes { id } } }").await["regions"]["nodes"][0]["id"].clone();
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let before = app.fingerprint().await;

    let page = "query($n: Int) { municipalities(first: $n) { totalCount } }";
    for n in [
        json!(501),
        json!(-1),
        json!(0),
        json!(2_147_483_647),
        json!(99_999_999_999_i64),
        json!("many"),
        json!(1.5),
    ] {
        let (status, body) = graphql(&app, None, page, json!({ "n": n })).await;
        assert_eq!((status, codes(&body)), (200, vec!["BAD_USER_INPUT".to_owned()]), "first: {n}: {body}");
    }
    for id in [json!("!!!"), json!(""), json!("bm90LWFuLWlk"), json!(region), json!(42)] {
        let (_, body) = graphql(
            &app,
            None,
            "query($id: ID!) { municipality: node(id: $id) { ... on Need { title } } }",
            json!({ "id": id }),
        )
        .await;
        let expected: &[&str] = if id == region { &[] } else { &["BAD_USER_INPUT"] };
        assert_eq!(codes(&body), expected, "node({id}): {body}");
        let (_, body) = graphql(
            &app,
            Some(&c.cluster_coordinator),
            "mutation($id: ID!) { acceptNeed(input: { need: $id, version: 1 }) { userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
        assert_eq!(codes(&body), ["BAD_USER_INPUT"], "acceptNeed({id}): {body}");
    }

    let submit = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { \
                  field code } } }";
    let valid = need_input("Fallforebygging", &theme);
    let mut cases = Vec::new();
    for (field, value) in [
        ("title", json!("x".repeat(100_000))),
        ("title", json!("Fall\u{0}forebygging")),
        ("question", json!("Kva \u{1b}[31m verkar?")),
        ("background", json!("\u{7}".repeat(10))),
        ("title", json!("   ")),
        ("themes", json!([region])),
        ("urgency", json!("YESTERDAY")),
        ("title", json!(12)),
    ] {
        let mut input = valid.clone();
        input[field] = value;
        cases.push((field, input));
    }
    for (field, input) in cases {
        let (status, body) = graphql(&app, Some(&c.bergen), submit, json!({ "input": input })).await;
        assert_eq!(status, 200);
        assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{field}: {body:.300}");
        assert!(body["data"]["submitNeed"]["need"].is_null(), "{field}");
    }
    assert_eq!(app.fingerprint().await, before, "nothing was written");
}

#[tokio::test]
async fn the_fingerprint_sees_a_change() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let before = app.fingerprint().await;
    app.token_for("Nils Ny", knowledge_hub::config::RoleArg::UnitMember, "4601").await;
    assert_ne!(app.fingerprint().await, before);
}
