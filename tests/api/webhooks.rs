//! Webhooks against a real HTTP receiver (`tests/support/webhook-receiver.mjs`, a node process
//! that verifies every request with the Standard Webhooks reference library, npm
//! `standardwebhooks`): deliveries verify, a rotation's overlap signs with both secrets, a failing
//! receiver's attempts are recorded and visible, the SSRF guard refuses internal addresses at
//! registration and again at delivery, and only those who may manage an endpoint see it.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use knowledge_hub::notify::webhook::{self, Deliverer, Endpoint, Guard, REFUSED_ADDRESS, REFUSED_SCHEME};
use serde_json::{Value, json};

use crate::{
    helpers::{Backend, TestApp, both_databases, cast},
    support::WebhookReceiver as Receiver,
};

/// The database id inside an endpoint's global id.
fn endpoint_key(id: &Value) -> i32 {
    let text = URL_SAFE_NO_PAD.decode(id.as_str().expect("an id")).expect("base64url");
    let text = String::from_utf8(text).expect("UTF-8");
    text.strip_prefix("WebhookEndpoint:").expect("an endpoint's id").parse().expect("a number")
}

const REGISTER: &str = "mutation($input: RegisterWebhookInput!) { registerWebhook(input: $input) {
    webhook { id url events consecutiveFailures } secret userErrors { field code message } } }";

async fn register(app: &TestApp, token: &str, url: &str) -> Value {
    let input = json!({
        "organisation": "4601",
        "url": url,
        "events": ["NEED_CREATED", "NEED_STATUS_CHANGED"],
        "description": "Bergen's case system",
    });
    app.data_as(token, REGISTER, json!({ "input": input })).await["registerWebhook"].clone()
}

fn payload() -> Vec<u8> {
    br#"{"type":"need.created","timestamp":"2026-11-30T12:00:00Z","data":{"id":"TmVlZDox"}}"#.to_vec()
}

#[both_databases]
async fn registration_refuses_internal_addresses_and_plain_http(app: TestApp) {
    let c = cast(&app).await;
    for (url, message) in [
        ("http://127.0.0.1/hook", REFUSED_SCHEME),
        ("http://169.254.169.254/latest/meta-data", REFUSED_SCHEME),
        ("http://[::1]/hook", REFUSED_SCHEME),
        ("https://127.0.0.1/hook", REFUSED_ADDRESS),
        ("https://169.254.169.254/latest/meta-data", REFUSED_ADDRESS),
        ("https://[::1]/hook", REFUSED_ADDRESS),
        ("https://[::ffff:127.0.0.1]/hook", REFUSED_ADDRESS),
        ("https://10.0.0.8/hook", REFUSED_ADDRESS),
        // A name is judged by what it resolves to.
        ("https://localhost/hook", REFUSED_ADDRESS),
    ] {
        let answer = register(&app, &c.coordinator, url).await;
        assert!(answer["webhook"].is_null() && answer["secret"].is_null(), "{url}: {answer}");
        let error = &answer["userErrors"][0];
        assert_eq!(error["code"], "BAD_USER_INPUT", "{url}");
        assert_eq!(error["field"], json!(["input", "url"]), "{url}");
        assert!(error["message"].as_str().expect("a message").starts_with(message), "{url}: {error}");
    }
    let accepted = register(&app, &c.coordinator, "https://8.8.8.8/hooks").await;
    assert_eq!(accepted["userErrors"], json!([]), "{accepted}");
    assert!(accepted["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")));
}

