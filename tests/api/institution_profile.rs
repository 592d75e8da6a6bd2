//! Institutions' profiles: the themes and product types an institution wants to hear of when a
//! commission opens. Set and read back through the API, by whom, with unknown and too many names
//! refused as user errors; and `db::institutions::matching_institutions` against real commissions,
//! held to the rule of `domain::institutions::matches`, in one statement.

use std::collections::HashMap;

use knowledge_hub::{
    config::RoleArg,
    db::institutions::matching_institutions,
    domain::{
        institutions::{Profile, Topic, matches},
        nodes::NodeType,
    },
    graphql::ids::GlobalId,
};
use serde_json::{Value, json};

use crate::{
    commissions::call,
    helpers::{TestApp, both_databases, cast, error_codes, need_input, user_error_codes},
};

const SET: &str = "mutation($input: SetInstitutionProfileInput!) { setInstitutionProfile(input: $input) {
    institution { key themes { key } productTypes { key } } userErrors { field code message } } }";

const PROFILES: &str =
    "{ institutions(first: 100) { nodes { id key themes { key } productTypes { key } } } }";

/// `setInstitutionProfile` as `token`: the payload and the top-level error codes.
async fn set(app: &TestApp, token: Option<&str>, input: Value) -> (Value, Vec<String>) {
    let body = match token {
        Some(token) => app.query_as(token, SET, json!({ "input": input })).await.1,
        None => app.query_with(SET, json!({ "input": input })).await,
    };
    (body["data"]["setInstitutionProfile"].clone(), error_codes(&body))
}

/// The database id in a global id.
fn key(id: &Value) -> i32 {
    GlobalId::decode(id.as_str().expect("an id")).expect("a global id").key
}

/// The keys in a list of `{ key }` objects.
fn keys(list: &Value) -> Vec<&str> {
    list.as_array().expect("a list").iter().filter_map(|item| item["key"].as_str()).collect()
}

#[both_databases]
async fn an_institution_sets_its_profile_and_reads_it_back(app: TestApp) {
    let c = cast(&app).await;
    // No profile yet: not narrowed.
    let before = app.data(PROFILES).await;
    for institution in before["institutions"]["nodes"].as_array().expect("institutions") {
        assert_eq!((keys(&institution["themes"]).len(), keys(&institution["productTypes"]).len()), (0, 0));
    }
    let care = ids_by_key(&app, "themes").await["care"].clone();
    // Themes by key and by id, one twice; product types by key.
    let (payload, errors) = set(
        &app,
        Some(&c.institution),
        json!({
            "institution": "uib",
            "themes": ["health", care, "care"],
            "productTypes": ["SYSTEMATIC_REVIEW", "RAPID_REVIEW"],
        }),
    )
    .await;
    assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{payload} {errors:?}");
    let institution = &payload["institution"];
    assert_eq!(institution["key"], "uib");
    assert_eq!(keys(&institution["themes"]), ["health", "care"], "each once, in the themes' order");
    assert_eq!(keys(&institution["productTypes"]), ["SYSTEMATIC_REVIEW", "RAPID_REVIEW"]);
    let read = app.data(PROFILES).await;
    let uib = read["institutions"]["nodes"].as_array().and_then(|l| l.iter().find(|i| i["key"] == "uib"));
    let uib = uib.expect("uib");
    assert_eq!(keys(&uib["themes"]), ["health", "care"]);
    assert_eq!(keys(&uib["productTypes"]), ["SYSTEMATIC_REVIEW", "RAPID_REVIEW"]);
    let audited = app.audit_rows().await;
    assert!(
        audited.iter().any(|row| row["audit_event"]["action"] == "institution.profile"),
        "the change is in the audit log"
    );

    // Replacing the lists: empty again is every commission again.
    let (payload, _) = set(
        &app,
        Some(&c.institution),
        json!({ "institution": "uib", "themes": [], "productTypes": ["SCOPING_REVIEW"] }),
    )
    .await;
    assert_eq!(keys(&payload["institution"]["themes"]), Vec::<&str>::new());
    assert_eq!(keys(&payload["institution"]["productTypes"]), ["SCOPING_REVIEW"]);

    // What the caller can fix is a user error, and changes nothing.
    let unchanged = (app.fingerprint().await, app.data(PROFILES).await);
    let missing_theme = GlobalId::new(NodeType::Theme, 99_999).encode();
    let missing_institution = GlobalId::new(NodeType::Institution, 99_999).encode();
    let too_many: Vec<&str> = vec!["health"; 500];
    for (input, field, code) in [
        (
            json!({ "institution": "uib", "themes": ["no-such-theme"], "productTypes": [] }),
            "themes",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "institution": "uib", "themes": [], "productTypes": ["NO_SUCH_PRODUCT"] }),
            "productTypes",
            "BAD_USER_INPUT",
        ),
        (json!({ "institution": "uib", "themes": too_many, "productTypes": [] }), "themes", "BAD_USER_INPUT"),
        (
            json!({ "institution": "uib", "themes": [missing_theme], "productTypes": [] }),
            "themes",
            "NOT_FOUND",
        ),
        (
            json!({ "institution": "no-such-institution", "themes": [], "productTypes": [] }),
            "institution",
            "BAD_USER_INPUT",
        ),
        (
            json!({ "institution": missing_institution, "themes": [], "productTypes": [] }),
            "institution",
            "NOT_FOUND",
        ),
        (json!({ "institution": "4601", "themes": [], "productTypes": [] }), "institution", "BAD_USER_INPUT"),
    ] {
        let (payload, errors) = set(&app, Some(&c.coordinator), input.clone()).await;
        assert!(errors.is_empty(), "{input}: {errors:?}");
        assert_eq!(user_error_codes(&payload), [code], "{input}: {payload}");
        assert_eq!(payload["userErrors"][0]["field"], json!(["input", field]), "{input}: {payload}");
        assert!(payload["institution"].is_null());
    }
    assert_eq!((app.fingerprint().await, app.data(PROFILES).await), unchanged);
}

