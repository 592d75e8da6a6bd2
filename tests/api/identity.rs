//! Identity and access: tokens, the viewer, every mutation's allowed and denied cases (including
//! across regions), personal data, and the audit log.

use entity::audit_event;
use knowledge_hub::config::RoleArg;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_databases, cast, error_codes, user_error_codes};

const CREATE_PERSON: &str = "mutation($input: CreatePersonInput!) { createPerson(input: $input) {
    person { id name email memberships { nodes { id role } } } userErrors { field message code } } }";
const ADD_MEMBERSHIP: &str = "mutation($input: AddMembershipInput!) { addMembership(input: $input) {
    membership { id role person { id } organisation { __typename } } userErrors { field message code } } }";
const REMOVE_MEMBERSHIP: &str = "mutation($input: RemoveMembershipInput!) { removeMembership(input: $input) {
    removedMembershipId person { id } userErrors { field message code } } }";
const CREATE_TOKEN: &str = "mutation($input: CreateTokenInput!) { createToken(input: $input) {
    token { id name prefix active expiresAt person { id } } secret userErrors { field message code } } }";
const REVOKE_TOKEN: &str = "mutation($input: RevokeTokenInput!) { revokeToken(input: $input) {
    token { id active revokedAt } userErrors { field message code } } }";
const VIEWER: &str = "{ viewer { authenticated person { id name email }
    memberships { nodes { id role organisation { __typename ... on Region { key } ... on Municipality { \
    code } } } }
    tokens { nodes { id name active } } } }";

/// Global ids of reference rows, by key or code.
async fn ids(app: &TestApp) -> Value {
    let data = app
        .data(
            r#"{ regions { nodes { id key } } clusters { nodes { id key } }
                   bergen: municipality(code: "4601") { id } askoy: municipality(code: "4627") { id }
                   stavanger: municipality(code: "1103") { id }
                   institutions(first: 1) { nodes { id key } } }"#,
        )
        .await;
    json!({
        "vest": data["regions"]["nodes"][0]["id"],
        "kunnskapskommunen": data["clusters"]["nodes"][0]["id"],
        "bergen": data["bergen"]["id"],
        "askoy": data["askoy"]["id"],
        "stavanger": data["stavanger"]["id"],
        "uib": data["institutions"]["nodes"][0]["id"],
    })
}

async fn viewer(app: &TestApp, token: &str) -> Value {
    app.data_as(token, VIEWER, json!({})).await["viewer"].clone()
}

async fn person_id(app: &TestApp, token: &str) -> Value {
    viewer(app, token).await["person"]["id"].clone()
}

/// Changes to who may do what, recorded in their own transactions (the log of attempts, with
/// actions `mutation.*`, `query.*` and `authenticate`, is tested in `audit.rs`).
async fn audit_count(app: &TestApp) -> u64 {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.not_like("mutation.%"))
        .filter(audit_event::Column::Action.not_like("query.%"))
        .filter(audit_event::Column::Action.ne("authenticate"))
        .count(app.db().conn())
        .await
        .expect("count")
}

pub(crate) async fn mutate(
    app: &TestApp,
    token: &str,
    document: &str,
    field: &str,
    input: Value,
) -> (Value, Vec<String>) {
    let (_, body) = app.query_as(token, document, json!({ "input": input })).await;
    (body["data"][field].clone(), error_codes(&body))
}

#[both_databases]
async fn without_a_token_the_caller_is_the_public(app: TestApp) {
    let data = app.data(VIEWER).await;
    assert_eq!(
        data["viewer"],
        json!({
            "authenticated": false,
            "person": null,
            "memberships": { "nodes": [] },
            "tokens": { "nodes": [] },
        })
    );
    let response = app.query("{ people { totalCount } }").await;
    assert_eq!(error_codes(&response), ["UNAUTHENTICATED"]);
    let response = app.query_with(CREATE_TOKEN, json!({ "input": { "name": "x" } })).await;
    assert_eq!(error_codes(&response), ["UNAUTHENTICATED"]);
}

