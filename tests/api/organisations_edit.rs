//! The reference data edited through the API: coordinators create, rename, move and close
//! organisations and add institutions; KSF creates regions and assigns counties. Each change is
//! in the organisation's history, the closure stays the tree, a need keeps the organisation it
//! was raised in, nothing open is stranded by a closing, and a reload of the bundled data keeps
//! what coordinators set.

use entity::{membership, need, organisation, partnership};
use knowledge_hub::{
    config::RoleArg,
    db::reference_data::{self, Bundle, Outcome},
};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, both_databases, cast, error_codes, need_input, user_error_codes},
    organisations_data::closure_follows_the_parents,
};

const PAYLOAD: &str = "organisation { id kind key code name closedAt parent { key code name } } \
                       userErrors { field code message }";

/// Runs `mutation(input: $input)` as `token` (`None`: the public); returns its payload and the
/// codes of the top-level errors.
async fn edit(app: &TestApp, token: Option<&str>, mutation: &str, input: Value) -> (Value, Vec<String>) {
    let input_type = format!("{}{}Input", mutation[..1].to_uppercase(), &mutation[1..]);
    let document = format!("mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {PAYLOAD} }} }}");
    let body = match token {
        Some(token) => app.query_as(token, &document, json!({ "input": input })).await.1,
        None => app.query_with(&document, json!({ "input": input })).await,
    };
    (body["data"][mutation].clone(), error_codes(&body))
}

/// `edit`, which must succeed; returns the organisation.
async fn edited(app: &TestApp, token: &str, mutation: &str, input: Value) -> Value {
    let (payload, errors) = edit(app, Some(token), mutation, input).await;
    assert!(errors.is_empty() && user_error_codes(&payload).is_empty(), "{mutation}: {payload} {errors:?}");
    payload["organisation"].clone()
}

/// The user error codes of a mutation that must be refused with them.
async fn refused(app: &TestApp, token: &str, mutation: &str, input: Value) -> Vec<String> {
    let (payload, errors) = edit(app, Some(token), mutation, input).await;
    assert!(errors.is_empty(), "{mutation}: {errors:?}");
    assert_eq!(payload["organisation"], Value::Null, "{payload}");
    user_error_codes(&payload)
}

/// The organisation with this key or official number, from the database.
async fn organisation(app: &TestApp, name: &str) -> organisation::Model {
    organisation::Entity::find()
        .filter(
            Condition::any().add(organisation::Column::Key.eq(name)).add(organisation::Column::Code.eq(name)),
        )
        .one(app.db().conn())
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("organisation {name}"))
}

async fn history(app: &TestApp, id: &Value) -> Vec<String> {
    let data = app
        .data_as(
            &app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await,
            "query($id: ID!) { organisation(id: $id) { history(first: 10) { totalCount nodes { change detail \
             occurredAt actor { name } } } } }",
            json!({ "id": id }),
        )
        .await;
    let nodes = data["organisation"]["history"]["nodes"].as_array().expect("a history").clone();
    assert!(nodes.iter().all(|n| n["actor"]["name"].is_string()), "coordinators see who: {nodes:?}");
    nodes.iter().map(|n| n["change"].as_str().expect("a change").to_owned()).collect()
}

async fn submitted(app: &TestApp, token: &str, title: &str) -> Value {
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let body = app
        .data_as(
            token,
            "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id version } userErrors { code } } }",
            json!({ "input": need_input(title, &theme) }),
        )
        .await;
    body["submitNeed"]["need"].clone()
}

async fn need_row(app: &TestApp, title: &str) -> need::Model {
    need::Entity::find()
        .filter(need::Column::Title.eq(title))
        .one(app.db().conn())
        .await
        .expect("read")
        .expect("the need")
}

async fn need_count(app: &TestApp, filter: Value) -> i64 {
    let data = app
        .data_as(
            &app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await,
            "query($f: NeedFilter) { needs(filter: $f) { totalCount } }",
            json!({ "f": filter }),
        )
        .await;
    data["needs"]["totalCount"].as_i64().expect("a count")
}

