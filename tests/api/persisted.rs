//! Persisted and trusted documents: a document sent by hash the automatic persisted queries way
//! (not found, then registered with its text, then found), a hash that is not the text's, the
//! known documents of `documents/` and of an operator's directory, the schema that skips
//! validation for them (and for a document that passed it once) while their cost still follows
//! the variables, `GET /graphql` for queries only, and `--trusted-documents` over HTTP and the
//! WebSocket.

use knowledge_hub::{config::Settings, graphql::persisted::sha256_hex};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, both_databases, cast, error_codes},
    realtime::Client,
};

/// A known document of the repository (`documents/examples/`).
const THEMES: &str = include_str!("../../documents/examples/themes.graphql");
const NEED_EVENTS: &str = include_str!("../../documents/examples/need-events.graphql");
/// A document the hub does not know.
const REGIONS: &str = "query Regions { regions(first: 3) { totalCount nodes { key } } }";

fn persisted_query(text: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(text) } })
}

/// POSTs `body` (with `token`, if any); returns the status, the `Cache-Control` and the body.
async fn post(app: &TestApp, token: Option<&str>, body: Value) -> (u16, Option<String>, Value) {
    let mut request = app.client.post(app.url("/graphql")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let cache = response.headers().get("cache-control").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, cache, response.json().await.expect("JSON"))
}

/// `GET /graphql` with these URL parameters; returns the status and the body.
async fn get(app: &TestApp, parameters: &[(&str, String)]) -> (u16, Value) {
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(parameters)
        .header("accept", "application/json")
        .send()
        .await
        .expect("sent");
    (response.status().as_u16(), response.json().await.expect("JSON"))
}

fn trusted(settings: &mut Settings) {
    settings.documents.trusted_documents = true;
}

