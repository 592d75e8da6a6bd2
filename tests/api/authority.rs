//! Authority (issue 16, items 1-4): no token carries more than its minter holds; budgets belong to
//! the person; refused tokens pay and are counted, not logged one by one; and an e-mail address
//! of someone the caller may not see behaves like a new one.

use entity::{audit_event, person};
use knowledge_hub::config::RoleArg;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, Cast, TestApp, both_databases, cast, error_codes, user_error_codes},
    identity::mutate,
};

const CREATE_PERSON: &str = "mutation($input: CreatePersonInput!) { createPerson(input: $input) {
    person { id name memberships { nodes { role } } } userErrors { field message code } } }";
const CREATE_TOKEN: &str = "mutation($input: CreateTokenInput!) { createToken(input: $input) {
    token { id mintedBy { id } boundToRegions { key } } secret userErrors { field message code } } }";
const REVOKE_TOKEN: &str = "mutation($input: RevokeTokenInput!) { revokeToken(input: $input) {
    token { id active } userErrors { code } } }";
const VIEWER: &str =
    "{ viewer { person { id } memberships { nodes { role } } tokens { totalCount nodes { id name } } } }";

/// What these tests add to the shared cast, whose `coordinator` (Kari) coordinates RSO Vest: a
/// second region, RSO Nord, whose coordinator Nora gets Kari into her region by e-mail and then
/// mints a token for her.
struct Nord {
    nora: String,
    nora_id: Value,
    kari_id: Value,
    vest: Value,
    bodo: Value,
}

