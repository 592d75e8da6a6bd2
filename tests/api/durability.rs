//! Crash safety and concurrency: acknowledged writes survive `kill -9` on both databases and the
//! hub restarts with no manual step; a live SQLite database can be backed up; concurrent writers
//! get exactly-once outcomes and never "database is locked".

use std::{
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use async_graphql::futures_util::future::join_all;
use knowledge_hub::config::RoleArg;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};

use crate::{
    cli::{BIN, Server},
    helpers::{Backend, TestApp, both_databases, cast, need_input},
};

const SUBMIT: &str =
    "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } userErrors { code } } }";

fn need(title: &str, theme: &Value) -> Value {
    json!({ "input": need_input(title, theme) })
}

/// Creates a municipality member's token with the command line, as an operator would.
fn cli_token(dir: &std::path::Path, database_url: Option<&str>) -> String {
    let mut command = Command::new(BIN);
    command.current_dir(dir).args([
        "token",
        "create",
        "--name",
        "Ingrid Berg",
        "--email",
        "ingrid@example.no",
    ]);
    command.args(["--role", "municipality-member", "--municipality", "4601"]);
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

async fn post(
    client: &reqwest::Client,
    addr: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Option<Value> {
    let response = client
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

/// Writes from 16 concurrent clients, kills the server with SIGKILL in the middle of it, restarts
/// it and checks that every acknowledged need is there.
async fn acknowledged_writes_survive_kill_9(dir: &std::path::Path, database_url: Option<&str>) {
    let token = cli_token(dir, database_url);
    let mut server = Server::start_on(dir, database_url);
    let client = reqwest::Client::new();
    let themes =
        post(&client, &server.addr, &token, "{ themes(first: 1) { nodes { id } } }", json!({})).await;
    let theme = themes.expect("themes")["data"]["themes"]["nodes"][0]["id"].clone();

    let acknowledged = Arc::new(Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..16)
        .map(|writer| {
            let (client, addr, token, theme) =
                (client.clone(), server.addr.clone(), token.clone(), theme.clone());
            let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let title = format!("Skriv {writer} nr {n}");
                    match post(&client, &addr, &token, SUBMIT, need(&title, &theme)).await {
                        Some(body) if body.get("errors").is_none() => {
                            let id = body["data"]["submitNeed"]["need"]["id"].clone();
                            assert!(id.is_string(), "{body}");
                            acknowledged.lock().expect("lock").push(id);
                        }
                        // A response with errors while the server runs is a failure; after the kill
                        // there is no response at all.
                        Some(body) => panic!("a write failed: {body}"),
                        None => break,
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().expect("lock").len() < 150 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("dead");
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("a writer");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();

    // Restart with no manual step: every acknowledged need is there.
    let server = Server::start_on(dir, database_url);
    for ids in acknowledged.chunks(100) {
        let body = post(
            &client,
            &server.addr,
            &token,
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await
        .expect("an answer");
        let found: Vec<Value> =
            body["data"]["nodes"].as_array().expect("nodes").iter().map(|n| n["id"].clone()).collect();
        assert_eq!(found, ids, "every acknowledged write survived");
    }
    drop(server);
}

/// The first column of the first row of `sql` on the SQLite file at `path`.
async fn sqlite_value<T: sea_orm::TryGetable>(path: &std::path::Path, sql: &str) -> T {
    let db = knowledge_hub::db::Db::connect(&format!("sqlite:{}", path.display())).await.expect("opens");
    let row = db
        .background()
        .query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql))
        .await
        .expect("runs")
        .expect("a row");
    row.try_get_by_index::<T>(0).expect("a value")
}

async fn integrity_check(path: &std::path::Path) -> String {
    sqlite_value(path, "PRAGMA integrity_check").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_on_sqlite_and_a_live_backup_is_consistent() {
    let dir = tempfile::tempdir().expect("dir");
    acknowledged_writes_survive_kill_9(dir.path(), None).await;
    assert_eq!(integrity_check(&dir.path().join("knowledge-hub.db")).await, "ok");

    // A backup of the live database (the hub keeps serving while it runs).
    let server = Server::start(dir.path());
    let output =
        Command::new(BIN).current_dir(dir.path()).args(["backup", "copy.db"]).output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let copy = dir.path().join("copy.db");
    assert_eq!(integrity_check(&copy).await, "ok");
    let needs = "SELECT COUNT(*) FROM need";
    assert_eq!(
        sqlite_value::<i64>(&copy, needs).await,
        sqlite_value::<i64>(&dir.path().join("knowledge-hub.db"), needs).await
    );
    // It never overwrites, and PostgreSQL has its own tools.
    let again = Command::new(BIN).current_dir(dir.path()).args(["backup", "copy.db"]).output().expect("runs");
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let postgres = Command::new(BIN)
        .current_dir(dir.path())
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .args(["backup", "pg.db"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&postgres.stderr).contains("pg_dump"));
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_on_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let dir = tempfile::tempdir().expect("dir");
    acknowledged_writes_survive_kill_9(dir.path(), Some(&app.database_url)).await;
}

#[both_databases]
async fn fifty_concurrent_updates_at_one_version_let_exactly_one_through(app: TestApp) {
    let c = cast(&app).await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let submitted = app.data_as(&c.bergen, SUBMIT, need("Fallforebygging", &theme)).await;
    let need = submitted["submitNeed"]["need"]["id"].clone();
    let update = "mutation($input: UpdateNeedInput!) { updateNeed(input: $input) { need { version } \
                  userErrors { code } } }";
    let answers = join_all((0..50).map(|n| {
        app.data_as(
            &c.bergen,
            update,
            json!({ "input": { "need": need, "version": 1, "title": format!("Ny tittel {n}") } }),
        )
    }))
    .await;
    let won = answers.iter().filter(|a| a["updateNeed"]["userErrors"] == json!([])).count();
    let conflicts =
        answers.iter().filter(|a| a["updateNeed"]["userErrors"] == json!([{ "code": "CONFLICT" }])).count();
    assert_eq!((won, conflicts), (1, 49), "{answers:?}");
    let version = app
        .data_as(
            &c.bergen,
            "query($id: ID!) { node(id: $id) { ... on Need { version } } }",
            json!({ "id": need }),
        )
        .await;
    assert_eq!(version["node"]["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_writers_on_sqlite_all_succeed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let answers = join_all(
        (0..200).map(|n| app.query_as(&token, SUBMIT, need(&format!("Samtidig skriving {n}"), &theme))),
    )
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 200);
        assert!(body.get("errors").is_none(), "no \"database is locked\" reaches a client: {body}");
        assert_eq!(body["data"]["submitNeed"]["userErrors"], json!([]));
    }
}
