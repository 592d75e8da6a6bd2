//! Lists a client can grow are connections, paged in SQL and priced by the page; lists with a
//! hard bound in the data are priced by that bound; `nodes(ids:)` takes each id once; and a
//! response above the size ceiling is replaced by an error.

use std::sync::OnceLock;

use base64::Engine;
use entity::enums::NeedEventKind;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both_databases, error_codes};

/// The database id inside a global id (`base64url("Need:12")`).
fn key_of(id: &Value) -> i32 {
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.as_str().expect("an id")).expect("base64");
    let text = String::from_utf8(bytes).expect("text");
    text.rsplit(':').next().and_then(|k| k.parse().ok()).expect("a key")
}

/// The visible needs of a fresh sample dataset of `n` needs, and the first of them given a
/// history `extra` events longer: co-sign and withdraw, again and again, as a client can.
async fn needs_with_a_long_history(app: &TestApp, n: usize, extra: usize) -> Vec<Value> {
    sample::generate_needs(app.db(), n, 21).await.expect("a sample dataset");
    let page = app.data(&format!("{{ needs(first: {n}) {{ nodes {{ id }} }} }}")).await;
    let ids: Vec<Value> =
        page["needs"]["nodes"].as_array().expect("needs").iter().map(|n| n["id"].clone()).collect();
    let need_id = key_of(&ids[0]);
    let rows: Vec<entity::need_event::ActiveModel> = (0..extra)
        .map(|i| entity::need_event::ActiveModel {
            need_id: Set(need_id),
            occurred_at: Set(chrono::Utc::now()),
            kind: Set(if i % 2 == 0 { NeedEventKind::Cosigned } else { NeedEventKind::CosignatureWithdrawn }),
            ..Default::default()
        })
        .collect();
    for chunk in rows.chunks(500) {
        entity::need_event::Entity::insert_many(chunk.to_vec())
            .exec(app.db().background())
            .await
            .expect("events");
    }
    ids
}

fn cost(response: &Value) -> u64 {
    response["extensions"]["rateLimit"]["cost"].as_u64().expect("a cost")
}

#[both_databases]
async fn a_long_history_is_paged_in_sql_and_priced_by_the_page(app: TestApp) {
    let ids = needs_with_a_long_history(&app, 120, 2_000).await;
    let id = &ids[0];
    let page = |args: String| {
        format!(
            "{{ node(id: \"{}\") {{ ... on Need {{ history{args} {{ totalCount pageInfo {{ hasNextPage \
             hasPreviousPage endCursor }} nodes {{ kind }} }} }} }} }}",
            id.as_str().expect("id")
        )
    };
    // The default page is 20; every event is reached by paging, once, in order.
    let first = app.data(&page(String::new())).await;
    let total = first["node"]["history"]["totalCount"].as_u64().expect("a count");
    assert!(total > 2_000, "{total}");
    assert_eq!(first["node"]["history"]["nodes"].as_array().map(Vec::len), Some(20));
    let mut seen = 0;
    let mut after: Option<String> = None;
    loop {
        let args = match &after {
            Some(c) => format!("(first: 500, after: \"{c}\")"),
            None => "(first: 500)".to_owned(),
        };
        let data = app.data(&page(args)).await;
        let history = &data["node"]["history"];
        seen += history["nodes"].as_array().map(Vec::len).unwrap_or(0);
        if !history["pageInfo"]["hasNextPage"].as_bool().expect("a flag") {
            break;
        }
        after = history["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen as u64, total, "every event once");
    let latest = app.data(&page("(last: 2)".to_owned())).await;
    assert_eq!(
        latest["node"]["history"]["nodes"],
        json!([{ "kind": "COSIGNED" }, { "kind": "COSIGNATURE_WITHDRAWN" }])
    );
    assert_eq!(latest["node"]["history"]["pageInfo"]["hasPreviousPage"], true);

    // The request of the review: 100 copies of that need with its history. Refused, before SQL.
    let before = app.statements();
    let copies = vec![id.clone(); 100];
    let attack = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Need { title history { nodes { kind from \
                  to reason occurredAt } } } } }";
    let response = app.query_with(attack, json!({ "ids": copies })).await;
    assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{response}");
    assert_eq!(app.statements(), before, "refused before any SQL");
    // 100 distinct needs with their whole pages of history are priced at what they could return.
    let distinct: Vec<Value> = ids.iter().take(100).cloned().collect();
    assert_eq!(distinct.len(), 100);
    let greedy = attack.replace("history {", "history(first: 500) {");
    let response = app.query_with(&greedy, json!({ "ids": distinct })).await;
    assert_eq!(error_codes(&response), ["QUERY_TOO_COMPLEX"], "{response}");
    // The price follows the page asked for.
    let small = app.query_with(attack, json!({ "ids": [id] })).await;
    let large = app.query_with(&greedy, json!({ "ids": [id] })).await;
    assert!(small.get("errors").is_none() && large.get("errors").is_none(), "{small} {large}");
    assert_eq!(large["data"]["nodes"][0]["history"]["nodes"].as_array().map(Vec::len), Some(500));
    assert!(
        cost(&large) >= 25 * cost(&small) / 2 && cost(&large) > 30,
        "{} vs {}",
        cost(&large),
        cost(&small)
    );
}