#[both_databases]
async fn webhooks_are_seen_and_managed_only_by_those_who_may(app: TestApp) {
    let c = cast(&app).await;
    let made = register(&app, &c.cluster_coordinator, "https://8.8.8.8/hooks").await;
    let id = made["webhook"]["id"].clone();
    assert_eq!(made["webhook"]["events"], json!(["NEED_CREATED", "NEED_STATUS_CHANGED"]));
    let list = "{ organisation(id: \"4601\") { webhooks { totalCount nodes { id url description } } } }";
    let node = "query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { url } } }";
    for token in [&c.coordinator, &c.cluster_coordinator] {
        let seen = app.data_as(token, list, json!({})).await;
        assert_eq!(seen["organisation"]["webhooks"]["totalCount"], 1);
        assert_eq!(seen["organisation"]["webhooks"]["nodes"][0]["description"], "Bergen's case system");
        let found = app.data_as(token, node, json!({ "id": id })).await;
        assert_eq!(found["node"]["url"], "https://8.8.8.8/hooks");
    }
    for token in [&c.bergen, &c.other_cluster_coordinator, &c.institution] {
        let seen = app.data_as(token, list, json!({})).await;
        assert_eq!(seen["organisation"]["webhooks"]["totalCount"], 0, "as if there were none");
        assert!(app.data_as(token, node, json!({ "id": id })).await["node"].is_null());
        let rotate = "mutation($id: ID!) { rotateWebhookSecret(input: { webhook: $id }) { secret userErrors { code } } }";
        let refused = app.data_as(token, rotate, json!({ "id": id })).await;
        assert_eq!(refused["rotateWebhookSecret"]["userErrors"][0]["code"], "NOT_FOUND");
        assert!(refused["rotateWebhookSecret"]["secret"].is_null());
    }
    assert_eq!(app.data(list).await["organisation"]["webhooks"]["totalCount"], 0, "the public sees none");
    let forbidden = json!({ "organisation": "4601", "url": "https://8.8.8.8/", "events": ["ROUND_OPENED"] });
    let (_, body) = app.query_as(&c.bergen, REGISTER, json!({ "input": forbidden })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body}");

    let disable = "mutation($id: ID!) { disableWebhook(input: { webhook: $id, reason: \"Vedlikehald\" }) {
        webhook { disabledAt disabledReason } userErrors { code } } }";
    let disabled = app.data_as(&c.coordinator, disable, json!({ "id": id })).await["disableWebhook"].clone();
    assert!(disabled["webhook"]["disabledAt"].is_string(), "{disabled}");
    assert_eq!(disabled["webhook"]["disabledReason"], "Vedlikehald");
    let enable = "mutation($id: ID!) { enableWebhook(input: { webhook: $id }) { webhook { disabledAt } } }";
    let enabled = app.data_as(&c.cluster_coordinator, enable, json!({ "id": id })).await;
    assert!(enabled["enableWebhook"]["webhook"]["disabledAt"].is_null());
    let delete =
        "mutation($id: ID!) { deleteWebhook(input: { webhook: $id }) { deletedId userErrors { code } } }";
    let deleted = app.data_as(&c.coordinator, delete, json!({ "id": id })).await;
    assert_eq!(deleted["deleteWebhook"]["deletedId"], id);
    let again = app.data_as(&c.coordinator, delete, json!({ "id": id })).await;
    assert_eq!(again["deleteWebhook"]["userErrors"][0]["code"], "NOT_FOUND");

    // Each change is in the audit log, with the host only.
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let actions: Vec<(String, Option<String>)> = entity::audit_event::Entity::find()
        .filter(entity::audit_event::Column::Action.starts_with("webhook."))
        .order_by_asc(entity::audit_event::Column::Id)
        .all(app.db().conn())
        .await
        .expect("the audit log")
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect();
    let names: Vec<&str> = actions.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(names, ["webhook.register", "webhook.disable", "webhook.enable", "webhook.delete"]);
    assert!(
        actions
            .iter()
            .all(|(_, d)| d.as_deref().is_some_and(|d| d.contains("8.8.8.8") && !d.contains("whsec_")))
    );
}

/// The hub with the operator's setting on (the receiver listens on loopback, over http).
async fn open_hub(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |settings| settings.webhooks_allow_private_addresses = true).await
}

/// The endpoint as the worker reads it to deliver: its URL and the secrets that sign now.
async fn signing_now(app: &TestApp, endpoint: i32) -> Endpoint {
    let found =
        knowledge_hub::db::notify::webhooks::deliverable(app.db().conn(), &[endpoint], chrono::Utc::now())
            .await
            .expect("read");
    let (endpoint, secrets) = found.get(&endpoint).cloned().expect("enabled");
    Endpoint { url: endpoint.url, secrets }
}

fn deliverer(allow_private: bool) -> Deliverer {
    Deliverer::new(Guard { allow_private }, Duration::from_secs(5)).expect("a client")
}

