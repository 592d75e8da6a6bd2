//! The region's reference data through the public API.

use serde_json::json;

use crate::helpers::{TestApp, both_databases, cast, error_codes, need_input};
use knowledge_hub::{app::prepare_database, db::reference_data};

async fn totals(app: &TestApp) -> serde_json::Value {
    app.data(
        "{ regions { totalCount } counties { totalCount } clusters { totalCount }
           municipalities { totalCount } institutions { totalCount } themes { totalCount }
           productTypes { totalCount } criteria { totalCount } }",
    )
    .await
}

#[both_databases]
async fn the_reference_data_is_complete(app: TestApp) {
    let data = totals(&app).await;
    // RSO Vest and RSO Midt; KSF and Oslo's two programmes are partnerships, not regions.
    assert_eq!(data["regions"]["totalCount"], 2);
    assert_eq!(data["counties"]["totalCount"], 15);
    assert_eq!(data["clusters"]["totalCount"], 4);
    assert_eq!(data["municipalities"]["totalCount"], 357, "every municipality of Norway");
    assert_eq!(data["institutions"]["totalCount"], 12, "RSO Vest's 11 and OsloMet");
    assert_eq!(data["themes"]["totalCount"], 11);
    assert_eq!(data["productTypes"]["totalCount"], 8);
    assert_eq!(data["criteria"]["totalCount"], 5);
}

#[both_databases]
async fn bergen_is_4601_in_kunnskapskommunen_in_rso_vest(app: TestApp) {
    let data = app
        .data(
            r#"{ municipality(code: "4601") { code name clusterMembership
                cluster { key region { key name } } county { code name } region { key } } }"#,
        )
        .await;
    assert_eq!(
        data["municipality"],
        json!({
            "code": "4601",
            "name": "Bergen",
            "clusterMembership": "PUBLISHED",
            "cluster": {
                "key": "kunnskapskommunen",
                "region": { "key": "rso-vest", "name": "Regionalt samarbeidsorgan Vest" },
            },
            "county": { "code": "46", "name": "Vestland" },
            "region": { "key": "rso-vest" },
        })
    );
}

#[both_databases]
async fn municipality_numbers_are_four_digit_text(app: TestApp) {
    let data = app.data("{ municipalities(first: 100) { nodes { code } } }").await;
    let codes: Vec<&str> = data["municipalities"]["nodes"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| m["code"].as_str().expect("codes are strings, not numbers"))
        .collect();
    assert_eq!(codes.len(), 100, "the first page of 357");
    assert!(codes.iter().all(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit())), "{codes:?}");
    assert_eq!(codes.first(), Some(&"0301"), "in order of the official number");
    assert!(codes.windows(2).all(|pair| pair[0] < pair[1]), "{codes:?}");
    let data = app
        .data(r#"{ municipality(code: "1101") { name } unknown: municipality(code: "9999") { name } }"#)
        .await;
    assert_eq!(data["municipality"]["name"], "Eigersund");
    assert!(data["unknown"].is_null(), "a well-formed unknown number is null");
}

/// A dashboard names what its users know by key (`sor-rogaland`, `uib`, `health`), and gets the
/// same object, with the same id, as the lists give; an unknown key is null.
#[both_databases]
async fn clusters_institutions_and_themes_are_found_by_key(app: TestApp) {
    let data = app
        .data(
            r#"{ cluster(key: "sor-rogaland") { id key region { key } }
                 institution(key: "uib") { id key shortName }
                 theme(key: "health") { id key label }
                 noCluster: cluster(key: "Sor-Rogaland") { id }
                 noInstitution: institution(key: "") { id }
                 noTheme: theme(key: "helse") { id }
                 clusters(first: 10) { nodes { id key } }
                 institutions(first: 20) { nodes { id key } }
                 themes(first: 20) { nodes { id key } } }"#,
        )
        .await;
    assert_eq!(data["cluster"]["region"]["key"], "rso-vest");
    assert_eq!(data["institution"]["shortName"], "UiB");
    assert_eq!(data["theme"]["label"], "Helse", "in Norwegian by default");
    for (one, list, key) in [
        ("cluster", "clusters", "sor-rogaland"),
        ("institution", "institutions", "uib"),
        ("theme", "themes", "health"),
    ] {
        let listed =
            data[list]["nodes"].as_array().expect("a list").iter().find(|n| n["key"] == key).cloned();
        assert_eq!(listed.map(|n| n["id"].clone()), Some(data[one]["id"].clone()), "{one} {key}");
    }
    for unknown in ["noCluster", "noInstitution", "noTheme"] {
        assert!(data[unknown].is_null(), "{unknown}: keys are exact; {data}");
    }
}

