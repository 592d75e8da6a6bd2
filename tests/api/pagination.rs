//! Relay connections: page bounds, cursors forwards and backwards, `totalCount` and `pageInfo`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, error_codes};

const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
    municipalities(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { code } } } }";

fn codes(page: &Value) -> Vec<String> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["code"].as_str().expect("code").to_owned())
        .collect()
}

#[both_databases]
async fn page_sizes_outside_1_to_500_are_bad_user_input(app: TestApp) {
    for args in [
        json!({ "first": 0 }),
        json!({ "first": 501 }),
        json!({ "first": -1 }),
        json!({ "last": 501 }),
        json!({ "last": 0 }),
        json!({ "first": 2147483647 }),
        json!({ "first": 1, "last": 1 }),
    ] {
        let response = app.query_with(PAGE, args.clone()).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{args}");
    }
    let response = app.query("{ clusters { nodes { municipalities(first: 501) { totalCount } } } }").await;
    assert!(error_codes(&response).iter().all(|c| c == "BAD_USER_INPUT") && response.get("errors").is_some());
    let response = app.query_with(PAGE, json!({ "first": 5, "after": "bogus" })).await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
    let response = app.query(r#"{ municipalities(first: "ten") { totalCount } }"#).await;
    assert!(response.get("errors").is_some() && !error_codes(&response).contains(&"<none>".to_owned()));
}

#[both_databases]
async fn pages_forward_through_every_municipality_once(app: TestApp) {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let response = app.query_with(PAGE, json!({ "first": 25, "after": after })).await;
        let page = &response["data"]["municipalities"];
        assert_eq!(page["totalCount"], 357);
        seen.extend(codes(page));
        assert_eq!(page["pageInfo"]["hasPreviousPage"], after.is_some());
        if page["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 357);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "each once, in order");
}

#[both_databases]
async fn pages_backward_with_last_and_before(app: TestApp) {
    let response = app.query_with(PAGE, json!({ "last": 3 })).await;
    let page = &response["data"]["municipalities"];
    assert_eq!(codes(page), ["5632", "5634", "5636"]);
    assert_eq!(page["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(page["pageInfo"]["hasNextPage"], false);
    let before = page["pageInfo"]["startCursor"].clone();
    let response = app.query_with(PAGE, json!({ "last": 2, "before": before })).await;
    let page = &response["data"]["municipalities"];
    assert_eq!(codes(page), ["5628", "5630"]);
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
}

#[both_databases]
async fn the_default_page_is_20(app: TestApp) {
    let data = app.data("{ municipalities { totalCount nodes { code } pageInfo { hasNextPage } } }").await;
    assert_eq!(data["municipalities"]["nodes"].as_array().map(Vec::len), Some(20));
    assert_eq!(data["municipalities"]["pageInfo"]["hasNextPage"], true);
}
