//! Database trouble: when PostgreSQL restarts or the pool is exhausted, requests fail fast with a
//! retryable code (503 DATABASE_UNAVAILABLE, `Retry-After`), none is half-applied, and the hub
//! recovers by itself.

use knowledge_hub::config::RoleArg;
use sea_orm::{ConnectionTrait, Database, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, need_input},
    postgres,
};

const SUBMIT: &str =
    "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { code } } }";

async fn post(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> (u16, Option<String>, Value) {
    let mut request =
        app.client.post(app.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, retry, response.json().await.expect("JSON"))
}

fn need(title: &str, theme: &Value) -> Value {
    json!({ "input": need_input(title, theme) })
}

async fn titles(app: &TestApp) -> Vec<String> {
    let body = app.data("{ needs(first: 100) { nodes { title } } }").await;
    body["needs"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["title"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_fails_requests_fast_and_the_hub_recovers_by_itself() {
    let (server, url) = postgres::dedicated_server("pg-restart").await;
    let app = TestApp::spawn_on(url, |s| s.db_acquire_timeout_ms = 1_000).await;
    let token = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let (status, _, body) = post(&app, Some(&token), SUBMIT, need("Før omstarten", &theme)).await;
    assert_eq!((status, &body["data"]["submitNeed"]["userErrors"]), (200, &json!([])), "{body}");

    server.stop();
    for (token, query, variables) in [
        (Some(token.as_str()), SUBMIT, need("Under omstarten", &theme)),
        (None, "{ needs { totalCount } }", json!({})),
    ] {
        let (status, retry, body) = post(&app, token, query, variables).await;
        assert_eq!((status, retry.as_deref()), (503, Some("1")), "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "DATABASE_UNAVAILABLE", "{body}");
        assert!(!body.to_string().contains("Connection"), "no driver text reaches the client: {body}");
    }

    server.start();
    // The pool replaces its broken connections on its own: retry as a client would, a bounded
    // number of times (no timing is asserted).
    let mut recovered = false;
    for _ in 0..100 {
        if post(&app, None, "{ needs { totalCount } }", json!({})).await.0 == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "the hub serves again without a restart");
    let (status, _, _) = post(&app, Some(&token), SUBMIT, need("Etter omstarten", &theme)).await;
    assert_eq!(status, 200);
    let mut found = titles(&app).await;
    found.sort();
    assert_eq!(found, ["Etter omstarten", "Før omstarten"], "the refused write left nothing behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exhausted_pool_fails_requests_fast_and_recovers() {
    let url = postgres::fresh_database().await;
    let app = TestApp::spawn_on(url.clone(), |s| {
        // One connection is the event relay's listener; two serve requests.
        s.db_max_connections = Some(3);
        s.db_acquire_timeout_ms = 500;
    })
    .await;
    // Hold a lock that every count of needs waits for, from outside the hub.
    let outside = Database::connect(&url).await.expect("connects");
    let backend = outside.get_database_backend();
    let lock = outside.begin().await.expect("a transaction");
    lock.execute_unprepared("LOCK TABLE need IN ACCESS EXCLUSIVE MODE").await.expect("locks");
    let waiting: Vec<_> = (0..2)
        .map(|_| {
            let (client, url) = (app.client.clone(), app.url("/graphql"));
            tokio::spawn(async move {
                let response =
                    client.post(url).json(&json!({ "query": "{ needs { totalCount } }" })).send().await;
                response.expect("sent").status().as_u16()
            })
        })
        .collect();
    // Both of the hub's connections are now waiting on the lock (checked, not slept on).
    let mut blocked = 0;
    for _ in 0..200 {
        let row = outside
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
            ))
            .await
            .expect("runs")
            .expect("a row");
        blocked = row.try_get::<i64>("", "n").expect("a count");
        if blocked >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(blocked, 2);

    let (status, retry, body) = post(&app, None, "{ regions { totalCount } }", json!({})).await;
    assert_eq!((status, retry.as_deref()), (503, Some("1")), "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "DATABASE_UNAVAILABLE");

    lock.commit().await.expect("unlocks");
    for request in waiting {
        assert_eq!(request.await.expect("a request"), 200, "the waiting requests complete");
    }
    let (status, _, _) = post(&app, None, "{ regions { totalCount } }", json!({})).await;
    assert_eq!(status, 200, "recovered");
}
