//! `TestApp`: the real application on port 0 against a database of its own, driven over HTTP.

use std::net::SocketAddr;

use knowledge_hub::{
    app::Application,
    config::{LogFormat, Settings},
    db::Db,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::postgres;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub database_url: String,
    pub client: reqwest::Client,
    db: Db,
    _shutdown: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        // `HUB_TEST_LOG=1 RUST_LOG=knowledge_hub::sql=trace cargo test NAME -- --nocapture` shows
        // every statement a test runs.
        if std::env::var_os("HUB_TEST_LOG").is_some() {
            knowledge_hub::telemetry::init(LogFormat::Pretty);
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database_url = match backend {
            Backend::Sqlite => format!("sqlite:{}", dir.path().join("hub.db").display()),
            Backend::Postgres => postgres::fresh_database().await,
        };
        let settings = Settings {
            database_url: database_url.clone(),
            bind: "127.0.0.1:0".parse().expect("an address"),
            log_format: LogFormat::Pretty,
            // A debug build under a parallel test run can take longer than the default 1 ms to
            // resolve a page, which would split a batch; statement counts must not depend on timing.
            batch_window_ms: 25,
        };
        let app = Application::build(&settings).await.expect("the app starts");
        let addr = app.local_addr().expect("a bound address");
        let db = app.db().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self { addr, database_url, client: reqwest::Client::new(), db, _shutdown: shutdown, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a GraphQL document and returns the whole response (`data` and `errors`).
    pub async fn query(&self, query: &str) -> Value {
        self.query_with(query, json!({})).await
    }

    pub async fn query_with(&self, query: &str, variables: Value) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request is sent");
        assert_eq!(response.status(), 200, "GraphQL responses are 200");
        response.json().await.expect("a JSON response")
    }

    /// Sends a document that must succeed, and returns its `data`.
    pub async fn data(&self, query: &str) -> Value {
        let response = self.query(query).await;
        assert!(response.get("errors").is_none(), "unexpected errors: {response:#}");
        response["data"].clone()
    }

    /// SQL statements the app's pool has executed so far.
    pub fn statements(&self) -> u64 {
        self.db.statements_executed()
    }
}

/// The `extensions.code` of every error in a response.
pub fn error_codes(response: &Value) -> Vec<String> {
    response["errors"]
        .as_array()
        .map(|errors| {
            errors.iter().map(|e| e["extensions"]["code"].as_str().unwrap_or("<none>").to_owned()).collect()
        })
        .unwrap_or_default()
}

/// Defines each test twice, once per database: `name::sqlite` and `name::postgres`.
macro_rules! on_both_databases {
    ($(
        $(#[$meta:meta])*
        async fn $name:ident($app:ident) $body:block
    )*) => {$(
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::helpers::TestApp) $body

            #[tokio::test]
            async fn sqlite() {
                run($crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await).await;
            }

            #[tokio::test]
            async fn postgres() {
                run($crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await).await;
            }
        }
    )*};
}
pub(crate) use on_both_databases;