#[both_databases]
async fn coordinators_create_rename_move_and_close_and_each_change_is_history(app: TestApp) {
    let c = cast(&app).await;
    let input = json!({ "kind": "CLUSTER", "name": "Nordhordland", "parent": "rso-vest", "key": "nordhordland",
                        "area": "Nordhordland", "idempotencyKey": "cluster-1" });
    let cluster = edited(&app, &c.coordinator, "createOrganisation", input.clone()).await;
    assert_eq!((&cluster["kind"], &cluster["parent"]["key"]), (&json!("CLUSTER"), &json!("rso-vest")));
    let again = edited(&app, &c.coordinator, "createOrganisation", input).await;
    assert_eq!(again["id"], cluster["id"], "a replay creates nothing");
    let typed = app.data(r#"{ cluster(key: "nordhordland") { name area region { key } } }"#).await;
    assert_eq!(
        typed["cluster"],
        json!({ "name": "Nordhordland", "area": "Nordhordland", "region": { "key": "rso-vest" } })
    );

    let renamed = edited(
        &app,
        &c.coordinator,
        "renameOrganisation",
        json!({ "organisation": cluster["id"], "name": "Nordhordlandsklynga" }),
    )
    .await;
    assert_eq!(renamed["name"], "Nordhordlandsklynga");
    let askoy = edited(
        &app,
        &c.coordinator,
        "renameOrganisation",
        json!({ "organisation": "4627", "name": "Askøy kommune" }),
    )
    .await;
    assert_eq!(
        app.data(r#"{ cluster(key: "nordhordland") { name } }"#).await["cluster"]["name"],
        "Nordhordlandsklynga"
    );
    assert_eq!(
        app.data(r#"{ municipality(code: "4627") { name } }"#).await["municipality"]["name"],
        "Askøy kommune"
    );

    // A need raised in Askøy stays Askøy's when Askøy moves, and is found under its new cluster.
    submitted(&app, &c.askoy, "Ventetid i heimetenesta").await;
    let raised_in = need_row(&app, "Ventetid i heimetenesta").await.organisation_id;
    let moved = edited(
        &app,
        &c.coordinator,
        "moveOrganisation",
        json!({ "organisation": askoy["id"], "parent": "nordhordland" }),
    )
    .await;
    assert_eq!(moved["parent"]["key"], "nordhordland");
    let typed = app.data(r#"{ municipality(code: "4627") { cluster { key } } }"#).await;
    assert_eq!(typed["municipality"]["cluster"]["key"], "nordhordland");
    assert_eq!(
        need_row(&app, "Ventetid i heimetenesta").await.organisation_id,
        raised_in,
        "raised in Askøy still"
    );
    assert_eq!(need_count(&app, json!({ "organisation": "nordhordland" })).await, 1);
    assert_eq!(need_count(&app, json!({ "organisation": "kunnskapskommunen" })).await, 0);

    // Closing the cluster would strand Askøy; back in its old cluster, the empty one closes.
    assert_eq!(
        refused(&app, &c.coordinator, "closeOrganisation", json!({ "organisation": "nordhordland" })).await,
        ["CONFLICT"]
    );
    edited(
        &app,
        &c.coordinator,
        "moveOrganisation",
        json!({ "organisation": "4627", "parent": "kunnskapskommunen" }),
    )
    .await;
    let closed =
        edited(&app, &c.coordinator, "closeOrganisation", json!({ "organisation": "nordhordland" })).await;
    assert!(closed["closedAt"].is_string());
    assert_eq!(
        refused(
            &app,
            &c.coordinator,
            "createOrganisation",
            json!({ "kind": "PROJECT", "name": "Seint", "parent": "nordhordland" })
        )
        .await,
        ["CONFLICT"],
        "a closed organisation takes nothing new"
    );

    assert_eq!(history(&app, &askoy["id"]).await, ["move", "move", "rename"]);
    assert_eq!(history(&app, &cluster["id"]).await, ["close", "rename", "create"]);
    let bergen = app.data(r#"{ municipality(code: "4601") { organisation { id } } }"#).await;
    assert!(history(&app, &bergen["municipality"]["organisation"]["id"]).await.is_empty(), "never edited");
    let edited_at = organisation(&app, "4627").await.edited_at;
    assert!(edited_at.is_some(), "the loader leaves it alone from now on");
    closure_follows_the_parents(app.db().conn()).await;
}

#[both_databases]
async fn closing_is_refused_while_an_organisation_a_member_or_an_open_need_is_left_in_it(app: TestApp) {
    let c = cast(&app).await;
    let ksf = app.token_for("Kim Ksf", RoleArg::Coordinator, "ksf").await;
    assert_eq!(
        refused(&app, &ksf, "closeOrganisation", json!({ "organisation": "0301" })).await,
        ["CONFLICT"],
        "its districts"
    );

    let need = submitted(&app, &c.bergen, "Digital heimeoppfølging").await;
    let (payload, _) =
        edit(&app, Some(&c.coordinator), "closeOrganisation", json!({ "organisation": "4601" })).await;
    assert_eq!(user_error_codes(&payload), ["CONFLICT"]);
    assert!(
        payload["userErrors"][0]["message"].as_str().is_some_and(|m| m.contains("membership")),
        "{payload}"
    );

    // Without members, the open need still holds Bergen open; once it is withdrawn, Bergen closes.
    let bergen = organisation(&app, "4601").await;
    membership::Entity::delete_many()
        .filter(membership::Column::OrganisationId.eq(bergen.id))
        .exec(app.db().conn())
        .await
        .expect("memberships removed");
    let (payload, _) =
        edit(&app, Some(&c.coordinator), "closeOrganisation", json!({ "organisation": "4601" })).await;
    assert_eq!(user_error_codes(&payload), ["CONFLICT"]);
    assert!(payload["userErrors"][0]["message"].as_str().is_some_and(|m| m.contains("need")), "{payload}");
    need::Entity::update_many()
        .col_expr(need::Column::Status, sea_orm::sea_query::Expr::value("WITHDRAWN"))
        .filter(need::Column::Title.eq("Digital heimeoppfølging"))
        .exec(app.db().conn())
        .await
        .expect("withdrawn");
    let closed = edited(&app, &c.coordinator, "closeOrganisation", json!({ "organisation": "4601" })).await;
    assert!(closed["closedAt"].is_string());
    assert_eq!(
        refused(&app, &c.coordinator, "closeOrganisation", json!({ "organisation": "4601" })).await,
        ["CONFLICT"],
        "closed once"
    );
    // The need keeps its organisation, closed or not.
    let id = need["id"].as_str().expect("an id");
    let found =
        app.data(&format!(r#"{{ node(id: "{id}") {{ ... on Need {{ municipality {{ code }} }} }} }}"#)).await;
    assert_eq!(found["node"]["municipality"]["code"], "4601");
}

#[both_databases]
async fn only_coordinators_of_a_partnership_serving_an_organisation_may_edit_it(app: TestApp) {
    let c = cast(&app).await;
    let midt = app.token_for("Marit Midt", RoleArg::Coordinator, "rso-midt").await;
    let ksf = app.token_for("Kim Ksf", RoleArg::Coordinator, "ksf").await;
    let rename = |name: &str| json!({ "organisation": "5001", "name": name });
    for token in [&c.bergen, &c.cluster_coordinator, &c.coordinator] {
        let (_, errors) = edit(&app, Some(token), "renameOrganisation", rename("Trondheim kommune")).await;
        assert_eq!(errors, ["FORBIDDEN"], "Trøndelag is RSO Midt's and KSF's");
    }
    let (_, errors) = edit(&app, None, "renameOrganisation", rename("Trondheim kommune")).await;
    assert_eq!(errors, ["UNAUTHENTICATED"]);
    edited(&app, &midt, "renameOrganisation", rename("Trondheim kommune")).await;
    edited(&app, &ksf, "renameOrganisation", rename("Trondheim")).await;
    let (_, errors) = edit(
        &app,
        Some(&c.coordinator),
        "createRegion",
        json!({ "key": "rso-nord", "name": "Nord", "counties": [] }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"], "regions are KSF's");
    let (_, errors) =
        edit(&app, Some(&midt), "assignCounty", json!({ "region": "rso-midt", "county": "15" })).await;
    assert_eq!(errors, ["FORBIDDEN"]);
    let (_, errors) = edit(
        &app,
        Some(&c.coordinator),
        "addInstitution",
        json!({ "key": "ntnu", "name": "NTNU", "kind": "UNIVERSITY", "partnership": "rso-midt" }),
    )
    .await;
    assert_eq!(errors, ["FORBIDDEN"], "an institution registers with its partnership's coordinators");

    // What the caller can fix is a user error with a stable code.
    let cases = [
        ("moveOrganisation", json!({ "organisation": "4601", "parent": "030115" }), "BAD_USER_INPUT"),
        ("moveOrganisation", json!({ "organisation": "4601", "parent": "50" }), "BAD_USER_INPUT"),
        (
            "moveOrganisation",
            json!({ "organisation": "kunnskapskommunen", "parent": "rso-midt" }),
            "BAD_USER_INPUT",
        ),
        ("moveOrganisation", json!({ "organisation": "0301", "parent": "030115" }), "BAD_USER_INPUT"),
        (
            "createOrganisation",
            json!({ "kind": "MUNICIPALITY", "name": "Ny", "parent": "46" }),
            "BAD_USER_INPUT",
        ),
        ("createOrganisation", json!({ "kind": "PROJECT", "name": "P", "parent": "nowhere" }), "NOT_FOUND"),
        (
            "createOrganisation",
            json!({ "kind": "PROJECT", "name": "P", "parent": "4601", "key": "uib" }),
            "CONFLICT",
        ),
        (
            "createOrganisation",
            json!({ "kind": "PROJECT", "name": "P", "parent": "4601", "key": "Not A Key" }),
            "BAD_USER_INPUT",
        ),
        (
            "createOrganisation",
            json!({ "kind": "CLUSTER", "name": "K", "parent": "4601", "key": "k-1" }),
            "BAD_USER_INPUT",
        ),
        ("renameOrganisation", json!({ "organisation": "4601", "name": " " }), "BAD_USER_INPUT"),
        ("assignCounty", json!({ "region": "rso-midt", "county": "46" }), "CONFLICT"),
        ("assignCounty", json!({ "region": "rso-midt", "county": "4601" }), "BAD_USER_INPUT"),
    ];
    for (mutation, input, code) in cases {
        assert_eq!(refused(&app, &ksf, mutation, input.clone()).await, [code], "{mutation} {input}");
    }
    let before = app.fingerprint().await;
    refused(&app, &ksf, "moveOrganisation", json!({ "organisation": "4601", "parent": "50" })).await;
    assert_eq!(app.fingerprint().await, before, "a refused edit changes nothing");

    // A new institution is an organisation apart, a member of its partnership.
    let oslomet = edited(
        &app,
        &c.coordinator,
        "addInstitution",
        json!({ "key": "nla", "name": "NLA Høgskolen", "shortName": "NLA", "kind": "UNIVERSITY_COLLEGE",
                "partnership": "rso-vest" }),
    )
    .await;
    assert_eq!((&oslomet["kind"], &oslomet["parent"]), (&json!("INSTITUTION"), &Value::Null));
    let listed = app.data(r#"{ institution(key: "nla") { shortName region { key } organisation { partnerships { key } } } }"#).await;
    assert_eq!(listed["institution"]["shortName"], "NLA");
    assert_eq!(listed["institution"]["organisation"]["partnerships"], json!([{ "key": "rso-vest" }]));
    closure_follows_the_parents(app.db().conn()).await;
}

#[both_databases]
async fn ksf_creates_a_region_and_needs_raised_there_afterwards_are_its_regions(app: TestApp) {
    let ksf = app.token_for("Kim Ksf", RoleArg::Coordinator, "ksf").await;
    let region = edited(
        &app,
        &ksf,
        "createRegion",
        json!({ "key": "rso-nord", "name": "RSO Nord", "counties": ["18"] }),
    )
    .await;
    assert_eq!((&region["kind"], &region["parent"]["key"]), (&json!("REGION"), &json!("ksf")));
    let listed =
        app.data(r#"{ region(key: "rso-nord") { name counties { code } organisation { key } } }"#).await;
    assert_eq!(
        listed["region"],
        json!({ "name": "RSO Nord", "counties": [{ "code": "18" }], "organisation": { "key": "rso-nord" } })
    );
    assert_eq!(
        refused(&app, &ksf, "createRegion", json!({ "key": "rso-nord", "name": "Igjen", "counties": [] }))
            .await,
        ["CONFLICT"]
    );
    assert_eq!(
        refused(
            &app,
            &ksf,
            "createRegion",
            json!({ "key": "rso-sor", "name": "RSO Sør", "counties": ["42", "46"] })
        )
        .await,
        ["CONFLICT"],
        "Vestland is RSO Vest's: not taken from it"
    );
    assert!(app.data(r#"{ region(key: "rso-sor") { key } }"#).await["region"].is_null(), "all or nothing");
    assert_eq!(
        refused(&app, &ksf, "assignCounty", json!({ "region": "rso-nord", "county": "18" })).await,
        ["CONFLICT"]
    );
    let troms = edited(&app, &ksf, "assignCounty", json!({ "region": "rso-nord", "county": "55" })).await;
    assert_eq!(troms["parent"]["key"], "rso-nord");

    // A coordinator of the new RSO edits its counties; a need raised in Bodø goes to its pool.
    let nord = app.token_for("Nora Nord", RoleArg::Coordinator, "rso-nord").await;
    edited(
        &app,
        &nord,
        "createOrganisation",
        json!({ "kind": "CLUSTER", "name": "Salten", "parent": "rso-nord", "key": "salten" }),
    )
    .await;
    edited(&app, &nord, "moveOrganisation", json!({ "organisation": "1804", "parent": "salten" })).await;
    let bodo = app.token_for("Bo Bodø", RoleArg::UnitMember, "1804").await;
    submitted(&app, &bodo, "Rekruttering av sjukepleiarar").await;
    let rso = partnership::Entity::find()
        .filter(partnership::Column::Key.eq("rso-nord"))
        .one(app.db().conn())
        .await
        .expect("read")
        .expect("the RSO");
    assert_eq!(need_row(&app, "Rekruttering av sjukepleiarar").await.partnership_id, Some(rso.id));
    assert_eq!(need_count(&app, json!({ "partnership": "rso-nord" })).await, 1);
    let bodo_org =
        app.data(r#"{ municipality(code: "1804") { organisation { ancestors { key code } } } }"#).await;
    assert_eq!(
        bodo_org["municipality"]["organisation"]["ancestors"],
        json!([{ "key": "salten", "code": null }, { "key": "rso-nord", "code": null }, { "key": "ksf", "code": null }])
    );
    closure_follows_the_parents(app.db().conn()).await;
}

#[both_databases]
async fn what_coordinators_edited_survives_a_reload_of_the_bundled_data(app: TestApp) {
    let c = cast(&app).await;
    for (mutation, input) in [
        ("renameOrganisation", json!({ "organisation": "4601", "name": "Bergen kommune" })),
        ("moveOrganisation", json!({ "organisation": "4627", "parent": "sor-rogaland" })),
        ("renameOrganisation", json!({ "organisation": "kunnskapskommunen", "name": "KHOV" })),
    ] {
        edited(&app, &c.coordinator, mutation, input).await;
    }
    let bundle = Bundle::bundled().expect("the bundle");
    assert_eq!(
        reference_data::load_bundle(app.db(), &bundle, "a later version").await.expect("load"),
        Outcome::Loaded
    );
    let data = app
        .data(
            r#"{ bergen: municipality(code: "4601") { name organisation { name } }
                 askoy: municipality(code: "4627") { cluster { key } organisation { parent { key } } }
                 cluster(key: "kunnskapskommunen") { name organisation { name } } }"#,
        )
        .await;
    assert_eq!(
        data["bergen"],
        json!({ "name": "Bergen kommune", "organisation": { "name": "Bergen kommune" } })
    );
    assert_eq!(
        data["askoy"],
        json!({ "cluster": { "key": "sor-rogaland" }, "organisation": { "parent": { "key": "sor-rogaland" } } })
    );
    assert_eq!(data["cluster"], json!({ "name": "KHOV", "organisation": { "name": "KHOV" } }));
    closure_follows_the_parents(app.db().conn()).await;
}