#[both_databases]
async fn the_viewer_knows_who_is_calling(app: TestApp) {
    let c = cast(&app).await;
    let me = viewer(&app, &c.coordinator).await;
    assert_eq!(me["authenticated"], true);
    assert_eq!(me["person"]["name"], "Kari Nordmann");
    assert_eq!(me["person"]["email"], "kari.nordmann@example.no");
    assert_eq!(me["memberships"]["nodes"][0]["role"], "COORDINATOR");
    assert_eq!(
        me["memberships"]["nodes"][0]["organisation"],
        json!({ "__typename": "Region", "key": "rso-vest" })
    );
    assert_eq!(me["tokens"]["nodes"].as_array().map(Vec::len), Some(1));
    let me = viewer(&app, &c.bergen).await;
    assert_eq!(
        me["memberships"]["nodes"][0]["organisation"],
        json!({ "__typename": "Municipality", "code": "4601" })
    );
}

#[both_databases]
async fn bad_tokens_are_unauthenticated_never_public(app: TestApp) {
    let c = cast(&app).await;
    let unknown = format!("khub_{}", "A".repeat(43));
    for token in ["nonsense", "khub_short", unknown.as_str(), &c.coordinator[..c.coordinator.len() - 1]] {
        let (status, body) = app.query_as(token, VIEWER, json!({})).await;
        assert_eq!(status, 401, "{token}");
        assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
    }
    for header in ["Basic a2FyaTpzZWNyZXQ=", "Bearer", "khub_only"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", header)
            .json(&json!({ "query": "{ viewer { authenticated } }" }))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 401, "{header}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }
}

#[both_databases]
async fn an_expired_token_stops_working(app: TestApp) {
    let c = cast(&app).await;
    let me = person_id(&app, &c.bergen).await;
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let (created, _) = mutate(
        &app,
        &c.bergen,
        CREATE_TOKEN,
        "createToken",
        json!({ "name": "short-lived", "expiresAt": soon }),
    )
    .await;
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert_eq!(created["token"]["person"]["id"], me);
    assert_eq!(app.query_as(&secret, VIEWER, json!({})).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let (status, body) = app.query_as(&secret, VIEWER, json!({})).await;
    assert_eq!(status, 401);
    assert_eq!(error_codes(&body), ["UNAUTHENTICATED"]);
}

#[both_databases]
async fn anyone_lists_and_revokes_their_own_tokens_and_revocation_is_immediate(app: TestApp) {
    let c = cast(&app).await;
    let audit_before = audit_count(&app).await;
    let (created, errors) =
        mutate(&app, &c.askoy, CREATE_TOKEN, "createToken", json!({ "name": "dashboard" })).await;
    assert!(errors.is_empty() && user_error_codes(&created).is_empty(), "{created}");
    let second = created["secret"].as_str().expect("secret").to_owned();
    assert!(
        second.starts_with("khub_")
            && second.starts_with(created["token"]["prefix"].as_str().expect("prefix"))
    );
    let tokens = viewer(&app, &second).await["tokens"]["nodes"].clone();
    assert_eq!(tokens.as_array().map(Vec::len), Some(2));
    let (revoked, _) =
        mutate(&app, &c.askoy, REVOKE_TOKEN, "revokeToken", json!({ "token": created["token"]["id"] })).await;
    assert_eq!(revoked["token"]["active"], false);
    assert!(revoked["token"]["revokedAt"].is_string());
    assert_eq!(app.query_as(&second, VIEWER, json!({})).await.0, 401, "revoked tokens stop at once");
    assert_eq!(app.query_as(&c.askoy, VIEWER, json!({})).await.0, 200, "the other token still works");
    assert_eq!(audit_count(&app).await, audit_before + 2, "one audit event per change");
}

#[both_databases]
async fn a_coordinator_manages_people_and_tokens_in_their_region(app: TestApp) {
    let c = cast(&app).await;
    let ids = ids(&app).await;
    let audit_before = audit_count(&app).await;
    let (created, errors) = mutate(
        &app,
        &c.coordinator,
        CREATE_PERSON,
        "createPerson",
        json!({
            "name": "  Åse Ødegård ",
            "email": "Ase@Stavanger.Kommune.no",
            "membership": { "role": "UNIT_MEMBER", "organisation": ids["stavanger"] },
        }),
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(created["userErrors"], json!([]));
    let person = created["person"].clone();
    assert_eq!(person["name"], "Åse Ødegård");
    assert_eq!(person["email"], "ase@stavanger.kommune.no");
    assert_eq!(person["memberships"]["nodes"][0]["role"], "UNIT_MEMBER");

    let (added, _) = mutate(
        &app,
        &c.coordinator,
        ADD_MEMBERSHIP,
        "addMembership",
        json!({
            "person": person["id"],
            "role": "UNIT_COORDINATOR",
            "organisation": ids["kunnskapskommunen"],
        }),
    )
    .await;
    assert_eq!(added["membership"]["role"], "UNIT_COORDINATOR");
    assert_eq!(added["membership"]["organisation"]["__typename"], "Cluster");

    let (token, _) = mutate(
        &app,
        &c.coordinator,
        CREATE_TOKEN,
        "createToken",
        json!({ "person": person["id"], "name": "onboarding" }),
    )
    .await;
    let secret = token["secret"].as_str().expect("secret").to_owned();
    assert_eq!(viewer(&app, &secret).await["person"]["name"], "Åse Ødegård");
    assert_eq!(viewer(&app, &secret).await["memberships"]["nodes"].as_array().map(Vec::len), Some(2));

    let (removed, _) = mutate(
        &app,
        &c.coordinator,
        REMOVE_MEMBERSHIP,
        "removeMembership",
        json!({ "membership": added["membership"]["id"] }),
    )
    .await;
    assert_eq!(removed["removedMembershipId"], added["membership"]["id"]);
    assert_eq!(
        viewer(&app, &secret).await["memberships"]["nodes"].as_array().map(Vec::len),
        Some(1),
        "effective at once"
    );

    let (revoked, _) =
        mutate(&app, &c.coordinator, REVOKE_TOKEN, "revokeToken", json!({ "token": token["token"]["id"] }))
            .await;
    assert_eq!(revoked["token"]["active"], false);
    assert_eq!(app.query_as(&secret, VIEWER, json!({})).await.0, 401);

    // person.create + membership.add (with the person), membership.add, token.create,
    // membership.remove, token.revoke.
    assert_eq!(audit_count(&app).await, audit_before + 6);
    let people = app
        .data_as(&c.coordinator, "{ people(filter: {search: \"ødegård\"}) { totalCount } }", json!({}))
        .await;
    assert_eq!(people["people"]["totalCount"], 1);
}

#[both_databases]
async fn only_coordinators_create_people_and_manage_memberships(app: TestApp) {
    let c = cast(&app).await;
    let ids = ids(&app).await;
    let bergen_person = person_id(&app, &c.bergen).await;
    let membership = viewer(&app, &c.bergen).await["memberships"]["nodes"][0]["id"].clone();
    let audit_before = audit_count(&app).await;
    for token in [&c.cluster_coordinator, &c.bergen, &c.askoy, &c.institution] {
        let (_, errors) = mutate(
            &app,
            token,
            CREATE_PERSON,
            "createPerson",
            json!({ "name": "X", "email": "x@example.no" }),
        )
        .await;
        assert_eq!(errors, ["FORBIDDEN"]);
        let (_, errors) = mutate(
            &app,
            token,
            ADD_MEMBERSHIP,
            "addMembership",
            json!({ "person": bergen_person, "role": "UNIT_MEMBER", "organisation": ids["askoy"] }),
        )
        .await;
        assert_eq!(errors, ["FORBIDDEN"]);
        let (_, errors) =
            mutate(&app, token, REMOVE_MEMBERSHIP, "removeMembership", json!({ "membership": membership }))
                .await;
        assert_eq!(errors, ["FORBIDDEN"]);
        let response = app.query_as(token, "{ people { totalCount } }", json!({})).await.1;
        assert_eq!(error_codes(&response), ["FORBIDDEN"]);
    }
    assert_eq!(audit_count(&app).await, audit_before, "refused changes change nothing");
    assert_eq!(viewer(&app, &c.bergen).await["memberships"]["nodes"].as_array().map(Vec::len), Some(1));
}

#[both_databases]
async fn tokens_of_others_are_not_found_unless_you_coordinate_their_region(app: TestApp) {
    let c = cast(&app).await;
    let bergen_person = person_id(&app, &c.bergen).await;
    let bergen_token = viewer(&app, &c.bergen).await["tokens"]["nodes"][0]["id"].clone();
    // Strangers cannot see the person at all: NOT_FOUND, as for an id that does not exist.
    for token in [&c.institution, &c.askoy] {
        let (payload, errors) = mutate(
            &app,
            token,
            CREATE_TOKEN,
            "createToken",
            json!({ "person": bergen_person, "name": "sneaky" }),
        )
        .await;
        assert!(errors.is_empty());
        assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
        assert!(payload["secret"].is_null());
    }
    // The cluster coordinator sees the person (personal data) but does not manage their tokens.
    let (_, errors) = mutate(
        &app,
        &c.cluster_coordinator,
        CREATE_TOKEN,
        "createToken",
        json!({ "person": bergen_person, "name": "sneaky" }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);
    for token in [&c.institution, &c.askoy, &c.cluster_coordinator] {
        let (payload, _) =
            mutate(&app, token, REVOKE_TOKEN, "revokeToken", json!({ "token": bergen_token })).await;
        assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
    }
    assert_eq!(app.query_as(&c.bergen, VIEWER, json!({})).await.0, 200, "still valid");
}

#[both_databases]
async fn coordinators_cannot_reach_into_another_region(app: TestApp) {
    app.add_second_region().await;
    let c = cast(&app).await;
    let nord = app.token_for("Nils Nord", RoleArg::Coordinator, "rso-nord").await;
    let ids = ids(&app).await;
    let bergen_person = person_id(&app, &c.bergen).await;
    let bergen_membership = viewer(&app, &c.bergen).await["memberships"]["nodes"][0]["id"].clone();
    let bergen_token = viewer(&app, &c.bergen).await["tokens"]["nodes"][0]["id"].clone();
    let nord_person = person_id(&app, &nord).await;
    let audit_before = audit_count(&app).await;

    let (_, errors) = mutate(
        &app,
        &nord,
        CREATE_PERSON,
        "createPerson",
        json!({
            "name": "X",
            "email": "x@example.no",
            "membership": { "role": "UNIT_MEMBER", "organisation": ids["bergen"] },
        }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let (_, errors) = mutate(
        &app,
        &nord,
        CREATE_PERSON,
        "createPerson",
        json!({ "name": "X", "email": "x@example.no", "region": ids["vest"] }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let (_, errors) = mutate(
        &app,
        &nord,
        ADD_MEMBERSHIP,
        "addMembership",
        json!({ "person": bergen_person, "role": "COORDINATOR", "organisation": ids["vest"] }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let nord_region = app.data(r#"{ region(key: "rso-nord") { id } }"#).await["region"]["id"].clone();
    let (payload, _) = mutate(
        &app,
        &nord,
        ADD_MEMBERSHIP,
        "addMembership",
        json!({ "person": bergen_person, "role": "COORDINATOR", "organisation": nord_region }),
    )
    .await;
    assert_eq!(user_error_codes(&payload), ["NOT_FOUND"], "a person of another region cannot be seen");
    let (_, errors) = mutate(
        &app,
        &nord,
        ADD_MEMBERSHIP,
        "addMembership",
        json!({ "person": nord_person, "role": "COORDINATOR", "organisation": ids["vest"] }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"], "cannot make themselves coordinator of another region");
    let (payload, _) = mutate(
        &app,
        &nord,
        REMOVE_MEMBERSHIP,
        "removeMembership",
        json!({ "membership": bergen_membership }),
    )
    .await;
    assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
    let (payload, _) =
        mutate(&app, &nord, CREATE_TOKEN, "createToken", json!({ "person": bergen_person, "name": "x" }))
            .await;
    assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
    let (payload, _) =
        mutate(&app, &nord, REVOKE_TOKEN, "revokeToken", json!({ "token": bergen_token })).await;
    assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
    let people = app.data_as(&nord, "{ people { nodes { name } } }", json!({})).await;
    assert_eq!(people["people"]["nodes"], json!([{ "name": "Nils Nord" }]), "only their own region's people");
    let response = app
        .query_as(&nord, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": bergen_person }))
        .await
        .1;
    assert!(response["data"]["node"].is_null());
    assert_eq!(audit_count(&app).await, audit_before);
}

#[both_databases]
async fn mutation_input_problems_are_user_errors_that_change_nothing(app: TestApp) {
    let c = cast(&app).await;
    let ids = ids(&app).await;
    let bergen_person = person_id(&app, &c.bergen).await;
    let audit_before = audit_count(&app).await;
    let cases = [
        (
            CREATE_PERSON,
            "createPerson",
            json!({ "name": " ", "email": "not-an-email" }),
            vec!["BAD_USER_INPUT", "BAD_USER_INPUT"],
        ),
        (
            CREATE_PERSON,
            "createPerson",
            json!({ "name": "Ingrid Again", "email": "INGRID.BERG@example.no" }),
            vec!["CONFLICT"],
        ),
        (
            CREATE_PERSON,
            "createPerson",
            json!({
                "name": "X",
                "email": "x@example.no",
                "membership": { "role": "COORDINATOR", "organisation": ids["bergen"] },
            }),
            vec!["BAD_USER_INPUT"],
        ),
        (
            CREATE_PERSON,
            "createPerson",
            json!({
                "name": "X",
                "email": "x@example.no",
                "membership": { "role": "UNIT_MEMBER", "organisation": "bogus" },
            }),
            vec!["NOT_FOUND"],
        ),
        (
            CREATE_PERSON,
            "createPerson",
            json!({
                "name": "X",
                "email": "x@example.no",
                "membership": { "role": "UNIT_MEMBER", "organisation": "uib" },
            }),
            vec!["BAD_USER_INPUT"],
        ),
        (
            ADD_MEMBERSHIP,
            "addMembership",
            json!({ "person": bergen_person, "role": "UNIT_MEMBER", "organisation": ids["bergen"] }),
            vec!["CONFLICT"],
        ),
        (
            ADD_MEMBERSHIP,
            "addMembership",
            json!({ "person": ids["bergen"], "role": "UNIT_MEMBER", "organisation": ids["bergen"] }),
            vec!["BAD_USER_INPUT"],
        ),
        (CREATE_TOKEN, "createToken", json!({ "name": "" }), vec!["BAD_USER_INPUT"]),
        (
            CREATE_TOKEN,
            "createToken",
            json!({ "name": "old", "expiresAt": "2020-01-01T00:00:00Z" }),
            vec!["BAD_USER_INPUT"],
        ),
        (REVOKE_TOKEN, "revokeToken", json!({ "token": bergen_person }), vec!["BAD_USER_INPUT"]),
    ];
    for (document, field, input, expected) in cases {
        let (payload, errors) = mutate(&app, &c.coordinator, document, field, input.clone()).await;
        assert!(errors.is_empty(), "{input}: {errors:?}");
        assert_eq!(user_error_codes(&payload), expected, "{input}: {payload}");
        assert!(payload["userErrors"][0]["field"][0] == "input", "{payload}");
    }
    // The region's only coordinator cannot be removed.
    let own = viewer(&app, &c.coordinator).await["memberships"]["nodes"][0]["id"].clone();
    let (payload, _) =
        mutate(&app, &c.coordinator, REMOVE_MEMBERSHIP, "removeMembership", json!({ "membership": own }))
            .await;
    assert_eq!(user_error_codes(&payload), ["CONFLICT"]);
    assert_eq!(audit_count(&app).await, audit_before, "nothing was written");
}

#[both_databases]
async fn personal_data_is_hidden_from_those_with_no_business_seeing_it(app: TestApp) {
    let c = cast(&app).await;
    let bergen_person = person_id(&app, &c.bergen).await;
    let query = "query($id: ID!) { node(id: $id) { ... on Person { name email } } }";
    let vars = json!({ "id": bergen_person });
    let sees = |body: &Value| body["data"]["node"]["email"] == "ingrid.berg@example.no";
    assert!(sees(&app.query_as(&c.coordinator, query, vars.clone()).await.1));
    assert!(sees(&app.query_as(&c.cluster_coordinator, query, vars.clone()).await.1));
    assert!(sees(&app.query_as(&c.bergen, query, vars.clone()).await.1));
    for token in [&c.askoy, &c.institution] {
        let body = app.query_as(token, query, vars.clone()).await.1;
        assert!(body["data"]["node"].is_null(), "{body}");
    }
    let body = app.query_with(query, vars).await;
    assert!(body["data"]["node"].is_null());
}

#[both_databases]
async fn public_responses_contain_no_email_address(app: TestApp) {
    let c = cast(&app).await;
    let bergen_person = person_id(&app, &c.bergen).await;
    let token = viewer(&app, &c.bergen).await["tokens"]["nodes"][0]["id"].clone();
    let membership = viewer(&app, &c.bergen).await["memberships"]["nodes"][0]["id"].clone();
    let sdl =
        app.client.get(app.url("/schema.graphql")).send().await.expect("sent").text().await.expect("text");
    let introspection = json!({ "sdl": sdl });
    let everything = app
        .query_with(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Person { name email } ... on ApiToken { name }
                   ... on Membership { role } } viewer { person { email } } }",
            json!({ "ids": [bergen_person, token, membership] }),
        )
        .await;
    for body in [introspection, everything] {
        let text = body.to_string();
        assert!(!text.contains("@example.no"), "{text}");
    }
}

#[both_databases]
async fn a_token_costs_at_most_one_query_and_is_then_cached(app: TestApp) {
    let c = cast(&app).await;
    let before = app.statements();
    app.data_as(&c.coordinator, "{ viewer { authenticated } }", json!({})).await;
    let first = app.statements() - before;
    // One look-up; the "last used" stamp is written off the request path, uncounted.
    assert_eq!(first, 1);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let before = app.statements();
    app.data_as(&c.coordinator, "{ viewer { authenticated } }", json!({})).await;
    assert_eq!(app.statements() - before, 0, "cached for a few seconds");
}

#[both_databases]
async fn token_secrets_are_stored_only_as_hashes(app: TestApp) {
    let c = cast(&app).await;
    let (created, _) =
        mutate(&app, &c.coordinator, CREATE_TOKEN, "createToken", json!({ "name": "extra" })).await;
    let secrets =
        [c.coordinator.clone(), c.bergen.clone(), created["secret"].as_str().expect("secret").to_owned()];
    let tokens = entity::api_token::Entity::find().all(app.db().conn()).await.expect("tokens");
    let audit = audit_event::Entity::find().all(app.db().conn()).await.expect("audit");
    let stored = format!("{tokens:?}{audit:?}");
    for secret in &secrets {
        let random_part = &secret["khub_".len()..];
        assert!(!stored.contains(random_part), "a secret is stored in clear");
    }
    assert!(!format!("{audit:?}").contains("@example.no"), "no e-mail addresses in the audit log");
    if let Some(path) = app.database_url.strip_prefix("sqlite:") {
        // Every byte SQLite has written: the database file and its write-ahead log.
        let mut bytes = std::fs::read(path).unwrap_or_default();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        for secret in &secrets {
            let random_part = &secret.as_bytes()["khub_".len()..];
            assert!(!bytes.windows(random_part.len()).any(|w| w == random_part), "a secret is in the file");
        }
    }
}

/// The role names of before units were generalised still work as input, and every answer speaks
/// the new ones: a cluster's coordinator is a unit's (UNIT_COORDINATOR), a municipality's member a
/// unit's (UNIT_MEMBER).
#[both_databases]
async fn old_role_names_are_accepted_and_answered_with_the_new(app: TestApp) {
    let c = cast(&app).await;
    let ids = ids(&app).await;
    let (created, errors) = mutate(
        &app,
        &c.coordinator,
        CREATE_PERSON,
        "createPerson",
        json!({
            "name": "Per Olsen",
            "email": "per.olsen@example.no",
            "membership": { "role": "MUNICIPALITY_MEMBER", "organisation": ids["stavanger"] },
        }),
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    let person = created["person"].clone();
    assert_eq!(person["memberships"]["nodes"][0]["role"], "UNIT_MEMBER");
    let (added, _) = mutate(
        &app,
        &c.coordinator,
        ADD_MEMBERSHIP,
        "addMembership",
        json!({ "person": person["id"], "role": "CLUSTER_COORDINATOR", "organisation": ids["kunnskapskommunen"] }),
    )
    .await;
    assert_eq!(added["userErrors"], json!([]));
    assert_eq!(added["membership"]["role"], "UNIT_COORDINATOR");
    assert_eq!(added["membership"]["organisation"]["__typename"], "Cluster");
    // The schema says which names are the old ones.
    let roles = app
        .data_as(
            &c.coordinator,
            r#"{ __type(name: "Role") { enumValues(includeDeprecated: true) { name isDeprecated } } }"#,
            json!({}),
        )
        .await;
    let deprecated: Vec<&str> = roles["__type"]["enumValues"]
        .as_array()
        .expect("values")
        .iter()
        .filter(|v| v["isDeprecated"] == true)
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(deprecated, ["CLUSTER_COORDINATOR", "MUNICIPALITY_MEMBER"]);
}
