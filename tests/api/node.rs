//! Global ids: `node(id:)` and `nodes(ids:)` round trips, unknown and malformed ids.

use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, error_codes};

/// One id of every node type, with the type name it must come back as.
async fn one_of_each(app: &TestApp) -> Vec<(String, Value)> {
    let data = app
        .data(
            "{ regions(first: 1) { nodes { __typename id } } counties(first: 1) { nodes { __typename id } }
               clusters(first: 1) { nodes { __typename id } } municipalities(first: 1) { nodes { __typename \
               id } }
               institutions(first: 1) { nodes { __typename id } } themes(first: 1) { nodes { __typename id } }
               productTypes(first: 1) { nodes { __typename id } } criteria(first: 1) { nodes { __typename \
               id } } }",
        )
        .await;
    data.as_object()
        .expect("an object")
        .values()
        .map(|list| {
            let node = &list["nodes"][0];
            (node["__typename"].as_str().expect("a type name").to_owned(), node["id"].clone())
        })
        .collect()
}

#[both_databases]
async fn node_round_trips_for_every_type(app: TestApp) {
    let all = one_of_each(&app).await;
    assert_eq!(all.len(), 8);
    for (type_name, id) in all {
        let response =
            app.query_with("query($id: ID!) { node(id: $id) { __typename id } }", json!({ "id": id })).await;
        assert_eq!(response["data"]["node"], json!({ "__typename": type_name, "id": id }), "{type_name}");
    }
}

#[both_databases]
async fn nodes_keeps_order_and_gives_null_for_unknown_ids(app: TestApp) {
    let all = one_of_each(&app).await;
    // A well-formed id of an object that does not exist.
    let unknown = knowledge_hub::graphql::ids::GlobalId::new(
        knowledge_hub::graphql::ids::NodeType::Municipality,
        99_999,
    )
    .encode();
    let mut ids: Vec<Value> = all.iter().rev().map(|(_, id)| id.clone()).collect();
    ids.insert(1, json!(unknown.0));
    let response =
        app.query_with("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
    let nodes = response["data"]["nodes"].as_array().expect("a list");
    assert_eq!(nodes.len(), ids.len());
    assert!(nodes[1].is_null());
    for (node, id) in nodes.iter().zip(&ids).filter(|(n, _)| !n.is_null()) {
        assert_eq!(&node["id"], id);
    }
    let response =
        app.query_with("query($id: ID!) { node(id: $id) { id } }", json!({ "id": unknown.0 })).await;
    assert!(response.get("errors").is_none());
    assert!(response["data"]["node"].is_null());
}

#[both_databases]
async fn malformed_ids_are_bad_user_input(app: TestApp) {
    for id in ["", "not-an-id", "TXVuaWNpcGFsaXR5", "VW5rbm93bjox", "TXVuaWNpcGFsaXR5Ong"] {
        let response = app.query_with("query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{id:?}");
        let response =
            app.query_with("query($id: ID!) { nodes(ids: [$id]) { id } }", json!({ "id": id })).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{id:?}");
    }
}

#[both_databases]
async fn an_id_of_the_wrong_type_in_a_filter_is_bad_user_input(app: TestApp) {
    let region = app.data("{ regions { nodes { id } } }").await["regions"]["nodes"][0]["id"].clone();
    let response = app
        .query_with(
            "query($c: ID!) { municipalities(filter: {cluster: $c}) { totalCount } }",
            json!({ "c": region }),
        )
        .await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
}

#[both_databases]
async fn nodes_takes_at_most_100_ids(app: TestApp) {
    let id = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let ids = vec![id; 101];
    let response =
        app.query_with("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": ids })).await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"]);
}