#[both_databases]
async fn histories_of_a_page_of_needs_cost_one_statement_whatever_their_length(app: TestApp) {
    needs_with_a_long_history(&app, 60, 1_000).await;
    let query = "{ needs(first: 50) { nodes { id history(first: 3) { totalCount nodes { kind } } } } }";
    app.data(query).await;
    let before = app.statements();
    let data = app.data(query).await;
    assert_eq!(app.statements() - before, 3, "the page, one page of history per need, one count per need");
    let nodes = data["needs"]["nodes"].as_array().expect("needs");
    assert_eq!(nodes.len(), 50);
    assert!(
        nodes.iter().all(|n| n["history"]["nodes"].as_array().is_some_and(|h| !h.is_empty() && h.len() <= 3))
    );
    assert!(nodes.iter().any(|n| n["history"]["totalCount"].as_u64().is_some_and(|t| t > 1_000)));
}

#[both_databases]
async fn nodes_takes_each_id_once(app: TestApp) {
    let data = app.data("{ themes(first: 2) { nodes { id } } }").await;
    let a = data["themes"]["nodes"][0]["id"].clone();
    let b = data["themes"]["nodes"][1]["id"].clone();
    let ok =
        app.query_with("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": [a, b] })).await;
    assert_eq!(ok["data"]["nodes"].as_array().map(Vec::len), Some(2), "{ok}");
    let twice =
        app.query_with("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", json!({ "ids": [a, b, a] })).await;
    assert_eq!(error_codes(&twice), ["BAD_USER_INPUT"], "{twice}");
}

#[both_databases]
async fn the_price_of_every_connection_grows_with_the_page_asked_for(app: TestApp) {
    // Every field taking `first`, wherever it is in the schema, with pages of 1, 100 and 500.
    static SCHEMA: OnceLock<crate::fuzz::SchemaWalk> = OnceLock::new();
    let paged = SCHEMA.get_or_init(crate::fuzz::SchemaWalk::load).paged_fields();
    assert!(paged.len() > 25, "{paged:?}");
    let token = app.token_for("Kari Nordmann", knowledge_hub::config::RoleArg::Coordinator, "rso-vest").await;
    for (path, name) in &paged {
        let mut costs = Vec::new();
        for n in [1, 100, 500] {
            let document = path
                .replace("{args}", &format!("first: {n}"))
                .replace("{ __typename }", "{ nodes { __typename } }");
            let (_, body) = app.query_as(&token, &format!("{{ {document} }}"), json!({})).await;
            assert!(!error_codes(&body).contains(&"INTERNAL".to_owned()), "{document}: {body}");
            match body["extensions"]["rateLimit"]["cost"].as_u64() {
                Some(cost) => costs.push(cost),
                // Priced above the limit: the dearest of all.
                None if error_codes(&body) == ["QUERY_TOO_COMPLEX"] => costs.push(u64::MAX),
                None => panic!("{name} is refused at {n}: {body}"),
            }
        }
        assert!(costs[0] < costs[1] && costs[1] < costs[2], "{name}: {costs:?}");
    }
}

