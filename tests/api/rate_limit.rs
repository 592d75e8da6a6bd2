//! Cost-based rate limiting: each request's cost is in the response, a spent budget gets 429 with
//! `Retry-After` before anything runs, and other callers are unaffected.

use knowledge_hub::config::RoleArg;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

async fn post(app: &TestApp, token: Option<&str>, query: &str) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = app.client.post(app.url("/graphql")).json(&json!({ "query": query }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.json().await.expect("JSON"))
}

async fn rate_limited_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |settings| {
        settings.public_rate_limit = 30;
        settings.rate_limit = 1_000;
    })
    .await
}

#[tokio::test]
async fn each_request_reports_its_cost_and_a_spent_budget_gets_429() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = rate_limited_app(backend).await;
        let token = app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;

        let (status, headers, body) = post(&app, None, "{ regions { totalCount } }").await;
        assert_eq!(status, 200);
        let cost = body["extensions"]["rateLimit"]["cost"].as_u64().expect("a cost");
        assert_eq!((cost, &body["extensions"]["rateLimit"]["limit"]), (1, &json!(30)));
        assert_eq!(headers["x-ratelimit-remaining"], "29");
        // A bigger page costs more: 1 + complexity / 100.
        let (_, _, big) =
            post(&app, None, "{ municipalities(first: 100) { nodes { name cluster { name } } } }").await;
        let big_cost = big["extensions"]["rateLimit"]["cost"].as_u64().expect("a cost");
        assert!(big_cost > 1, "{big}");

        // Spend the rest; then the public is refused before anything runs.
        let mut remaining = big["extensions"]["rateLimit"]["remaining"].as_u64().expect("remaining");
        while remaining > 0 {
            let (_, _, body) = post(&app, None, "{ regions { totalCount } }").await;
            remaining = body["extensions"]["rateLimit"]["remaining"].as_u64().expect("remaining");
        }
        let statements = app.statements();
        let (status, headers, body) = post(&app, None, "{ regions { totalCount } }").await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");
        let retry_after: u64 = headers["retry-after"].to_str().expect("text").parse().expect("seconds");
        assert!((1..=120).contains(&retry_after), "one point per 120 s at 30 an hour: {retry_after}");
        assert!(body["data"].is_null());
        assert_eq!(app.statements(), statements, "nothing ran");

        // A token holder has a budget of their own.
        let (status, headers, _) = post(&app, Some(&token), "{ regions { totalCount } }").await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-ratelimit-limit"], "1000");
    }
}