#[tokio::test]
async fn deliveries_verify_with_the_reference_library_and_a_rotation_signs_with_both_secrets() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = open_hub(backend).await;
        let c = cast(&app).await;
        let mut receiver = Receiver::start().await;
        let made = register(&app, &c.coordinator, &receiver.url("127.0.0.1")).await;
        assert_eq!(made["userErrors"], json!([]), "loopback over http is allowed by the setting: {made}");
        let old = made["secret"].as_str().expect("the secret, once").to_owned();
        let endpoint = endpoint_key(&made["webhook"]["id"]);
        let stranger = webhook::generate_secret().expect("a secret");
        receiver.program(&[&old, &stranger], 0, 500).await;

        let attempt =
            deliverer(true).deliver(&signing_now(&app, endpoint).await, "msg_need_1", &payload()).await;
        assert!(attempt.succeeded(), "{attempt:?}");
        let request = receiver.received(Duration::from_secs(10)).await.expect("delivered");
        assert_eq!(request["verified"], json!([true, false]), "the reference library verifies it: {request}");
        assert_eq!(request["id"], "msg_need_1");
        assert_eq!(request["body"].as_str().map(str::as_bytes), Some(payload().as_slice()));
        let at: i64 = request["timestamp"].as_str().expect("a timestamp").parse().expect("Unix seconds");
        assert!((at - chrono::Utc::now().timestamp()).abs() < 60);

        let rotate = "mutation($id: ID!) { rotateWebhookSecret(input: { webhook: $id }) {
            secret previousSecretExpiresAt userErrors { code } } }";
        let rotated =
            app.data_as(&c.coordinator, rotate, json!({ "id": made["webhook"]["id"] })).await["rotateWebhookSecret"]
                .clone();
        let new = rotated["secret"].as_str().expect("the new secret, once").to_owned();
        assert_ne!(new, old);
        let until: chrono::DateTime<chrono::Utc> =
            rotated["previousSecretExpiresAt"].as_str().expect("an expiry").parse().expect("a time");
        let overlap = until - chrono::Utc::now();
        assert!(overlap > chrono::Duration::hours(23) && overlap <= chrono::Duration::hours(24), "{overlap}");

        // During the overlap a receiver with either secret verifies the same delivery.
        receiver.program(&[&old, &new, &stranger], 0, 500).await;
        let attempt =
            deliverer(true).deliver(&signing_now(&app, endpoint).await, "msg_need_2", &payload()).await;
        assert!(attempt.succeeded(), "{attempt:?}");
        let request = receiver.received(Duration::from_secs(10)).await.expect("delivered");
        assert_eq!(request["verified"], json!([true, true, false]), "{request}");
        assert_eq!(request["signature"].as_str().map(|s| s.split(' ').count()), Some(2));
    }
}

#[tokio::test]
async fn a_delivery_checks_the_address_again_and_reaches_nothing_internal() {
    let app = open_hub(Backend::Sqlite).await;
    let c = cast(&app).await;
    let mut receiver = Receiver::start().await;
    // Registered while the setting allowed it; a hub without the setting refuses at delivery,
    // by resolving the name itself (the check a rebinding name would meet).
    let made = register(&app, &c.coordinator, &receiver.url("localhost")).await;
    let secret = made["secret"].as_str().expect("a secret").to_owned();
    receiver.program(&[&secret], 0, 500).await;
    let strict = deliverer(false);
    let secrets = vec![secret.clone()];
    for url in [
        format!("https://localhost:{}/hook", receiver.port),
        format!("https://127.0.0.1:{}/hook", receiver.port),
        format!("https://[::ffff:127.0.0.1]:{}/hook", receiver.port),
        receiver.url("localhost"),
    ] {
        let attempt = strict
            .deliver(&Endpoint { url: url.clone(), secrets: secrets.clone() }, "msg_1", &payload())
            .await;
        assert_eq!(attempt.status_code, None, "{url}");
        assert!(attempt.error.as_deref().is_some_and(|e| e.starts_with("refused: ")), "{url}: {attempt:?}");
    }
    let attempt = strict
        .deliver(&signing_now(&app, endpoint_key(&made["webhook"]["id"])).await, "msg_2", &payload())
        .await;
    assert!(attempt.error.is_some_and(|e| e.starts_with("refused: ")), "as registered");
    assert!(receiver.received(Duration::from_millis(500)).await.is_none(), "nothing reached the receiver");
    // The same endpoint is delivered to when the setting allows it.
    let attempt = deliverer(true)
        .deliver(&Endpoint { url: receiver.url("localhost"), secrets }, "msg_3", &payload())
        .await;
    assert_eq!(attempt.status_code, Some(200), "{attempt:?}");
    assert!(receiver.received(Duration::from_secs(10)).await.is_some());
}
