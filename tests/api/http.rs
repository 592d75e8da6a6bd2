//! The HTTP surface besides GraphQL: health, playground, request ids, methods.

use crate::helpers::{Backend, TestApp, both_databases};

#[both_databases]
async fn health_endpoints_answer(app: TestApp) {
    let alive = app.client.get(app.url("/healthz")).send().await.expect("sent");
    assert_eq!(alive.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.expect("sent");
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
}

#[both_databases]
async fn the_playground_is_served_by_the_hub_with_no_external_url(app: TestApp) {
    let page = app.client.get(app.url("/")).send().await.expect("sent");
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
    let html = page.text().await.expect("text");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{html}");
    assert!(html.contains("\"/graphql\"") && html.contains("\"/graphql/ws\""), "endpoints preset");
    for (path, kind) in
        [("/playground/playground.js", "text/javascript"), ("/playground/playground.css", "text/css")]
    {
        assert!(html.contains(path), "{path} is referenced");
        let asset = app.client.get(app.url(path)).send().await.expect("sent");
        assert_eq!(asset.status(), 200, "{path}");
        assert!(asset.headers()["content-type"].to_str().expect("ascii").starts_with(kind));
        let body = asset.text().await.expect("text");
        assert!(body.len() > 10_000, "{path} is the real bundle");
        if kind == "text/css" {
            // Fonts and images are inlined: nothing the browser would fetch from elsewhere.
            assert!(!body.contains("url(http") && !body.contains("url(\"http") && !body.contains("@import"));
        }
    }
    let missing = app.client.get(app.url("/playground/other.js")).send().await.expect("sent");
    assert_eq!(missing.status(), 404);
}

#[both_databases]
async fn every_response_carries_a_request_id(app: TestApp) {
    let first = app.client.get(app.url("/healthz")).send().await.expect("sent");
    let second = app.client.get(app.url("/healthz")).send().await.expect("sent");
    let id = |r: &reqwest::Response| {
        r.headers().get("x-request-id").map(|v| v.to_str().expect("ascii").to_owned())
    };
    assert!(id(&first).is_some());
    assert_ne!(id(&first), id(&second));
    let chosen =
        app.client.get(app.url("/healthz")).header("x-request-id", "abc-123").send().await.expect("sent");
    assert_eq!(id(&chosen).as_deref(), Some("abc-123"), "a caller's id is kept");
}

#[both_databases]
async fn graphql_over_get_is_not_allowed(app: TestApp) {
    let response =
        app.client.get(app.url("/graphql?query=%7Bregions%7BtotalCount%7D%7D")).send().await.expect("sent");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers().get("allow").map(|v| v.to_str().expect("ascii")), Some("POST"));
    let body: serde_json::Value = response.json().await.expect("a JSON body that says what to do");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert!(body["errors"][0]["message"].as_str().unwrap_or_default().contains("POST /graphql"), "{body}");
    // A browser that opens the endpoint gets the playground.
    let page = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("text").contains("/playground/playground.js"));
}

/// A token without the Bearer scheme is refused with a message that shows the header to send.
#[both_databases]
async fn a_token_without_bearer_is_told_how_to_send_it(app: TestApp) {
    let token = app.token_for("Berit Bearer", knowledge_hub::config::RoleArg::UnitMember, "4601").await;
    for value in [token.clone(), format!("Token {token}"), format!("Basic {token}")] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", value.clone())
            .json(&serde_json::json!({ "query": "{ viewer { person { name } } }" }))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 401, "{value}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("Authorization: Bearer <token>"), "{message}");
    }
    // The scheme in any case works.
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("BEARER {token}"))
        .json(&serde_json::json!({ "query": "{ viewer { person { name } } }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["data"]["viewer"]["person"]["name"], "Berit Bearer");
}

#[both_databases]
async fn metrics_count_requests_statements_and_sockets(app: TestApp) {
    let read = |name: &'static str| {
        let (client, url) = (app.client.clone(), app.url("/metrics"));
        async move {
            let text = client.get(url).send().await.expect("sent").text().await.expect("text");
            text.lines()
                .find_map(|line| line.strip_prefix(name)?.trim().parse::<i64>().ok())
                .unwrap_or_else(|| panic!("{name} in {text}"))
        }
    };
    let (requests, statements) =
        (read("hub_graphql_requests_total").await, read("hub_sql_statements_total").await);
    app.data("{ regions { totalCount } }").await;
    assert_eq!(read("hub_graphql_requests_total").await, requests + 1);
    let now = read("hub_sql_statements_total").await;
    assert!(now > statements, "the query ran SQL");
    assert_eq!(now, i64::try_from(app.statements()).expect("small"), "the same counter the tests read");
    assert_eq!(read("hub_websocket_connections").await, 0);
}

/// SQLite: each connection holds its own copy of the schema (about half a MiB), and the
/// background tasks, which all wake at once, share a small pool of their own; so an idle hub
/// holds the request pool's one connection from the start and at most two more.
#[tokio::test]
async fn an_idle_sqlite_hub_holds_three_database_connections_at_most() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // The notification workers look for work every 200 ms here: let each background task run
    // several times.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let text = app.client.get(app.url("/metrics")).send().await.expect("sent").text().await.expect("text");
    let open: u32 = text
        .lines()
        .find_map(|line| line.strip_prefix("hub_db_connections ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("hub_db_connections in {text}"));
    assert!((1..=3).contains(&open), "{open} connections open on an idle hub");
}
