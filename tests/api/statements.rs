//! DataLoaders batch: nested relations cost the same number of SQL statements for 1 parent as for 4.

use knowledge_hub::config::RoleArg;

use crate::helpers::{TestApp, both_databases};

async fn statements_for(app: &TestApp, query: &str) -> u64 {
    let before = app.statements();
    app.data(query).await;
    app.statements() - before
}

#[both_databases]
async fn nested_municipalities_cost_the_same_for_one_cluster_as_for_four(app: TestApp) {
    let one = statements_for(
        &app,
        "{ clusters(first: 1) { nodes { municipalities(first: 100) { nodes { name } } } } }",
    )
    .await;
    let four =
        statements_for(&app, "{ clusters { nodes { municipalities(first: 100) { nodes { name } } } } }")
            .await;
    assert_eq!(one, four);
    assert_eq!(four, 2, "one statement for the clusters, one for all their municipalities");
}

#[both_databases]
async fn a_page_of_municipalities_costs_one_statement_per_relation_at_any_size(app: TestApp) {
    let query = |n: u32| {
        format!(
            "{{ municipalities(first: {n}) {{ nodes {{ name county {{ name }} cluster {{ name region {{ \
             name }} }} }} }} }}"
        )
    };
    let first = statements_for(&app, &query(5)).await;
    assert_eq!(first, 4, "municipalities, then the counties, clusters and regions tables, read whole");
    let small = statements_for(&app, &query(5)).await;
    let large = statements_for(&app, &query(100)).await;
    assert_eq!(small, large);
    assert_eq!(large, 1, "the page; the counties, clusters and regions are kept by the process");
}

#[both_databases]
async fn nodes_batch_by_type(app: TestApp) {
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

/// Q1 of the benchmarks: a dashboard page with every relation a dashboard shows.
fn dashboard(n: usize) -> String {
    format!(
        "{{ needs(first: {n}) {{ nodes {{ id title status createdAt municipality {{ name cluster {{ name }} }}
            themes {{ key }} cosignatures(first: 10) {{ nodes {{ municipality {{ name }} }} }}
            commissions(first: 5) {{ nodes {{ status awardedInstitution {{ shortName }} summary {{ \
            title }} }} }} }} }} }}"
    )
}

/// Q4 of the benchmarks: the open requests an institution's member sees.
const OPEN_REQUESTS: &str = "query($n: Int!) { commissions(filter: { status: [OPEN] }, first: $n) { nodes {
    id question deadline budgetNok productType { key } region { name }
    needs { nodes { title municipality { name } themes { key } } } } } }";