async fn nord(app: &TestApp, c: &Cast) -> Nord {
    app.add_second_region().await;
    let nora = app.token_for("Nora Nord", RoleArg::Coordinator, "rso-nord").await;
    let ids = app.data(r#"{ regions { nodes { id key } } bodo: municipality(code: "1804") { id } }"#).await;
    let vest = ids["regions"]["nodes"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["key"] == "rso-vest")
        .expect("vest")["id"]
        .clone();
    let kari_id = app.data_as(&c.coordinator, VIEWER, json!({})).await["viewer"]["person"]["id"].clone();
    let nora_id = app.data_as(&nora, VIEWER, json!({})).await["viewer"]["person"]["id"].clone();
    Nord { nora, nora_id, kari_id, vest, bodo: ids["bodo"]["id"].clone() }
}

async fn people_with_email(app: &TestApp, email: &str) -> u64 {
    person::Entity::find()
        .filter(person::Column::Email.eq(email))
        .count(app.db().conn())
        .await
        .expect("count")
}

/// Nora registers Kari in Nord (as a member in Bodø) and mints a token for her.
async fn token_minted_by_nora(app: &TestApp, n: &Nord) -> (Value, String) {
    let (payload, errors) = mutate(
        app,
        &n.nora,
        CREATE_PERSON,
        "createPerson",
        json!({
            "name": "Kari",
            "email": "kari.nordmann@example.no",
            "membership": { "role": "UNIT_MEMBER", "organisation": n.bodo },
        }),
    )
    .await;
    assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{payload}");
    assert_eq!(payload["person"]["id"], n.kari_id, "the same person, not a duplicate");
    let (payload, errors) =
        mutate(app, &n.nora, CREATE_TOKEN, "createToken", json!({ "person": n.kari_id, "name": "for Kari" }))
            .await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(payload["token"]["mintedBy"]["id"], n.nora_id);
    assert_eq!(payload["token"]["boundToRegions"], json!([{ "key": "rso-nord" }]));
    (payload["token"]["id"].clone(), payload["secret"].as_str().expect("a secret").to_owned())
}

#[both_databases]
async fn a_token_minted_for_someone_carries_only_the_minters_regions(app: TestApp) {
    let c = cast(&app).await;
    let n = nord(&app, &c).await;
    let (minted_id, minted) = token_minted_by_nora(&app, &n).await;

    // Kari's roles in Vest do not come with Nora's token.
    let viewer = app.data_as(&minted, VIEWER, json!({})).await["viewer"].clone();
    assert_eq!(viewer["person"]["id"], n.kari_id);
    assert_eq!(viewer["memberships"]["nodes"], json!([{ "role": "UNIT_MEMBER" }]));
    assert_eq!(
        viewer["tokens"]["nodes"].as_array().map(Vec::len),
        Some(1),
        "only the tokens bound within Nord: {viewer}"
    );
    assert_eq!(viewer["tokens"]["totalCount"], 1, "what the bound token may not see is not counted");
    for query in ["{ people { totalCount } }", "{ auditEvents(first: 5) { edges { node { action } } } }"] {
        let (_, body) = app.query_as(&minted, query, json!({})).await;
        assert_eq!(error_codes(&body), ["FORBIDDEN"], "{query}: {body}");
    }
    let (_, errors) = mutate(
        &app,
        &minted,
        CREATE_PERSON,
        "createPerson",
        json!({ "name": "Permanent", "email": "permanent@example.no", "region": n.vest }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"]);

    // A token minted with the bound token keeps the bound.
    let (payload, _) = mutate(&app, &minted, CREATE_TOKEN, "createToken", json!({ "name": "again" })).await;
    assert_eq!(payload["token"]["boundToRegions"], json!([{ "key": "rso-nord" }]), "{payload}");
    let again = payload["secret"].as_str().expect("a secret").to_owned();
    let (_, body) = app.query_as(&again, "{ people { totalCount } }", json!({})).await;
    assert_eq!(error_codes(&body), ["FORBIDDEN"]);

    // Neither Nora nor the bound tokens can revoke Kari's own token, which reaches Vest.
    let own =
        app.data_as(&c.coordinator, VIEWER, json!({})).await["viewer"]["tokens"]["nodes"][0]["id"].clone();
    for token in [&n.nora, &minted, &again] {
        let (payload, _) = mutate(&app, token, REVOKE_TOKEN, "revokeToken", json!({ "token": own })).await;
        assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
    }
    let (status, _) = app.query_as(&c.coordinator, VIEWER, json!({})).await;
    assert_eq!(status, 200, "Kari's token still works");
    // Kari (unbound) sees and may revoke every token of hers; Nora the one she minted.
    let all = app.data_as(&c.coordinator, VIEWER, json!({})).await["viewer"]["tokens"]["nodes"]
        .as_array()
        .map(Vec::len);
    assert_eq!(all, Some(3));
    let (payload, _) =
        mutate(&app, &n.nora, REVOKE_TOKEN, "revokeToken", json!({ "token": minted_id })).await;
    assert_eq!(payload["token"]["active"], false);

    // What the bound token did names Nora as its minter in the audit trail.
    let log = app
        .data_as(
            &n.nora,
            "{ auditEvents(first: 100) { edges { node { action outcome tokenId tokenMintedBy { id } } } } }",
            json!({}),
        )
        .await;
    let events: Vec<&Value> = log["auditEvents"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| &e["node"])
        .filter(|n| n["tokenId"] == minted_id)
        .collect();
    assert!(!events.is_empty(), "{log}");
    assert!(events.iter().all(|e| e["tokenMintedBy"]["id"] == n.nora_id), "{events:?}");
    assert!(events.iter().any(|n| n["action"] == "mutation.createToken" && n["outcome"] == "OK"));
}

#[both_databases]
async fn a_coordinator_who_loses_a_region_takes_it_from_the_tokens_they_bound(app: TestApp) {
    let c = cast(&app).await;
    let n = nord(&app, &c).await;
    let (_, minted) = token_minted_by_nora(&app, &n).await;
    let (payload, _) = mutate(&app, &minted, CREATE_TOKEN, "createToken", json!({ "name": "again" })).await;
    let again = payload["secret"].as_str().expect("a secret").to_owned();
    for token in [&minted, &again] {
        let viewer = app.data_as(token, VIEWER, json!({})).await;
        assert_eq!(viewer["viewer"]["memberships"]["nodes"], json!([{ "role": "UNIT_MEMBER" }]));
    }
    // Another coordinator of Nord takes Nora's role away.
    let nils = app.token_for("Nils Nord", RoleArg::Coordinator, "rso-nord").await;
    let membership = app.data_as(&n.nora, "{ viewer { memberships { nodes { id } } } }", json!({

    })).await["viewer"]["memberships"]["nodes"][0]["id"].clone();
    let removed = app
        .data_as(
            &nils,
            "mutation($m: ID!) { removeMembership(input: { membership: $m }) { userErrors { code } } }",
            json!({ "m": membership }),
        )
        .await;
    assert_eq!(removed["removeMembership"]["userErrors"], json!([]));
    for token in [&minted, &again] {
        let viewer = app.data_as(token, "{ viewer { memberships { nodes { role } } } }", json!({})).await;
        assert_eq!(
            viewer["viewer"]["memberships"]["nodes"],
            json!([]),
            "Nora coordinates nothing now: {viewer}"
        );
    }
    // Kari's own token is untouched.
    let own = app.data_as(&c.coordinator, VIEWER, json!({})).await;
    assert_eq!(own["viewer"]["memberships"]["nodes"].as_array().map(Vec::len), Some(2), "{own}");
}

#[both_databases]
async fn a_person_holds_a_bounded_number_of_live_tokens(app: TestApp) {
    let kari = app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;
    // One from the command line, then the API until the limit.
    let mut minted = Vec::new();
    for n in 1..20 {
        let (payload, _) =
            mutate(&app, &kari, CREATE_TOKEN, "createToken", json!({ "name": format!("t{n}") })).await;
        assert!(user_error_codes(&payload).is_empty(), "{payload}");
        minted.push(payload["token"]["id"].clone());
    }
    let (payload, _) =
        mutate(&app, &kari, CREATE_TOKEN, "createToken", json!({ "name": "one too many" })).await;
    assert_eq!(user_error_codes(&payload), ["CONFLICT"]);
    assert!(
        payload["userErrors"][0]["message"].as_str().is_some_and(|m| m.contains("revokeToken")),
        "{payload}"
    );
    assert!(payload["secret"].is_null());
    // A revoked token frees a place.
    mutate(&app, &kari, REVOKE_TOKEN, "revokeToken", json!({ "token": minted[0] })).await;
    let (payload, _) =
        mutate(&app, &kari, CREATE_TOKEN, "createToken", json!({ "name": "now it fits" })).await;
    assert!(user_error_codes(&payload).is_empty(), "{payload}");
}

#[both_databases]
async fn an_email_of_someone_out_of_sight_answers_like_a_new_one(app: TestApp) {
    let c = cast(&app).await;
    let n = nord(&app, &c).await;
    let fresh = json!({ "name": "Ny Person", "email": "ny.person@example.no", "region": n.vest });
    let (created, errors) = mutate(&app, &c.coordinator, CREATE_PERSON, "createPerson", fresh).await;
    assert!(errors.is_empty() && user_error_codes(&created).is_empty(), "{created}");

    // Nora Nord's address, which Kari cannot see: the same answer, and no second person.
    let hidden = json!({ "name": "Nora", "email": "nora.nord@example.no", "region": n.vest });
    let (registered, errors) =
        mutate(&app, &c.coordinator, CREATE_PERSON, "createPerson", hidden.clone()).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(user_error_codes(&registered), user_error_codes(&created));
    assert_eq!(registered["person"]["id"], n.nora_id);
    assert_eq!(people_with_email(&app, "nora.nord@example.no").await, 1);
    // Now Kari manages her too, and a second try is a conflict she can see the reason for.
    let people = app.data_as(&c.coordinator, "{ people { nodes { id } } }", json!({})).await;
    assert!(people["people"]["nodes"].as_array().expect("nodes").iter().any(|p| p["id"] == n.nora_id));
    let (again, _) = mutate(&app, &c.coordinator, CREATE_PERSON, "createPerson", hidden).await;
    assert_eq!(user_error_codes(&again), ["CONFLICT"]);
    // Nord's log says Vest registered their person.
    let log = app
        .data_as(
            &n.nora,
            r#"{ auditEvents(filter: { action: "person.register" }, first: 5) {
                   edges { node { target } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(log["auditEvents"]["edges"][0]["node"]["target"], n.nora_id, "{log}");
    // The registration can be ended by Vest, not Nord's own home registration.
    let unregister = "mutation($input: UnregisterPersonInput!) { unregisterPerson(input: $input) { person { \
                      id } userErrors { code } } }";
    let (ended, _) = mutate(
        &app,
        &c.coordinator,
        unregister,
        "unregisterPerson",
        json!({ "person": n.nora_id, "region": n.vest }),
    )
    .await;
    assert_eq!(user_error_codes(&ended), Vec::<String>::new(), "{ended}");
    assert!(ended["person"].is_null(), "out of Vest's sight again");
    let (again, _) = mutate(
        &app,
        &c.coordinator,
        unregister,
        "unregisterPerson",
        json!({ "person": n.nora_id, "region": n.vest }),
    )
    .await;
    assert_eq!(user_error_codes(&again), ["NOT_FOUND"]);
    let nord = app.data(r#"{ regions { nodes { id key } } }"#).await["regions"]["nodes"]
        .as_array()
        .expect("regions")
        .iter()
        .find(|r| r["key"] == "rso-nord")
        .expect("nord")["id"]
        .clone();
    let (home, _) =
        mutate(&app, &n.nora, unregister, "unregisterPerson", json!({ "person": n.nora_id, "region": nord }))
            .await;
    assert_eq!(user_error_codes(&home), ["NOT_FOUND"], "a home region cannot be left");
    let (registered, _) = mutate(
        &app,
        &c.coordinator,
        CREATE_PERSON,
        "createPerson",
        json!({ "name": "Nora", "email": "nora.nord@example.no", "region": n.vest }),
    )
    .await;
    assert_eq!(registered["person"]["id"], n.nora_id, "and it can be made again");

    // Registering gives Kari no authority over Nora's tokens, which reach Nord.
    let own = app.data_as(&n.nora, VIEWER, json!({})).await["viewer"]["tokens"]["nodes"][0]["id"].clone();
    let (payload, _) =
        mutate(&app, &c.coordinator, REVOKE_TOKEN, "revokeToken", json!({ "token": own })).await;
    assert_eq!(user_error_codes(&payload), ["NOT_FOUND"]);
}

#[both_databases]
async fn refused_tokens_are_counted_on_one_event_outside_every_regions_log(app: TestApp) {
    let kari = app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;
    let ingrid = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let unknown = format!("khub_{}", "A".repeat(43));
    for _ in 0..25 {
        let (status, _) = app.query_as(&unknown, "{ regions { totalCount } }", json!({})).await;
        assert_eq!(status, 401);
    }
    // A revoked token concerns its owner's region.
    let id = app.data_as(&ingrid, VIEWER, json!({})).await["viewer"]["tokens"]["nodes"][0]["id"].clone();
    app.data_as(
        &ingrid,
        "mutation($t: ID!) { revokeToken(input: { token: $t }) { token { id } } }",
        json!({ "t": id }),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(app.query_as(&ingrid, VIEWER, json!({})).await.0, 401);
    }
    let refusals = || async {
        audit_event::Entity::find()
            .filter(audit_event::Column::Action.eq("authenticate"))
            .all(app.db().conn())
            .await
            .expect("events")
    };
    let mut events = refusals().await;
    for _ in 0..50 {
        if events.iter().map(|e| e.repeats).sum::<i32>() == 28 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        events = refusals().await;
    }
    assert_eq!(events.len(), 2, "one event per kind: {events:?}");
    assert_eq!(events.iter().map(|e| e.repeats).sum::<i32>(), 28, "{events:?}");
    let unknown_event = events.iter().find(|e| e.partnership_id.is_none()).expect("the unknown token's");
    assert_eq!(unknown_event.repeats, 25);
    assert!(
        unknown_event.detail.as_deref().is_some_and(|d| d.contains("127.0.0.1") && d.contains("unknown"))
    );
    // The coordinator sees the refusal of her region's token, not the operators' event.
    let log = app
        .data_as(
            &kari,
            r#"{ auditEvents(filter: { action: "authenticate" }, first: 10) {
            edges { node { target repeats detail } } } }"#,
            json!({}),
        )
        .await;
    let edges = log["auditEvents"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{log}");
    assert_eq!(edges[0]["node"]["target"], id);
    assert_eq!(edges[0]["node"]["repeats"], 3);
}

/// Budgets belong to the person: a second token buys nothing; and refused tokens pay from their
/// address's budget until 429.
#[tokio::test]
async fn budgets_belong_to_people_and_refusals_pay_from_the_address() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::spawn_with(backend, |settings| {
            settings.rate_limit = 40;
            settings.public_rate_limit = 100;
        })
        .await;
        let kari = app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await;
        let (_, body) = app
            .query_as(&kari, "mutation { createToken(input: { name: \"second\" }) { secret } }", json!({}))
            .await;
        let second = body["data"]["createToken"]["secret"].as_str().expect("a secret").to_owned();
        let mut status = 200;
        let mut spent = 0;
        while status == 200 && spent < 100 {
            status = app.query_as(&kari, "{ regions { totalCount } }", json!({})).await.0;
            spent += 1;
        }
        assert_eq!(status, 429, "the budget of 40 is spent");
        let (status, body) = app.query_as(&second, "{ regions { totalCount } }", json!({})).await;
        assert_eq!(status, 429, "the second token shares the person's budget: {body}");

        // 100 points a refusal of 10: ten 401s, then 429.
        let statuses: Vec<u16> = {
            let mut all = Vec::new();
            for _ in 0..12 {
                all.push(app.query_as("khub_nothing", "{ regions { totalCount } }", json!({})).await.0);
            }
            all
        };
        assert_eq!(statuses[..10], [401; 10]);
        assert_eq!(statuses[10..], [429, 429]);
    }
}

/// Tokens minted before token authority was recorded: the migration reads the minter from the
/// `token.create` audit event and bounds a token minted for someone else to the regions its
/// minter coordinates; a token of one's own, or from the command line, stays unbound.
#[tokio::test]
async fn the_migration_bounds_tokens_that_coordinators_minted_for_others() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database};
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let dir = tempfile::tempdir().expect("a directory");
        let url = match backend {
            Backend::Sqlite => format!("sqlite:{}?mode=rwc", dir.path().join("old.db").display()),
            Backend::Postgres => crate::postgres::empty_database().await,
        };
        let db = Database::connect(&url).await.expect("connect");
        Migrator::up(&db, Some(7)).await.expect("the migrations before token authority");
        let at = "'2026-11-01T00:00:00Z'";
        for statement in [
            "INSERT INTO region (id, key, name) VALUES (1, 'a', 'A'), (2, 'b', 'B')".to_owned(),
            format!(
                "INSERT INTO person (id, name, email, home_region_id, created_at) VALUES
                (1, 'Bea', 'bea@example.no', 2, {at}), (2, 'Vera', 'vera@example.no', 1, {at})"
            ),
            format!(
                "INSERT INTO membership (id, person_id, role, region_id, created_at) VALUES
                (1, 1, 'COORDINATOR', 2, {at}), (2, 2, 'COORDINATOR', 1, {at})"
            ),
            format!(
                "INSERT INTO api_token (id, person_id, name, prefix, secret_hash, created_at) VALUES
                (1, 1, 'cli', 'khub_a', 'h1', {at}), (2, 2, 'own', 'khub_b', 'h2', {at}),
                (3, 2, 'from bea', 'khub_c', 'h3', {at})"
            ),
            format!(
                "INSERT INTO audit_event (occurred_at, actor_person_id, actor_token_id, actor_label, action,
                target_type, target_id, region_id) VALUES
                ({at}, NULL, NULL, 'command line', 'token.create', 'ApiToken', 1, 2),
                ({at}, 2, 2, NULL, 'token.create', 'ApiToken', 2, 1),
                ({at}, 1, 1, NULL, 'token.create', 'ApiToken', 3, 1)"
            ),
        ] {
            db.execute_unprepared(&statement).await.expect("old rows");
        }
        Migrator::up(&db, None).await.expect("the rest of the migrations");
        let tokens = entity::api_token::Entity::find().all(&db).await.expect("tokens");
        let of = |id: i32| tokens.iter().find(|t| t.id == id).expect("a token");
        assert_eq!((of(1).minted_by_person_id, of(1).partnership_bound), (None, false));
        assert_eq!((of(2).minted_by_person_id, of(2).partnership_bound), (Some(2), false));
        assert_eq!(
            (of(3).minted_by_person_id, of(3).partnership_bound, of(3).bound_by_person_id),
            (Some(1), true, Some(1))
        );
        let bounds = entity::api_token_partnership::Entity::find().all(&db).await.expect("bounds");
        assert_eq!(bounds, [entity::api_token_partnership::Model { token_id: 3, partnership_id: 2 }]);
    }
}
