//! The organisation tree and partnerships: a district's place and the partnerships that serve
//! it, the filters of `organisations`, partnerships' members, needs found through the tree, typed
//! ids mapped to organisations, the statements a page costs, and ids and keys that name nothing.

use std::collections::BTreeSet;

use base64::Engine;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, cast, error_codes, need_input};

/// The values of `field` in every node of a connection (or list) at `at`, as a set.
fn set_of(at: &Value, field: &str) -> BTreeSet<String> {
    let nodes = at.get("nodes").unwrap_or(at);
    nodes
        .as_array()
        .unwrap_or_else(|| panic!("a list at {at}"))
        .iter()
        .map(|n| n[field].as_str().unwrap_or_else(|| panic!("{field} in {n}")).to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn global_id(type_name: &str, key: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{type_name}:{key}"))
}

/// The districts of Områdesatsingene (all of them accept needs there).
const AREA_DISTRICTS: [&str; 6] = ["030101", "030109", "030110", "030111", "030112", "030115"];

#[both_databases]
async fn a_district_knows_its_place_in_the_tree_and_the_partnerships_that_serve_it(app: TestApp) {
    let data = app
        .data(
            r#"{ district(code: "030115") { kind code name closedAt parent { kind code name }
                 ancestors { kind key code } partnerships { key body { key } }
                 municipality { code } } }"#,
        )
        .await;
    let district = &data["district"];
    assert_eq!(district["kind"], "DISTRICT");
    assert_eq!(district["name"], "Søndre Nordstrand");
    assert_eq!(district["closedAt"], Value::Null);
    assert_eq!(district["municipality"], Value::Null, "a district has no typed details");
    assert_eq!(district["parent"], json!({ "kind": "MUNICIPALITY", "code": "0301", "name": "Oslo" }));
    let ancestors = district["ancestors"].as_array().expect("ancestors");
    assert_eq!(ancestors.first().map(|a| &a["code"]), Some(&json!("0301")), "nearest first: {ancestors:?}");
    assert_eq!(
        ancestors.last().map(|a| (&a["kind"], &a["key"])),
        Some((&json!("NATIONAL"), &json!("ksf"))),
        "up to the root: {ancestors:?}"
    );
    assert_eq!(
        set_of(&district["partnerships"], "key"),
        set(&["ksf", "omradesatsingene", "universitetskommunen-oslo"]),
        "served through itself, Oslo and KSF, each partnership once"
    );
    for partnership in district["partnerships"].as_array().expect("partnerships") {
        assert_eq!(partnership["body"]["key"], partnership["key"], "a partnership is its body's");
    }
    // A member that takes no needs (Oslo kommune in Områdesatsingene, an institution) takes part
    // itself, and brings nothing under it along: Frogner is served by KSF alone.
    let served = app
        .data(
            r#"{ district(code: "030105") { partnerships { key } }
                 municipality(code: "0301") { organisation { partnerships { key } } }
                 institution(key: "uib") { organisation { partnerships { key } } }
                 oslomet: institution(key: "oslomet") { name region { key } organisation { partnerships { key } } } }"#,
        )
        .await;
    assert_eq!(set_of(&served["district"]["partnerships"], "key"), set(&["ksf"]));
    assert_eq!(
        set_of(&served["municipality"]["organisation"]["partnerships"], "key"),
        set(&["ksf", "omradesatsingene", "universitetskommunen-oslo"])
    );
    assert_eq!(set_of(&served["institution"]["organisation"]["partnerships"], "key"), set(&["rso-vest"]));
    // OsloMet serves both of Oslo's partnerships.
    assert_eq!(served["oslomet"]["name"], "OsloMet – storbyuniversitetet");
    assert_eq!(
        served["oslomet"]["region"],
        Value::Null,
        "registered with Universitetskommunen Oslo, no region"
    );
    assert_eq!(
        set_of(&served["oslomet"]["organisation"]["partnerships"], "key"),
        set(&["omradesatsingene", "universitetskommunen-oslo"])
    );
    // Oslo is the district's parent, and has it among its children.
    let oslo = app
        .data(r#"{ organisations(filter: { search: "Søndre Nordstrand" }) { nodes { parent { children(kind: [DISTRICT], first: 50) { totalCount nodes { code } } } } } }"#)
        .await;
    let children = &oslo["organisations"]["nodes"][0]["parent"]["children"];
    assert_eq!(children["totalCount"], 17);
    assert!(set_of(children, "code").contains("030115"));
}