#[both_databases]
async fn a_hash_alone_is_not_found_until_its_text_is_sent_with_it(app: TestApp) {
    let hash_only = json!({ "extensions": persisted_query(REGIONS) });
    let (status, cache, body) = post(&app, None, hash_only.clone()).await;
    // What Apollo's and urql's clients look for before sending the text; not to be cached.
    assert_eq!((status, error_codes(&body)), (200, vec!["PERSISTED_QUERY_NOT_FOUND".to_owned()]), "{body}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(cache.as_deref(), Some("private, no-cache, must-revalidate"));
    let with_text = json!({ "query": REGIONS, "extensions": persisted_query(REGIONS) });
    let (status, _, registered) = post(&app, None, with_text).await;
    assert_eq!(status, 200, "{registered}");
    assert!(registered.get("errors").is_none(), "{registered}");
    let (status, _, by_hash) = post(&app, None, hash_only).await;
    assert_eq!(status, 200);
    assert_eq!(by_hash["data"], registered["data"]);
    assert!(by_hash["data"]["regions"]["totalCount"].as_i64() > Some(0), "{by_hash}");

    // A document that fails validation is not remembered.
    let invalid = "{ nothing }";
    let body = json!({ "query": invalid, "extensions": persisted_query(invalid) });
    assert_eq!(error_codes(&post(&app, None, body).await.2), ["GRAPHQL_VALIDATION_FAILED"]);
    let (_, _, again) = post(&app, None, json!({ "extensions": persisted_query(invalid) })).await;
    assert_eq!(error_codes(&again), ["PERSISTED_QUERY_NOT_FOUND"]);
}

#[both_databases]
async fn a_hash_that_is_not_the_texts_runs_nothing(app: TestApp) {
    let c = cast(&app).await;
    let before = app.fingerprint().await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let mutation = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }";
    let input = crate::helpers::need_input("Sent with the wrong hash", &theme);
    let body =
        json!({ "query": mutation, "variables": { "input": input }, "extensions": persisted_query(REGIONS) });
    let (status, _, refused) = post(&app, Some(&c.bergen), body).await;
    assert_eq!((status, error_codes(&refused)), (400, vec!["PERSISTED_QUERY_HASH_MISMATCH".to_owned()]));
    assert_eq!(app.fingerprint().await, before, "nothing ran");

    let two = json!({ "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(REGIONS) } });
    let (status, _, refused) = post(&app, None, json!({ "query": REGIONS, "extensions": two })).await;
    assert_eq!(
        (status, error_codes(&refused)),
        (400, vec!["PERSISTED_QUERY_VERSION_NOT_SUPPORTED".to_owned()])
    );
    let bad = json!({ "persistedQuery": { "version": 1, "sha256Hash": "abc" } });
    let (status, _, refused) = post(&app, None, json!({ "extensions": bad })).await;
    assert_eq!((status, error_codes(&refused)), (400, vec!["BAD_REQUEST".to_owned()]));
}

/// A known document runs by hash at once, on the schema that skips validation: a variable of the
/// wrong type is found while executing (an error with a path, the same code) where the same text
/// unknown is refused by validation; and its cost follows the variables sent.
#[both_databases]
async fn known_documents_run_by_hash_without_validation_and_pay_for_their_variables(app: TestApp) {
    let (status, _, by_hash) = post(&app, None, json!({ "extensions": persisted_query(THEMES) })).await;
    assert_eq!(status, 200, "{by_hash}");
    assert!(by_hash.get("errors").is_none(), "{by_hash}");
    let (_, _, by_text) = post(&app, None, json!({ "query": THEMES })).await;
    assert_eq!(by_hash["data"], by_text["data"]);
    assert!(by_hash["data"]["themes"]["totalCount"].as_i64() > Some(0));

    let klingon = json!({ "language": "KLINGON" });
    let (_, _, known) =
        post(&app, None, json!({ "extensions": persisted_query(THEMES), "variables": klingon })).await;
    // One error per theme's label, each with its path: found while executing.
    let codes = error_codes(&known);
    assert!(!codes.is_empty() && codes.iter().all(|code| code == "BAD_USER_INPUT"), "{known}");
    assert!(known["errors"][0]["path"].is_array(), "found while executing: {known}");
    let unknown = format!("{THEMES} ");
    let (_, _, validated) = post(&app, None, json!({ "query": unknown, "variables": klingon })).await;
    assert_eq!(error_codes(&validated), ["BAD_USER_INPUT"], "{validated}");
    assert!(validated["errors"][0].get("path").is_none(), "refused by validation: {validated}");

    let cost = |body: &Value| body["extensions"]["rateLimit"]["cost"].as_i64();
    let (_, _, hundred) =
        post(&app, None, json!({ "extensions": persisted_query(THEMES), "variables": { "first": 100 } }))
            .await;
    assert!(cost(&hundred) > cost(&by_hash), "{hundred} {by_hash}");
    let too_many =
        json!({ "extensions": persisted_query(THEMES), "variables": { "first": 3_000_000_000u64 } });
    assert_eq!(error_codes(&post(&app, None, too_many).await.2), ["BAD_USER_INPUT"]);
}

/// A document sent as text is kept parsed, and once it passed the validation rules it runs
/// without them, as a known document does: a variable of the wrong type is then found while
/// executing (the same code, with a path). A document the rules refused is refused every time,
/// over HTTP and the WebSocket alike.
#[both_databases]
async fn a_document_that_passed_validation_once_runs_without_the_rules(app: TestApp) {
    let text = format!("{THEMES}  ");
    let klingon = json!({ "language": "KLINGON" });
    let (_, _, first) = post(&app, None, json!({ "query": text })).await;
    assert!(first.get("errors").is_none(), "{first}");
    let (_, _, again) = post(&app, None, json!({ "query": text })).await;
    assert_eq!(again["data"], first["data"]);
    let (_, _, wrong) = post(&app, None, json!({ "query": text, "variables": klingon })).await;
    let codes = error_codes(&wrong);
    assert!(!codes.is_empty() && codes.iter().all(|code| code == "BAD_USER_INPUT"), "{wrong}");
    assert!(wrong["errors"][0]["path"].is_array(), "found while executing: {wrong}");
    let cost = |body: &Value| body["extensions"]["rateLimit"]["cost"].as_i64();
    let (_, _, hundred) = post(&app, None, json!({ "query": text, "variables": { "first": 100 } })).await;
    assert!(cost(&hundred) > cost(&again), "the cost still follows the variables: {hundred} {again}");

    // Sent first with a wrong variable, a text is refused by validation and not marked.
    let other = format!("{THEMES}   ");
    for _ in 0..2 {
        let (_, _, refused) = post(&app, None, json!({ "query": other, "variables": klingon })).await;
        assert_eq!(error_codes(&refused), ["BAD_USER_INPUT"], "{refused}");
        assert!(refused["errors"][0].get("path").is_none(), "refused by validation: {refused}");
    }
    // A document the rules refuse is refused each time it comes.
    let invalid = "{ themes(first: 2) { nodes { key colour } } }";
    for _ in 0..2 {
        let (_, _, refused) = post(&app, None, json!({ "query": invalid })).await;
        assert_eq!(error_codes(&refused), ["GRAPHQL_VALIDATION_FAILED"], "{refused}");
    }
    // The socket finds the kept document too.
    let mut socket = Client::connect(&app, None).await;
    socket
        .send(
            json!({ "id": "kept", "type": "subscribe", "payload": { "query": text, "variables": klingon } }),
        )
        .await;
    let answer = socket.receive().await;
    assert_eq!(answer["type"], "next", "{answer}");
    assert!(answer["payload"]["errors"][0]["path"].is_array(), "found while executing: {answer}");
}

#[both_databases]
async fn get_runs_queries_by_hash_and_never_a_mutation(app: TestApp) {
    let (status, by_hash) = get(
        &app,
        &[
            ("extensions", persisted_query(THEMES).to_string()),
            ("variables", json!({ "first": 2 }).to_string()),
            ("operationName", "Themes".to_owned()),
        ],
    )
    .await;
    assert_eq!(status, 200, "{by_hash}");
    assert_eq!(by_hash["data"]["themes"]["nodes"].as_array().map(Vec::len), Some(2), "{by_hash}");
    let before = app.fingerprint().await;
    let mutation = "mutation { createToken(input: { name: \"over GET\" }) { secret } }";
    let by_hash = persisted_query(mutation).to_string();
    let (status, refused) = get(&app, &[("query", mutation.to_owned()), ("extensions", by_hash)]).await;
    assert_eq!((status, error_codes(&refused)), (405, vec!["METHOD_NOT_ALLOWED".to_owned()]), "{refused}");
    assert_eq!(app.fingerprint().await, before);
    let by_hash = persisted_query(REGIONS).to_string();
    let (status, refused) = get(&app, &[("variables", "{".to_owned()), ("extensions", by_hash)]).await;
    assert_eq!((status, error_codes(&refused)), (400, vec!["BAD_REQUEST".to_owned()]));
    // A text without a hash is for POST, as before.
    let (status, refused) = get(&app, &[("query", REGIONS.to_owned())]).await;
    assert_eq!((status, error_codes(&refused)), (405, vec!["BAD_REQUEST".to_owned()]));
}

/// `--trusted-documents`: the public runs known documents only, by hash or identical text, over
/// HTTP and the socket; token holders are not restricted.
#[both_databases(trusted)]
async fn trusted_documents_restrict_the_public_to_known_documents(app: TestApp) {
    let c = cast(&app).await;
    let (status, _, refused) = post(&app, None, json!({ "query": REGIONS })).await;
    assert_eq!((status, error_codes(&refused)), (403, vec!["DOCUMENT_NOT_TRUSTED".to_owned()]), "{refused}");
    let with_hash = json!({ "query": REGIONS, "extensions": persisted_query(REGIONS) });
    assert_eq!(error_codes(&post(&app, None, with_hash).await.2), ["DOCUMENT_NOT_TRUSTED"]);
    let (_, _, hash_only) = post(&app, None, json!({ "extensions": persisted_query(REGIONS) })).await;
    assert_eq!(error_codes(&hash_only), ["DOCUMENT_NOT_TRUSTED"], "no point in sending the text");
    for body in [json!({ "query": THEMES }), json!({ "extensions": persisted_query(THEMES) })] {
        let (status, _, known) = post(&app, None, body).await;
        assert_eq!(status, 200, "{known}");
        assert!(known.get("errors").is_none(), "{known}");
    }
    let (status, _, token_holder) = post(&app, Some(&c.bergen), json!({ "query": REGIONS })).await;
    assert_eq!(status, 200, "{token_holder}");
    assert!(token_holder.get("errors").is_none(), "{token_holder}");

    let mut public = Client::connect(&app, None).await;
    public
        .send(json!({ "id": "unknown", "type": "subscribe", "payload": {
            "query": "subscription { needEvents { kind } }" } }))
        .await;
    let refused = public.receive().await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(error_codes(&refused["payload"]), ["DOCUMENT_NOT_TRUSTED"], "{refused}");
    assert_eq!(public.receive().await, json!({ "type": "complete", "id": "unknown" }));
    public
        .send(json!({ "id": "known", "type": "subscribe", "payload": {
            "extensions": persisted_query(NEED_EVENTS) } }))
        .await;
    public.settle().await;
    // (Submitted as a token holder: `realtime::submit` reads a theme as the public.)
    let themes = app.data_as(&c.bergen, "{ themes(first: 1) { nodes { id } } }", json!({})).await;
    let input =
        crate::helpers::need_input("Seen through a trusted document", &themes["themes"]["nodes"][0]["id"]);
    let mutation = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }";
    app.data_as(&c.bergen, mutation, json!({ "input": input })).await;
    let event = public.next_data().await;
    assert_eq!(event["needEvents"]["kind"], "CREATED", "{event}");
}

/// Over the socket, a hash alone is not found until registered, as over HTTP.
#[both_databases]
async fn the_socket_speaks_persisted_queries(app: TestApp) {
    let mut client = Client::connect(&app, None).await;
    let hash_only = json!({ "extensions": persisted_query(REGIONS) });
    client.send(json!({ "id": "1", "type": "subscribe", "payload": hash_only })).await;
    let missing = client.receive().await;
    assert_eq!(error_codes(&missing["payload"]), ["PERSISTED_QUERY_NOT_FOUND"], "{missing}");
    assert_eq!(missing["payload"]["errors"][0]["message"], "PersistedQueryNotFound");
    assert_eq!(client.receive().await["type"], "complete");
    let with_text = json!({ "query": REGIONS, "extensions": persisted_query(REGIONS) });
    client.send(json!({ "id": "1", "type": "subscribe", "payload": with_text })).await;
    let registered = client.next_data().await;
    assert_eq!(client.receive().await["type"], "complete");
    client.send(json!({ "id": "1", "type": "subscribe", "payload": hash_only })).await;
    assert_eq!(client.next_data().await, registered);
}

/// An operator's directory of documents is read at start-up: its documents run by hash and are
/// listed by `knowledge-hub documents`; a document that is not valid stops the command (and the
/// start), naming its file.
#[tokio::test]
async fn an_operators_documents_are_known_and_a_bad_one_is_named() {
    let directory = tempfile::tempdir().expect("a directory");
    let own = "query OwnRegions($first: Int = 5) { regions(first: $first) { totalCount } }\n";
    std::fs::create_dir_all(directory.path().join("partner")).expect("a folder");
    std::fs::write(directory.path().join("partner/regions.graphql"), own).expect("written");
    let path = directory.path().to_path_buf();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, move |settings| {
        settings.documents.documents_dir = Some(path);
        settings.documents.trusted_documents = true;
    })
    .await;
    let (status, _, body) = post(&app, None, json!({ "extensions": persisted_query(own) })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["regions"]["totalCount"].as_i64().map(|n| n > 0), Some(true), "{body}");

    let output = std::process::Command::new(crate::cli::BIN)
        .args(["documents", "--documents-dir"])
        .arg(directory.path())
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(table.starts_with("| document | operation | SHA-256 | cost | points |"), "{table}");
    assert!(table.contains(&format!("query `OwnRegions` | `{}` | 6 | 1 |", sha256_hex(own))), "{table}");
    assert!(table.contains(&format!(
        "`documents/examples/themes.graphql` | query `Themes` | `{}`",
        sha256_hex(THEMES)
    )));

    std::fs::write(directory.path().join("broken.graphql"), "query Broken { nothing }").expect("written");
    let output = std::process::Command::new(crate::cli::BIN)
        .args(["documents", "--documents-dir"])
        .arg(directory.path())
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stderr), String::from_utf8_lossy(&output.stdout));
    assert!(said.contains("broken.graphql"), "{said}");
}

/// The README's table of known documents is what `knowledge-hub documents` prints: their hashes
/// and costs as this build knows them.
#[test]
fn the_readme_lists_the_known_documents_as_the_documents_command_prints_them() {
    let output = std::process::Command::new(crate::cli::BIN).arg("documents").output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8_lossy(&output.stdout);
    let readme = include_str!("../../README.md");
    let marker = "<!-- `knowledge-hub documents` -->\n";
    let start = readme.find(marker).expect("README.md marks the table") + marker.len();
    let listed: String = readme[start..]
        .lines()
        .take_while(|line| line.starts_with('|'))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(listed, table, "run `knowledge-hub documents` and put its table in README.md");
}
