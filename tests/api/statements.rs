//! DataLoaders batch: nested relations cost the same number of SQL statements for 1 parent as for 4.

use crate::helpers::{TestApp, on_both_databases};

async fn statements_for(app: &TestApp, query: &str) -> u64 {
    let before = app.statements();
    app.data(query).await;
    app.statements() - before
}

on_both_databases! {
    async fn nested_municipalities_cost_the_same_for_one_cluster_as_for_four(app) {
        let one = statements_for(&app, "{ clusters(first: 1) { nodes { municipalities(first: 100) { nodes { name } } } } }").await;
        let four = statements_for(&app, "{ clusters { nodes { municipalities(first: 100) { nodes { name } } } } }").await;
        assert_eq!(one, four);
        assert_eq!(four, 2, "one statement for the clusters, one for all their municipalities");
    }

    async fn a_page_of_municipalities_costs_one_statement_per_relation_at_any_size(app) {
        let query = |n: u32| format!("{{ municipalities(first: {n}) {{ nodes {{ name county {{ name }} cluster {{ name region {{ name }} }} }} }} }}");
        let small = statements_for(&app, &query(5)).await;
        let large = statements_for(&app, &query(100)).await;
        assert_eq!(small, large);
        assert_eq!(large, 4, "municipalities, their counties, their clusters, the clusters' regions");
    }

    async fn nodes_batch_by_type(app) {
        let data = app.data("{ municipalities(first: 50) { nodes { id } } themes { nodes { id } } }").await;
        let ids: Vec<serde_json::Value> = ["municipalities", "themes"]
            .iter()
            .flat_map(|list| data[*list]["nodes"].as_array().cloned().unwrap_or_default())
            .map(|n| n["id"].clone())
            .collect();
        assert_eq!(ids.len(), 61);
        let before = app.statements();
        let response = app
            .query_with("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", serde_json::json!({ "ids": ids }))
            .await;
        assert_eq!(response["data"]["nodes"].as_array().map(Vec::len), Some(61));
        assert_eq!(app.statements() - before, 2, "one statement per type");
    }
}