#[both_databases]
async fn a_dashboard_page_costs_the_same_few_statements_at_50_and_500_rows(app: TestApp) {
    sample::generate_needs(app.db(), 1_000, 7).await.expect("a sample dataset");
    let first = statements_for(&app, &dashboard(50)).await;
    let small = statements_for(&app, &dashboard(50)).await;
    let before = app.statements();
    let page = app.data(&dashboard(500)).await;
    let large = app.statements() - before;
    assert!(first <= 8, "{first} statements for the first page, reading the reference tables");
    let nodes = page["needs"]["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(nodes.len(), 500);
    // The page really has every relation, so every loader ran.
    let has = |path: &dyn Fn(&serde_json::Value) -> bool| nodes.iter().any(path);
    assert!(has(&|n| n["cosignatures"]["nodes"].as_array().is_some_and(|c| !c.is_empty())));
    assert!(has(&|n| n["commissions"]["nodes"][0]["summary"]["title"].is_string()));
    assert!(has(&|n| n["commissions"]["nodes"][0]["awardedInstitution"]["shortName"].is_string()));
    assert_eq!(small, large, "the same statements for 50 rows as for 500");
    assert_eq!(large, 4, "the page with its themes' ids, co-signatures, commissions, summaries");
}

#[both_databases]
async fn an_institutions_open_requests_cost_the_same_few_statements_at_5_and_50_rows(app: TestApp) {
    sample::generate_needs(app.db(), 5_000, 7).await.expect("a sample dataset");
    let token = app.token_for("Forskar", RoleArg::InstitutionMember, "uib").await;
    // The token's first use is looked up (then cached for a few seconds): not part of the count.
    app.data_as(&token, "{ viewer { authenticated } }", serde_json::json!({})).await;
    let mut counts = Vec::new();
    for n in [5, 5, 50] {
        let before = app.statements();
        let data = app.data_as(&token, OPEN_REQUESTS, serde_json::json!({ "n": n })).await;
        counts.push(app.statements() - before);
        let nodes = data["commissions"]["nodes"].as_array().cloned().unwrap_or_default();
        assert_eq!(nodes.len(), n, "{data}");
        assert!(nodes.iter().all(|c| c["needs"]["nodes"][0]["municipality"]["name"].is_string()));
    }
    assert!(counts[0] <= 8, "{} statements for the first page, reading the reference tables", counts[0]);
    assert_eq!(counts[1], counts[2], "the same statements for 5 rows as for 50");
    assert_eq!(counts[2], 2, "the page, then its needs with their themes' ids");
}

#[both_databases]
async fn a_need_by_id_with_its_municipality_and_themes_costs_one_statement(app: TestApp) {
    sample::generate_needs(app.db(), 50, 3).await.expect("a sample dataset");
    let listed = app.data("{ needs(first: 50) { nodes { id themes { key } } } }").await;
    let with_themes = listed["needs"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .find(|n| n["themes"].as_array().is_some_and(|t| t.len() > 1))
        .expect("a need with two themes or more");
    let lookup =
        "query($id: ID!) { node(id: $id) { ... on Need { id title municipality { name } themes { key } } } }";
    let variables = serde_json::json!({ "id": with_themes["id"] });
    // The first lookup may read the reference tables; the process keeps them.
    app.query_with(lookup, variables.clone()).await;
    let before = app.statements();
    let found = app.query_with(lookup, variables).await["data"].clone();
    assert_eq!(app.statements() - before, 1, "the need and its themes' ids in one statement");
    assert_eq!(
        found["node"]["themes"], with_themes["themes"],
        "the same themes, in the same order, as the list"
    );
    assert!(found["node"]["municipality"]["name"].is_string());
}

/// M1 of the benchmarks: a member submits a need with one theme. On PostgreSQL a submission is
/// the unit's place and one insert of the need with its index terms, themes and history event
/// (with `BEGIN`, `COMMIT` and the audit record, which this count leaves out: five round trips);
/// SQLite, which runs in the process, inserts each kind of row by itself. The themes are checked
/// against the table the process keeps, read once.
#[both_databases]
async fn a_submitted_need_costs_at_most_five_statements(app: TestApp) {
    let token = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let themes = app.data("{ themes(first: 2) { nodes { id key } } }").await["themes"]["nodes"].clone();
    let submit = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { \
                  code } } }";
    let mut counts = Vec::new();
    let mut needs = Vec::new();
    for n in 0..3 {
        let title = format!("Fallførebygging {n} for heimebuande eldre");
        let input = crate::helpers::need_input(&title, &themes[n % 2]["id"]);
        let before = app.statements();
        let data = app.data_as(&token, submit, serde_json::json!({ "input": input })).await;
        counts.push(app.statements() - before);
        needs.push(data["submitNeed"]["need"]["id"].clone());
    }
    let expected = match app.db().backend() {
        sea_orm::DatabaseBackend::Postgres => 2,
        _ => 5,
    };
    assert_eq!(
        &counts[1..],
        [expected, expected],
        "{counts:?}: the first also reads the token and the themes"
    );
    // Every row of each need was written: its themes, its history, its index terms.
    for (n, id) in needs.iter().enumerate() {
        let need = app
            .data_as(
                &token,
                "query($id: ID!) { node(id: $id) { ... on Need { themes { key } history(first: 5) { nodes { \
                 kind } } } } }",
                serde_json::json!({ "id": id }),
            )
            .await;
        assert_eq!(need["node"]["themes"], serde_json::json!([{ "key": themes[n % 2]["key"] }]));
        assert_eq!(need["node"]["history"]["nodes"], serde_json::json!([{ "kind": "CREATED" }]));
    }
    let found = app.data(r#"{ needs(search: "heimebuande fallførebyggingane") { totalCount } }"#).await;
    assert_eq!(found["needs"]["totalCount"], 3);
}