/// Filters take keys where ids are expected: the same needs, municipalities and commissions as by
/// id. An unknown key is `BAD_USER_INPUT`, and so is an id of another type, as before.
#[both_databases]
async fn filters_take_keys_as_well_as_ids(app: TestApp) {
    let c = cast(&app).await;
    let ids = app
        .data(
            r#"{ theme(key: "public-health") { id } cluster(key: "kunnskapskommunen") { id }
                 municipality(code: "4601") { id } institution(key: "uib") { id } region(key: "rso-vest") { id } }"#,
        )
        .await;
    let submit = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { userErrors { code } } }";
    for title in ["Folkehelse i skulen", "Folkehelse for eldre"] {
        let input = need_input(title, &ids["theme"]["id"]);
        let done = app.data_as(&c.bergen, submit, json!({ "input": input })).await;
        assert_eq!(done["submitNeed"]["userErrors"], json!([]));
    }
    let needs = "query($f: NeedFilter) { needs(filter: $f) { totalCount } }";
    let by_id = json!({
        "theme": [ids["theme"]["id"]],
        "cluster": ids["cluster"]["id"],
        "municipality": ids["municipality"]["id"],
        "region": ids["region"]["id"],
    });
    let by_key = json!({ "theme": ["public-health"], "cluster": "kunnskapskommunen", "municipality": "4601", "region": "rso-vest" });
    let counted = app.query_with(needs, json!({ "f": by_id })).await["data"]["needs"]["totalCount"].clone();
    assert_eq!(counted, 2);
    assert_eq!(app.query_with(needs, json!({ "f": by_key })).await["data"]["needs"]["totalCount"], counted);
    let municipalities = "query($f: MunicipalityFilter) { municipalities(filter: $f) { totalCount } }";
    let by_id = app.query_with(municipalities, json!({ "f": { "cluster": ids["cluster"]["id"] } })).await;
    let by_key = app.query_with(municipalities, json!({ "f": { "cluster": "kunnskapskommunen" } })).await;
    assert_eq!(by_key["data"], by_id["data"]);
    let commissions = "query($f: CommissionFilter) { commissions(filter: $f) { totalCount } }";
    let by_key =
        app.query_with(commissions, json!({ "f": { "institution": "uib", "theme": "public-health" } })).await;
    assert_eq!(by_key["data"]["commissions"]["totalCount"], 0, "{by_key}");
    for wrong in [
        json!({ "theme": ["helse"] }),
        json!({ "cluster": "Kunnskapskommunen" }),
        json!({ "municipality": "9999" }),
        json!({ "region": ids["cluster"]["id"] }),
    ] {
        let response = app.query_with(needs, json!({ "f": wrong })).await;
        assert_eq!(error_codes(&response), ["BAD_USER_INPUT"], "{wrong}: {response}");
    }
}

#[both_databases]
async fn a_malformed_municipality_number_is_bad_user_input(app: TestApp) {
    for code in ["460", "46011", "46O1", ""] {
        let response = app
            .query_with("query($c: String!) { municipality(code: $c) { name } }", json!({ "c": code }))
            .await;
        assert_eq!(crate::helpers::error_codes(&response), ["BAD_USER_INPUT"], "{code:?}");
    }
}

#[both_databases]
async fn municipalities_filter_by_county_cluster_and_search(app: TestApp) {
    let data = app
        .data(
            r#"{ rogaland: municipalities(filter: {county: "11"}) { totalCount }
                                 vestland: municipalities(filter: {county: "46"}) { totalCount }
                                 oslo: municipalities(filter: {county: "03"}) { totalCount }
                                 oy: municipalities(filter: {search: "øYGARDEN"}) { nodes { code name } }
                                 prefix: municipalities(filter: {search: "463"}) { totalCount }
                                 clusters { nodes { id key } } }"#,
        )
        .await;
    assert_eq!(data["rogaland"]["totalCount"], 23);
    assert_eq!(data["vestland"]["totalCount"], 43);
    assert_eq!(data["oslo"]["totalCount"], 1, "Oslo is a county of one municipality");
    assert_eq!(data["oy"]["nodes"], json!([{ "code": "4626", "name": "Øygarden" }]));
    assert_eq!(data["prefix"]["totalCount"], 10);
    let fousam = data["clusters"]["nodes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["key"] == "fousam"))
        .expect("FOUSAM")["id"]
        .clone();
    let data = app
        .query_with(
            r#"query($c: ID!) { all: municipalities(filter: {cluster: $c}) { totalCount }
                 both: municipalities(filter: {cluster: $c, county: "11"}) { totalCount } }"#,
            json!({ "c": fousam }),
        )
        .await;
    assert_eq!(data["data"]["all"]["totalCount"], 18);
    assert_eq!(data["data"]["both"]["totalCount"], 8);
}