#[both_databases]
async fn only_its_members_its_partnership_and_the_national_coordinators_set_a_profile(app: TestApp) {
    app.add_second_region().await;
    let c = cast(&app).await;
    let hvl = app.token_for("Hans Vestland", RoleArg::InstitutionMember, "hvl").await;
    let nord = app.token_for("Nora Nord", RoleArg::Coordinator, "rso-nord").await;
    let ksf = app.token_for("Kim Ksf", RoleArg::Coordinator, "ksf").await;
    let omrade = app.token_for("Nora Bakke", RoleArg::Coordinator, "omradesatsingene").await;
    let input = json!({ "institution": "uib", "themes": ["health"], "productTypes": [] });
    let unchanged = (app.fingerprint().await, app.data(PROFILES).await);
    for token in [&hvl, &nord, &omrade, &c.bergen, &c.cluster_coordinator] {
        let (payload, errors) = set(&app, Some(token), input.clone()).await;
        assert_eq!(errors, ["FORBIDDEN"], "{payload}");
    }
    assert_eq!(set(&app, None, input.clone()).await.1, ["UNAUTHENTICATED"]);
    assert_eq!((app.fingerprint().await, app.data(PROFILES).await), unchanged, "a refusal writes nothing");
    for token in [&c.institution, &c.coordinator, &ksf] {
        let (payload, errors) = set(&app, Some(token), input.clone()).await;
        assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{payload} {errors:?}");
        assert_eq!(keys(&payload["institution"]["themes"]), ["health"]);
    }
}

/// Ids by key of a reference list (`themes`, `productTypes`, `institutions`).
async fn ids_by_key(app: &TestApp, list: &str) -> HashMap<String, Value> {
    let data = app.data(&format!("{{ {list}(first: 100) {{ nodes {{ id key }} }} }}")).await;
    data[list]["nodes"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|n| (n["key"].as_str().expect("a key").to_owned(), n["id"].clone()))
        .collect()
}

/// A need of `theme` submitted by `token` and accepted by `reviewer`.
async fn accepted(app: &TestApp, token: &str, reviewer: &str, title: &str, theme: &Value) -> Value {
    let submitted = app
        .data_as(
            token,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
            json!({ "input": need_input(title, theme) }),
        )
        .await;
    let need = submitted["submitNeed"]["need"]["id"].clone();
    let accepted = app
        .data_as(
            reviewer,
            "mutation($n: ID!) { acceptNeed(input: { need: $n, version: 1 }) { need { status } } }",
            json!({ "n": need }),
        )
        .await;
    assert_eq!(accepted["acceptNeed"]["need"]["status"], "ACCEPTED", "{accepted}");
    need
}