#[tokio::test]
async fn a_response_above_the_ceiling_is_replaced_by_an_error() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_with(backend, |settings| settings.max_response_bytes = 4_096).await;
        let small = app.query("{ regions { nodes { name } } }").await;
        assert!(small.get("errors").is_none(), "{small}");
        let response = app.query("{ municipalities(first: 100) { nodes { id name code } } }").await;
        assert_eq!(error_codes(&response), ["RESPONSE_TOO_LARGE"], "{response}");
        assert!(response["data"].is_null());
        assert!(response["extensions"]["rateLimit"]["cost"].as_u64().is_some(), "the cost is still reported");
    }
}

/// Every plain list of the schema (a list that is not the `edges`/`nodes` of a connection), with
/// why it cannot grow without bound: a new list field fails here until it is classified (and, if
/// a client can grow it, made a connection).
const PLAIN_LISTS: &[(&str, &str)] = &[
    ("Need.themes", "one per theme: priced at the number of themes"),
    ("Institution.themes", "a profile, one per theme: priced at the number of themes"),
    ("Institution.productTypes", "a profile, one per product type: priced at their number"),
    ("Region.counties", "bundled counties, which no request adds: priced at their number"),
    ("Organisation.ancestors", "at most the tree's depth, domain::organisations::MAX_DEPTH, priced at it"),
    (
        "Organisation.partnerships",
        "at most domain::organisations::MAX_PARTNERSHIPS, which createRegion keeps",
    ),
    ("ApiToken.boundToRegions", "partnerships: at most MAX_PARTNERSHIPS, priced at it"),
    ("Commission.interests", "one per institution: at most MAX_INSTITUTIONS, which addInstitution keeps"),
    ("Round.criteria", "at most domain::rounds::MAX_CRITERIA, priced at it"),
    ("RankingEntry.criterionMeans", "one per criterion of the round, priced at MAX_CRITERIA"),
    ("RankingEntry.scores", "one per scorer of the partnership and criterion: rounds::MAX_SCORES_PER_NEED"),
    ("NeedStats.byStatus", "one per status, priced at their number"),
    ("NeedStats.byTheme", "one per theme, priced at their number"),
    ("NeedStats.byCluster", "one per cluster: at most MAX_CLUSTERS, which createOrganisation keeps"),
    ("NeedStats.byMunicipality", "one per municipality, priced at their number"),
    (
        "NeedStats.byDistrict",
        "the districts with the most needs, at most db::needs::MAX_DISTRICT_GROUPS (a LIMIT), priced at it",
    ),
    (
        "NeedStats.submissionsByMonth",
        "one per month with submissions: grows with the calendar, not with clients",
    ),
    ("Query.nodes", "at most 100 distinct ids, priced per id"),
    ("MergeNeedsPayload.duplicates", "the duplicates the mutation's own input names"),
    ("SubmitNeedPayload.similarNeeds", "at most 5"),
    ("UserError.field", "a path into the mutation's input"),
    ("Viewer.notificationPreferences", "one per NotificationKind, priced at their number"),
    ("WebhookEndpoint.events", "enum values, each once: at most the kinds of WebhookEventKind"),
];

#[test]
fn every_plain_list_is_bounded_and_classified() {
    use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};
    let sdl = knowledge_hub::graphql::schema::sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut lists = Vec::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(t) = definition else { continue };
        let name = t.node.name.node.to_string();
        let TypeKind::Object(object) = &t.node.kind else { continue };
        if name.ends_with("Connection") {
            continue;
        }
        for field in &object.fields {
            let field = &field.node;
            if matches!(field.ty.node.base, BaseType::List(_)) && field.name.node != "userErrors" {
                lists.push(format!("{name}.{}", field.name.node));
            }
        }
    }
    lists.sort();
    let mut classified: Vec<String> = PLAIN_LISTS.iter().map(|(field, _)| (*field).to_owned()).collect();
    classified.sort();
    assert_eq!(lists, classified, "plain lists of the schema and their classification");
}