#[both_databases]
async fn relations_resolve_in_both_directions(app: TestApp) {
    let data = app
        .data(
            "{ regions { nodes { key counties { code } clusters { totalCount nodes { region { key } } }
                                 institutions { totalCount } municipalities { totalCount } } }
               counties { nodes { code region { key } municipalities(first: 100) { totalCount } } } }",
        )
        .await;
    let region = &data["regions"]["nodes"][0];
    assert_eq!(region["key"], "rso-vest");
    assert_eq!(region["counties"], json!([{ "code": "11" }, { "code": "46" }]));
    assert_eq!(region["clusters"]["totalCount"], 4);
    assert!(
        region["clusters"]["nodes"]
            .as_array()
            .expect("list")
            .iter()
            .all(|c| c["region"]["key"] == "rso-vest")
    );
    assert_eq!(region["institutions"]["totalCount"], 11);
    assert_eq!(region["municipalities"]["totalCount"], 66, "RSO Vest's, of the 357");
    let midt = &data["regions"]["nodes"][1];
    assert_eq!(midt["key"], "rso-midt");
    assert_eq!(midt["counties"], json!([{ "code": "50" }]));
    assert_eq!(midt["clusters"]["totalCount"], 0);
    assert_eq!(midt["municipalities"]["totalCount"], 38, "Trøndelag's");
    let county = |code: &str| {
        data["counties"]["nodes"].as_array().and_then(|c| c.iter().find(|c| c["code"] == code)).cloned()
    };
    let vestland = county("46").expect("Vestland");
    assert_eq!(vestland["municipalities"]["totalCount"], 43);
    assert_eq!(vestland["region"]["key"], "rso-vest");
    assert_eq!(county("11").expect("Rogaland")["region"]["key"], "rso-vest");
    assert!(county("03").expect("Oslo")["region"].is_null(), "no source says which RSO covers Oslo");

    let data = app
        .data(
            "{ clusters { nodes { key municipalities(first: 100) { totalCount nodes { cluster { \
             key } } } } } }",
        )
        .await;
    let mut members = 0;
    for cluster in data["clusters"]["nodes"].as_array().expect("list") {
        members += cluster["municipalities"]["totalCount"].as_u64().expect("a count");
        for m in cluster["municipalities"]["nodes"].as_array().expect("list") {
            assert_eq!(m["cluster"]["key"], cluster["key"]);
        }
    }
    assert_eq!(members, 66, "every municipality of RSO Vest is in exactly one cluster, the others in none");
}

#[both_databases]
async fn institutions_filter_by_kind(app: TestApp) {
    let data = app
        .data(
            "{ institutions(filter: {kind: HEALTH_TRUST}) { nodes { key shortName kind region { key } } }
                               universities: institutions(filter: {kind: UNIVERSITY}) { totalCount } }",
        )
        .await;
    let trusts = data["institutions"]["nodes"].as_array().expect("list");
    assert_eq!(trusts.len(), 4);
    assert!(trusts.iter().all(|i| i["kind"] == "HEALTH_TRUST" && i["region"]["key"] == "rso-vest"));
    assert_eq!(data["universities"]["totalCount"], 3, "UiB, UiS and OsloMet");
}

#[both_databases]
async fn labels_come_in_bokmal_nynorsk_and_english(app: TestApp) {
    let data = app
        .data(
            r#"{ themes(first: 100) { nodes { key labels { nb nn en } nb: label en: label(language: EN) } }
                                 productTypes { nodes { key label(language: NN) } }
                                 criteria { nodes { key weight labels { nn } question } } }"#,
        )
        .await;
    let employment = data["themes"]["nodes"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["key"] == "employment"))
        .expect("employment");
    assert_eq!(
        employment["labels"],
        json!({ "nb": "Sysselsetting", "nn": "Sysselsetjing", "en": "Employment" })
    );
    assert_eq!(employment["nb"], "Sysselsetting", "bokmål is the default");
    assert_eq!(employment["en"], "Employment");
    assert_eq!(data["productTypes"]["nodes"][7], json!({ "key": "NEW_RESEARCH", "label": "Ny forsking" }));
    assert_eq!(data["criteria"]["nodes"][2]["labels"]["nn"], "Gjennomførbarheit");
    assert_eq!(data["criteria"]["nodes"][2]["weight"], 1.0);
}

#[both_databases]
async fn a_restart_loads_nothing_twice(app: TestApp) {
    let before = totals(&app).await;
    // A restart runs the same start-up path against the same database.
    let again = prepare_database(&app.database_url).await.expect("second start");
    assert_eq!(reference_data::load(&again).await.expect("load"), reference_data::Outcome::AlreadyLoaded);
    again.close().await.expect("close");
    assert_eq!(totals(&app).await, before);
}