#[both_databases]
async fn an_opened_commission_is_for_the_institutions_its_themes_and_product_type_match(app: TestApp) {
    let c = cast(&app).await;
    let themes = ids_by_key(&app, "themes").await;
    let products = ids_by_key(&app, "productTypes").await;
    let institutions = ids_by_key(&app, "institutions").await;

    // Two prioritised needs, one about health and one about care, and a commission for each.
    let health =
        accepted(&app, &c.bergen, &c.cluster_coordinator, "Fallforebygging", &themes["health"]).await;
    let care =
        accepted(&app, &c.askoy, &c.cluster_coordinator, "Ernæring på sjukeheim", &themes["care"]).await;
    let (opened, _) = crate::rounds::open_round(&app, &c.coordinator, &[&health, &care], 2).await;
    app.data_as(
        &c.coordinator,
        "mutation($r: ID!) { closeRound(input: { round: $r }) { round { status } } }",
        json!({ "r": opened["round"]["id"] }),
    )
    .await;
    // Each commission with what it is about: the theme of its need, its product type.
    let mut commissions = Vec::new();
    for (need, theme, product) in [(&health, "health", "SYSTEMATIC_REVIEW"), (&care, "care", "RAPID_REVIEW")]
    {
        let (created, _) = call(
            &app,
            &c.coordinator,
            "createCommission",
            "CreateCommissionInput",
            json!({
                "question": "Kva verkar?",
                "productType": products[product],
                "deadline": "2999-01-01T00:00:00Z",
                "needs": [need],
            }),
            "commission { id }",
        )
        .await;
        let commission = created["commission"]["id"].clone();
        let input = json!({ "commission": commission });
        let (opened, _) =
            call(&app, &c.coordinator, "openCommission", "CommissionInput", input, "commission { status }")
                .await;
        assert_eq!(opened["commission"]["status"], "OPEN", "{opened}");
        commissions.push((key(&commission), vec![key(&themes[theme])], key(&products[product])));
    }

    // UiB wants health only, HVL care as rapid reviews, UiS systematic reviews of anything; VID
    // is closed; the rest set nothing and hear of everything.
    for (institution, wanted_themes, wanted_products) in [
        ("uib", vec!["health"], vec![]),
        ("hvl", vec!["care"], vec!["RAPID_REVIEW"]),
        ("uis", vec![], vec!["SYSTEMATIC_REVIEW"]),
    ] {
        let (payload, _) = set(
            &app,
            Some(&c.coordinator),
            json!({ "institution": institution, "themes": wanted_themes, "productTypes": wanted_products }),
        )
        .await;
        assert!(user_error_codes(&payload).is_empty(), "{payload}");
    }
    let (closed, errors) = call(
        &app,
        &c.coordinator,
        "closeOrganisation",
        "CloseOrganisationInput",
        json!({ "organisation": "vid" }),
        "organisation { closedAt }",
    )
    .await;
    assert!(errors.is_empty() && user_error_codes(&closed).is_empty(), "{closed}");

    let id = |k: &str| key(&institutions[k]);
    let [(first, first_themes, first_product), (second, second_themes, second_product)] =
        <[_; 2]>::try_from(commissions).expect("two commissions");
    let before = app.statements();
    let for_health = matching_institutions(app.db().conn(), first).await.expect("matched");
    assert_eq!(app.statements() - before, 1, "one statement, whatever the number of institutions");
    let for_care = matching_institutions(app.db().conn(), second).await.expect("matched");

    assert!(for_health.contains(&id("uib")) && !for_care.contains(&id("uib")), "UiB: health only");
    assert!(!for_health.contains(&id("hvl")) && for_care.contains(&id("hvl")), "HVL: rapid reviews of care");
    assert!(for_health.contains(&id("uis")) && !for_care.contains(&id("uis")), "UiS: systematic reviews");
    assert!(
        !for_health.contains(&id("vid")) && !for_care.contains(&id("vid")),
        "a closed institution hears nothing"
    );
    for empty in ["norce", "fhi", "oslomet"] {
        assert!(
            for_health.contains(&id(empty)) && for_care.contains(&id(empty)),
            "{empty}: an empty profile hears of all"
        );
    }

    // The statement is the rule: every institution but the closed one, checked against
    // `domain::institutions::matches` with the profile the API shows.
    let profiles = app.data(PROFILES).await;
    for (matched, themes_of_commission, product_type) in
        [(&for_health, &first_themes, first_product), (&for_care, &second_themes, second_product)]
    {
        let mut expected = Vec::new();
        for institution in profiles["institutions"]["nodes"].as_array().expect("institutions") {
            let ids = |list: &Value, ids: &HashMap<String, Value>| -> Vec<i32> {
                keys(list).iter().map(|k| key(&ids[*k])).collect()
            };
            let (wanted_themes, wanted_products) =
                (ids(&institution["themes"], &themes), ids(&institution["productTypes"], &products));
            let profile = Profile { themes: &wanted_themes, product_types: &wanted_products };
            let topic = Topic { themes: themes_of_commission, product_type };
            if institution["key"] != "vid" && matches(profile, topic) {
                expected.push(key(&institution["id"]));
            }
        }
        expected.sort_unstable();
        assert_eq!(matched, &expected);
    }
    assert!(
        matching_institutions(app.db().conn(), 99_999).await.expect("matched").is_empty(),
        "no commission, no institution"
    );
}
