//! `idempotencyKey`: a replay returns the original result and creates nothing; a key reused
//! with another input is refused; racing replays create once.

use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, cast, need_input};

const SUBMIT: &str = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) {
    need { id title } userErrors { field code } } }";

async fn input(app: &TestApp, title: &str, key: &str) -> Value {
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let mut input = need_input(title, &theme);
    input["idempotencyKey"] = json!(key);
    input
}

async fn submit(app: &TestApp, token: &str, input: &Value) -> Value {
    app.data_as(token, SUBMIT, json!({ "input": input })).await["submitNeed"].clone()
}

async fn need_count(app: &TestApp) -> usize {
    app.fingerprint().await.iter().filter(|row| row.get("need").is_some()).count()
}

#[both_databases]
async fn a_replayed_key_returns_the_original_need_and_creates_nothing(app: TestApp) {
    let c = cast(&app).await;
    let first = input(&app, "Fallforebygging", "retry-1").await;
    let created = submit(&app, &c.bergen, &first).await;
    assert_eq!(created["userErrors"], json!([]));
    let snapshot = app.fingerprint().await;

    let replayed = submit(&app, &c.bergen, &first).await;
    assert_eq!(replayed, created, "the original result");
    // The same input with its fields in another order is the same request.
    let mut reordered = serde_json::Map::new();
    for (k, v) in first.as_object().expect("an object").iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    assert_eq!(submit(&app, &c.bergen, &Value::Object(reordered)).await, created);
    assert_eq!(app.fingerprint().await, snapshot, "nothing was created or changed");

    // The key with another input is refused, and changes nothing.
    let other = input(&app, "Noko heilt anna", "retry-1").await;
    let refused = submit(&app, &c.bergen, &other).await;
    assert_eq!(refused["need"], Value::Null);
    assert_eq!(refused["userErrors"], json!([{ "field": ["input", "idempotencyKey"], "code": "CONFLICT" }]));
    assert_eq!(app.fingerprint().await, snapshot);

    // Keys are per person: someone else's identical key is theirs.
    let askoy = submit(&app, &c.askoy, &first).await;
    assert_ne!(askoy["need"]["id"], created["need"]["id"]);

    for bad in [String::new(), "x".repeat(201), "a\u{0}b".to_owned()] {
        let refused = submit(&app, &c.bergen, &input(&app, "Fallforebygging", &bad).await).await;
        assert_eq!(refused["userErrors"][0]["code"], "BAD_USER_INPUT", "{bad:?}");
    }
}

#[both_databases]
async fn concurrent_replays_of_one_key_create_once(app: TestApp) {
    let c = cast(&app).await;
    let before = need_count(&app).await;
    let request = input(&app, "Fallforebygging", "race-1").await;
    let answers =
        async_graphql::futures_util::future::join_all((0..10).map(|_| submit(&app, &c.bergen, &request)))
            .await;
    let ids: Vec<&Value> = answers.iter().map(|a| &a["need"]["id"]).collect();
    assert!(ids.iter().all(|id| id.is_string() && *id == ids[0]), "{answers:?}");
    assert_eq!(need_count(&app).await, before + 1);
}

#[both_databases]
async fn other_create_mutations_take_keys_too(app: TestApp) {
    let c = cast(&app).await;
    let region = app.data("{ regions { nodes { id } } }").await["regions"]["nodes"][0]["id"].clone();
    let create = "mutation($input: CreatePersonInput!) { createPerson(input: $input) { person { id name } \
                  userErrors { code } } }";
    let person = json!({
        "input": {
            "name": "Per Person",
            "email": "per@example.no",
            "region": region,
            "idempotencyKey": "person-1",
        },
    });
    let first = app.data_as(&c.coordinator, create, person.clone()).await;
    assert!(first["createPerson"]["person"]["id"].is_string(), "{first}");
    let again = app.data_as(&c.coordinator, create, person).await;
    assert_eq!(again, first, "not a duplicate e-mail: the same person");

    let bergen = app.data("{ municipality(code: \"4601\") { id } }").await["municipality"]["id"].clone();
    let add = "mutation($input: AddMembershipInput!) { addMembership(input: $input) { membership { id } \
               userErrors { code } } }";
    let membership = json!({
        "input": {
            "person": first["createPerson"]["person"]["id"],
            "role": "UNIT_MEMBER",
            "organisation": bergen,
            "idempotencyKey": "membership-1",
        },
    });
    let added = app.data_as(&c.coordinator, add, membership.clone()).await;
    assert!(added["addMembership"]["membership"]["id"].is_string(), "{added}");
    assert_eq!(
        app.data_as(&c.coordinator, add, membership).await,
        added,
        "not a duplicate membership: the same one"
    );

    let submitted = submit(&app, &c.bergen, &input(&app, "Fallforebygging", "need-for-evidence").await).await;
    let need = submitted["need"]["id"].clone();
    let link = "mutation($input: LinkEvidenceInput!) { linkEvidence(input: $input) { evidence { title } \
                need { evidence { nodes { title } } } userErrors { code } } }";
    let evidence = json!({
        "input": {
            "need": need,
            "title": "Ein oversikt",
            "url": "https://example.no/o",
            "idempotencyKey": "evidence-1",
        },
    });
    let linked = app.data_as(&c.coordinator, link, evidence.clone()).await;
    assert_eq!(app.data_as(&c.coordinator, link, evidence).await, linked);
    assert_eq!(
        linked["linkEvidence"]["need"]["evidence"]["nodes"].as_array().map(Vec::len),
        Some(1),
        "linked once"
    );
}