#[both_databases]
async fn organisations_are_filtered_by_kind_partnership_parent_subtree_and_name(app: TestApp) {
    let list = |filter: &str| {
        format!(
            "{{ organisations(filter: {filter}, first: 500) {{ totalCount nodes {{ kind code key name }} }} }}"
        )
    };
    let data = app.data(&list(r#"{ kind: [DISTRICT], partnership: "omradesatsingene" }"#)).await;
    assert_eq!(set_of(&data["organisations"], "code"), set(&AREA_DISTRICTS));

    let data = app.data(&list(r#"{ parent: "0301" }"#)).await;
    let children = data["organisations"]["nodes"].as_array().expect("nodes");
    assert_eq!(data["organisations"]["totalCount"], 19, "17 districts and two programmes");
    assert_eq!(children.iter().filter(|o| o["kind"] == "DISTRICT").count(), 17);
    assert_eq!(
        children.iter().filter(|o| o["kind"] == "PROGRAMME").map(|o| o["key"].clone()).collect::<Vec<_>>(),
        [json!("omradesatsingene"), json!("universitetskommunen-oslo")]
    );

    let data = app.data(&list(r#"{ under: "rso-vest", kind: [MUNICIPALITY] }"#)).await;
    assert_eq!(data["organisations"]["totalCount"], 66);
    let data = app.data(&list(r#"{ under: "omradesatsingene" }"#)).await;
    assert!(
        set_of(&data["organisations"], "key").is_superset(&set(&["groruddalssatsingen", "naermiljo"])),
        "every depth: {data}"
    );
    assert!(!set_of(&data["organisations"], "key").contains("omradesatsingene"), "not itself");

    // Any case, æ, ø and å included, on both databases.
    let data = app.data(&list(r#"{ search: "søndre" }"#)).await;
    let names = set_of(&data["organisations"], "name");
    assert!(names.contains("Søndre Nordstrand"), "{names:?}");
    assert!(names.iter().all(|name| name.to_lowercase().contains("søndre")), "{names:?}");
    let data = app.data(&list(r#"{ search: "SØNDRE", kind: [DISTRICT] }"#)).await;
    assert_eq!(set_of(&data["organisations"], "name"), set(&["Søndre Nordstrand"]));

    // A page at a time, by cursor, in id order, forward and back.
    let first = app.data(r#"{ organisations(filter: { parent: "0301" }, first: 10) { pageInfo { hasNextPage endCursor } nodes { code } } }"#).await;
    assert_eq!(first["organisations"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["organisations"]["pageInfo"]["endCursor"].as_str().expect("a cursor");
    let rest = app
        .data(&format!(
            r#"{{ organisations(filter: {{ parent: "0301" }}, first: 10, after: "{cursor}") {{ pageInfo {{ hasNextPage }} nodes {{ code }} }} }}"#
        ))
        .await;
    assert_eq!(rest["organisations"]["nodes"].as_array().map(Vec::len), Some(9));
    assert_eq!(rest["organisations"]["pageInfo"]["hasNextPage"], false);
    let oslo = app.data(r#"{ organisations(filter: { search: "0301", kind: [MUNICIPALITY] }) { nodes { children(first: 10) { pageInfo { endCursor } } } } }"#).await;
    let cursor =
        oslo["organisations"]["nodes"][0]["children"]["pageInfo"]["endCursor"].as_str().expect("a cursor");
    let back = app
        .data(&format!(
            r#"{{ organisations(filter: {{ search: "0301", kind: [MUNICIPALITY] }}) {{ nodes {{ children(last: 3, before: "{cursor}") {{ pageInfo {{ hasPreviousPage }} nodes {{ code }} }} }} }} }}"#
        ))
        .await;
    let back = &back["organisations"]["nodes"][0]["children"];
    assert_eq!(back["nodes"].as_array().map(Vec::len), Some(3));
    assert_eq!(back["pageInfo"]["hasPreviousPage"], true);
}

#[both_databases]
async fn partnerships_list_their_members_and_who_takes_needs(app: TestApp) {
    let data = app
        .data(
            r#"{ partnerships { totalCount nodes { key } }
                 vest: partnership(key: "rso-vest") { name body { kind key }
                   institutions: members(kind: [INSTITUTION], first: 50) { totalCount nodes { organisation { kind institution { key } } acceptsNeeds } }
                   all: members(first: 50) { totalCount nodes { organisation { key } acceptsNeeds } } }
                 areas: partnership(key: "omradesatsingene") { members(first: 50) { nodes { organisation { code key } acceptsNeeds } } } }"#,
        )
        .await;
    assert_eq!(data["partnerships"]["totalCount"], 5);
    assert_eq!(
        set_of(&data["partnerships"], "key"),
        set(&["ksf", "rso-vest", "rso-midt", "omradesatsingene", "universitetskommunen-oslo"])
    );
    let vest = &data["vest"];
    assert_eq!(vest["body"], json!({ "kind": "REGION", "key": "rso-vest" }));
    assert_eq!(vest["institutions"]["totalCount"], 11);
    let institutions = vest["institutions"]["nodes"].as_array().expect("members");
    assert!(institutions.iter().all(|m| m["organisation"]["kind"] == "INSTITUTION"));
    assert!(institutions.iter().any(|m| m["organisation"]["institution"]["key"] == "uib"));
    assert_eq!(vest["all"]["totalCount"], 12);
    let region = vest["all"]["nodes"]
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["organisation"]["key"] == "rso-vest")
        .cloned();
    assert_eq!(region.map(|m| m["acceptsNeeds"].clone()), Some(json!(true)), "needs are raised in RSO Vest");

    let members = data["areas"]["members"]["nodes"].as_array().expect("members");
    let accepting: BTreeSet<String> = members
        .iter()
        .filter(|m| m["acceptsNeeds"] == true)
        .filter_map(|m| m["organisation"]["code"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(accepting, set(&AREA_DISTRICTS));
    let oslo = members.iter().find(|m| m["organisation"]["code"] == "0301").expect("Oslo is a member");
    assert_eq!(oslo["acceptsNeeds"], false);
}

/// Submits a need as Bergen; returns its id.
async fn a_need_of_bergen(app: &TestApp, token: &str) -> Value {
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let body = app
        .data_as(
            token,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { code } } }",
            json!({ "input": need_input("Kunnskap om heimebuande eldre", &theme) }),
        )
        .await;
    assert_eq!(body["submitNeed"]["userErrors"], json!([]), "{body}");
    body["submitNeed"]["need"]["id"].clone()
}

#[both_databases]
async fn a_need_is_found_under_every_organisation_and_partnership_above_its_municipality(app: TestApp) {
    let c = cast(&app).await;
    let need = a_need_of_bergen(&app, &c.bergen).await;
    let ids = |at: &Value| -> Vec<Value> {
        at["nodes"].as_array().expect("needs").iter().map(|n| n["id"].clone()).collect()
    };
    let data = app
        .data(
            r#"{ bergen: municipality(code: "4601") { organisation { needs { totalCount nodes { id } } } }
                 stavanger: municipality(code: "1103") { organisation { needs { totalCount nodes { id } } } }
                 cluster: cluster(key: "kunnskapskommunen") { organisation { needs { nodes { id } } } }
                 vest: partnership(key: "rso-vest") { needs { nodes { id } } }
                 areas: partnership(key: "omradesatsingene") { needs { nodes { id } } }
                 district: district(code: "030115") { needs { nodes { id } } }
                 byOrganisation: needs(filter: { organisation: "kunnskapskommunen" }) { totalCount nodes { id } }
                 byCode: needs(filter: { organisation: "4601" }) { nodes { id } }
                 byPartnership: needs(filter: { partnership: "rso-vest" }) { nodes { id } }
                 elsewhere: needs(filter: { organisation: "1103" }) { nodes { id } }
                 national: needs(filter: { organisation: "ksf" }) { nodes { id } }
                 nationalPool: needs(filter: { partnership: "ksf" }) { nodes { id } }
                 notOslo: needs(filter: { partnership: "omradesatsingene" }) { nodes { id } }
                 stats: needStats(filter: { organisation: "kunnskapskommunen" }) { total }
                 otherStats: needStats(filter: { partnership: "universitetskommunen-oslo" }) { total } }"#,
        )
        .await;
    let found = [need.clone()];
    assert_eq!(ids(&data["bergen"]["organisation"]["needs"]), found);
    assert_eq!(data["bergen"]["organisation"]["needs"]["totalCount"], 1);
    assert_eq!(ids(&data["cluster"]["organisation"]["needs"]), found);
    assert_eq!(ids(&data["vest"]["needs"]), found);
    assert_eq!(ids(&data["byOrganisation"]), found);
    assert_eq!(data["byOrganisation"]["totalCount"], 1);
    assert_eq!(ids(&data["byCode"]), found);
    assert_eq!(ids(&data["byPartnership"]), found);
    assert_eq!(ids(&data["national"]), found, "KSF is above every municipality");
    assert_eq!(data["stats"]["total"], 1);
    for elsewhere in [
        &data["stavanger"]["organisation"]["needs"],
        &data["areas"]["needs"],
        &data["district"]["needs"],
        &data["elsewhere"],
        &data["notOslo"],
        &data["nationalPool"],
    ] {
        assert_eq!(ids(elsewhere), Vec::<Value>::new(), "{data}");
    }
    assert_eq!(data["otherStats"]["total"], 0);

    // An organisation's needs take the root field's filter too, and both hold.
    let data = app
        .data(
            r#"{ cluster(key: "kunnskapskommunen") { organisation {
                   inBergen: needs(filter: { organisation: "4601" }) { nodes { id } }
                   inStavanger: needs(filter: { organisation: "1103" }) { nodes { id } }
                   rejected: needs(filter: { status: [REJECTED] }) { nodes { id } } } } }"#,
        )
        .await;
    let organisation = &data["cluster"]["organisation"];
    assert_eq!(ids(&organisation["inBergen"]), found);
    assert_eq!(ids(&organisation["inStavanger"]), Vec::<Value>::new());
    assert_eq!(ids(&organisation["rejected"]), Vec::<Value>::new());
}

#[both_databases]
async fn typed_rows_and_their_organisations_lead_to_each_other(app: TestApp) {
    let data = app
        .data(
            r#"{ municipality(code: "4601") { id organisation { id kind code name municipality { code } county { code } } }
                 region(key: "rso-vest") { id organisation { kind key region { key } } }
                 cluster(key: "kunnskapskommunen") { organisation { kind key cluster { key } } }
                 institution(key: "uib") { organisation { kind key parent { id } institution { key } } }
                 counties(first: 100) { nodes { code organisation { kind code county { code } } } } }"#,
        )
        .await;
    let bergen = &data["municipality"];
    assert_eq!(bergen["organisation"]["kind"], "MUNICIPALITY");
    assert_eq!(bergen["organisation"]["code"], "4601");
    assert_eq!(bergen["organisation"]["municipality"], json!({ "code": "4601" }));
    assert_eq!(bergen["organisation"]["county"], Value::Null, "only the details of its kind");
    assert_eq!(
        data["region"]["organisation"],
        json!({ "kind": "REGION", "key": "rso-vest", "region": { "key": "rso-vest" } })
    );
    assert_eq!(
        data["cluster"]["organisation"],
        json!({ "kind": "CLUSTER", "key": "kunnskapskommunen", "cluster": { "key": "kunnskapskommunen" } })
    );
    assert_eq!(data["institution"]["organisation"]["institution"], json!({ "key": "uib" }));
    assert_eq!(data["institution"]["organisation"]["parent"], Value::Null);
    for county in data["counties"]["nodes"].as_array().expect("counties") {
        assert_eq!(county["organisation"]["kind"], "COUNTY");
        assert_eq!(county["organisation"]["code"], county["code"]);
        assert_eq!(county["organisation"]["county"]["code"], county["code"]);
    }

    // A typed id names the organisation; the organisation's own id is a node.
    for id in [&bergen["id"], &bergen["organisation"]["id"]] {
        let response = app
            .query_with("query($id: ID!) { organisation(id: $id) { id code } }", json!({ "id": id }))
            .await;
        assert_eq!(response["data"]["organisation"]["id"], bergen["organisation"]["id"], "{response}");
    }
    let region = app
        .query_with(
            "query($id: ID!) { organisation(id: $id) { key } }",
            json!({ "id": data["region"]["id"] }),
        )
        .await;
    assert_eq!(region["data"]["organisation"]["key"], "rso-vest");
    let node = app
        .query_with(
            "query($id: ID!) { node(id: $id) { __typename ... on Organisation { code } } }",
            json!({ "id": bergen["organisation"]["id"] }),
        )
        .await;
    assert_eq!(node["data"]["node"], json!({ "__typename": "Organisation", "code": "4601" }));
    let partnership = app.data(r#"{ partnership(key: "ksf") { id } }"#).await["partnership"]["id"].clone();
    let node = app
        .query_with("query($id: ID!) { node(id: $id) { __typename id } }", json!({ "id": partnership }))
        .await;
    assert_eq!(node["data"]["node"], json!({ "__typename": "Partnership", "id": partnership }));
}

#[both_databases]
async fn ids_and_keys_that_name_nothing_answer_as_everywhere_else(app: TestApp) {
    let organisation =
        |id: &str| app.query_with("query($id: ID!) { organisation(id: $id) { id } }", json!({ "id": id }));
    let not_a_number = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("Organisation:x");
    for malformed in ["", "!!!", "T3JnYW5pc2F0aW9u", &not_a_number] {
        assert_eq!(error_codes(&organisation(malformed).await), ["BAD_USER_INPUT"], "{malformed}");
    }
    assert_eq!(error_codes(&organisation(&global_id("Need", 1)).await), ["BAD_USER_INPUT"], "wrong type");
    for nothing in [global_id("Organisation", 999_999), global_id("Municipality", 999_999)] {
        let response = organisation(&nothing).await;
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(response["data"]["organisation"], Value::Null);
    }
    let response = app
        .query(r#"{ partnership(key: "nope") { id } district(code: "030199") { id } other: district(code: "030100") { id } }"#)
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    assert_eq!(response["data"], json!({ "partnership": null, "district": null, "other": null }));
    // A municipality's number is not a district's.
    for code in ["0301", "03011a", "0301150"] {
        let response = app.query(&format!(r#"{{ district(code: "{code}") {{ id }} }}"#)).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{code}");
    }
    let municipality_of_oslo = app
        .data(r#"{ organisations(filter: { kind: [MUNICIPALITY], search: "0301" }) { nodes { id } } }"#)
        .await;
    let oslo = municipality_of_oslo["organisations"]["nodes"][0]["id"].as_str().expect("Oslo").to_owned();
    for filter in [
        r#"needs(filter: { organisation: "no-such-organisation" }) { totalCount }"#.to_owned(),
        r#"needs(filter: { partnership: "no-such-partnership" }) { totalCount }"#.to_owned(),
        format!(r#"needs(filter: {{ partnership: "{oslo}" }}) {{ totalCount }}"#),
        r#"needStats(filter: { organisation: "9999" }) { total }"#.to_owned(),
        r#"organisations(filter: { partnership: "0301" }) { totalCount }"#.to_owned(),
        r#"organisations(filter: { parent: "no-such" }) { totalCount }"#.to_owned(),
        r#"organisations(filter: { under: "no-such" }) { totalCount }"#.to_owned(),
        format!(r#"organisations(filter: {{ under: "{}" }}) {{ totalCount }}"#, global_id("Need", 1)),
    ] {
        let response = app.query(&format!("{{ {filter} }}")).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{filter}: {response}");
    }
}

async fn statements_for(app: &TestApp, query: &str) -> u64 {
    app.data(query).await;
    let before = app.statements();
    app.data(query).await;
    app.statements() - before
}

#[both_databases]
async fn a_page_of_organisations_or_of_a_partnerships_needs_costs_the_same_statements_at_any_size_and_depth(
    app: TestApp,
) {
    let organisations = |n: usize, kind: &str| {
        format!(
            "{{ organisations(filter: {{ kind: [{kind}] }}, first: {n}) {{ nodes {{ name parent {{ name }} \
             ancestors {{ key code }} partnerships {{ key }} children(first: 3) {{ totalCount nodes {{ name }} }} }} }} }}"
        )
    };
    let small = statements_for(&app, &organisations(5, "REGION")).await;
    let large = statements_for(&app, &organisations(50, "MUNICIPALITY")).await;
    let deep = statements_for(&app, &organisations(50, "DISTRICT, SUB_PROGRAMME")).await;
    assert_eq!(
        (small, large, deep),
        (6, 6, 6),
        "the page, parents, ancestors, partnerships, children and their counts"
    );

    // Drawn from the whole country by population: about a fifth in RSO Vest's pool.
    sample::generate_needs(app.db(), 800, 11).await.expect("a sample dataset");
    let needs = |n: usize| {
        format!(
            r#"{{ needs(filter: {{ partnership: "rso-vest" }}, first: {n}) {{ totalCount nodes {{ title municipality {{ name }} }} }} }}"#
        )
    };
    let small = statements_for(&app, &needs(5)).await;
    let large = statements_for(&app, &needs(100)).await;
    assert_eq!(small, large);
    assert_eq!(large, 3, "the partnership's key, the page and its count; municipalities are kept");
    let listed = app.data(&needs(100)).await;
    assert_eq!(listed["needs"]["nodes"].as_array().map(Vec::len), Some(100));
}
