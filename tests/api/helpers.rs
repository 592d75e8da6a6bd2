//! `TestApp`: the real application on port 0 against a database of its own, driven over HTTP.

use std::net::SocketAddr;

use knowledge_hub::{
    app::Application,
    config::{CreateToken, LogFormat, RoleArg, Settings},
    db::Db,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::postgres;

/// `#[both_databases] async fn name(app: TestApp)` defines the test twice, once per database:
/// `name::sqlite` and `name::postgres`.
pub(crate) use knowledge_hub_testing_macros::both_databases;

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
    shutdown: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

/// Settings of an instance that runs no notification workers: for tests that work the queue
/// themselves.
pub fn without_workers(settings: &mut Settings) {
    settings.notify_workers = false;
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Spawns with settings changed from the tests' defaults.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> Self {
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
        Self::start(database_url, dir, adjust).await
    }

    /// An instance on a database the caller made (a dedicated PostgreSQL server, say).
    pub async fn spawn_on(database_url: String, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::start(database_url, tempfile::tempdir().expect("a temporary directory"), adjust).await
    }

    /// A second instance on the same database (PostgreSQL: how the hub scales out).
    pub async fn another_instance(&self) -> Self {
        Self::start(self.database_url.clone(), tempfile::tempdir().expect("a temporary directory"), |_| {})
            .await
    }

    async fn start(database_url: String, dir: tempfile::TempDir, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = Settings {
            database_url: database_url.clone(),
            bind: "127.0.0.1:0".parse().expect("an address"),
            log_format: LogFormat::Pretty,
            // A debug build under a parallel test run can take longer than the default 1 ms to
            // resolve a page, which would split a batch; statement counts must not depend on timing.
            allowed_origins: vec!["https://dashboard.example.no".to_owned()],
            ws_init_timeout_secs: 1,
            ws_ping_secs: 1,
            ws_send_timeout_secs: 1,
            // Generous: the tests of rate limiting set their own budgets.
            db_max_connections: None,
            db_acquire_timeout_ms: 3_000,
            rate_limit: 1_000_000,
            public_rate_limit: 1_000_000,
            // Rounds past their closing time close within a second.
            round_check_secs: 1,
            max_response_bytes: 8 * 1024 * 1024,
            header_timeout_secs: 10,
            idle_timeout_secs: 60,
            max_connections: None,
            mail: Default::default(),
            documents: Default::default(),
            webhooks_allow_private_addresses: false,
            notify_workers: true,
            notify_poll_ms: 200,
            notify_lease_secs: 120,
        };
        adjust(&mut settings);
        let app = Application::build(&settings).await.expect("the app starts");
        let addr = app.local_addr().expect("a bound address");
        let db = app.db().clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self { addr, database_url, client: reqwest::Client::new(), db, shutdown: Some(shutdown), _dir: dir }
    }

    /// Stops the server gracefully, as SIGTERM does.
    pub fn shut_down(&mut self) {
        self.shutdown.take();
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

    /// Sends a document with `Authorization: Bearer <token>`; returns the HTTP status and the body.
    pub async fn query_as(&self, token: &str, query: &str, variables: Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("the request is sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON response"))
    }

    /// A document as `token` that must succeed; returns its `data`.
    pub async fn data_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.query_as(token, query, variables).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// A person with one membership and a token, made the way `knowledge-hub token create` makes them.
    pub async fn token_for(&self, name: &str, role: RoleArg, organisation: &str) -> String {
        let email = format!("{}@example.no", name.to_lowercase().replace(' ', "."));
        let args = CreateToken::for_role(name, &email, role, organisation, "test");
        knowledge_hub::bootstrap::create_token(&self.db, &args).await.expect("a token")
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Adds a second region, "rso-nord", covering Nordland (18), with one cluster (Bodø, 1804, in
    /// it) and one institution, for cross-region tests; the organisation tree follows.
    pub async fn add_second_region(&self) {
        use entity::{
            cluster, county,
            enums::{InstitutionKind, OrganisationKind},
            institution, municipality, organisation, partnership, partnership_member,
        };
        use knowledge_hub::db::organisations::tree;
        use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

        async fn organisation(
            txn: &sea_orm::DatabaseTransaction,
            kind: OrganisationKind,
            key: &str,
            name: &str,
            parent: Option<i32>,
        ) -> i32 {
            let made = organisation::ActiveModel {
                kind: Set(kind),
                key: Set(Some(key.into())),
                name: Set(name.into()),
                parent_id: Set(parent),
                created_at: Set(chrono::Utc::now()),
                ..Default::default()
            }
            .insert(txn)
            .await
            .expect("organisation");
            tree::attach(txn, made.id, parent).await.expect("in the tree");
            made.id
        }

        let txn = self.db.begin_write().await.expect("a transaction");
        let ksf = organisation::Entity::find()
            .filter(organisation::Column::Key.eq("ksf"))
            .one(&txn)
            .await
            .expect("read")
            .expect("the national organisation");
        let region_organisation =
            organisation(&txn, OrganisationKind::Region, "rso-nord", "RSO Nord", Some(ksf.id)).await;
        // The region's RSO, run by the region's organisation.
        let region = partnership::ActiveModel {
            key: Set("rso-nord".into()),
            name: Set("RSO Nord".into()),
            organisation_id: Set(Some(region_organisation)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .expect("region");
        let nordland = county::Entity::find()
            .filter(county::Column::Code.eq("18"))
            .one(&txn)
            .await
            .expect("read")
            .expect("Nordland");
        let nordland_organisation = nordland.organisation_id.expect("Nordland's organisation");
        county::ActiveModel {
            id: Set(nordland.id),
            partnership_id: Set(Some(region.id)),
            ..Default::default()
        }
        .update(&txn)
        .await
        .expect("Nordland in rso-nord");
        tree::reparent(&txn, nordland_organisation, Some(region_organisation)).await.expect("moved");
        let cluster_organisation = organisation(
            &txn,
            OrganisationKind::Cluster,
            "nord-cluster",
            "Nordklyngen",
            Some(region_organisation),
        )
        .await;
        let cluster = cluster::ActiveModel {
            key: Set("nord-cluster".into()),
            partnership_id: Set(region.id),
            name: Set("Nordklyngen".into()),
            area: Set("Salten".into()),
            organisation_id: Set(Some(cluster_organisation)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .expect("cluster");
        let bodo = municipality::Entity::find()
            .filter(municipality::Column::Code.eq("1804"))
            .one(&txn)
            .await
            .expect("read")
            .expect("Bodø");
        let bodo_organisation = bodo.organisation_id.expect("Bodø's organisation");
        municipality::ActiveModel {
            id: Set(bodo.id),
            cluster_id: Set(Some(cluster.id)),
            ..Default::default()
        }
        .update(&txn)
        .await
        .expect("Bodø in the cluster");
        tree::reparent(&txn, bodo_organisation, Some(cluster_organisation)).await.expect("moved");
        let institution_organisation =
            organisation(&txn, OrganisationKind::Institution, "nord", "Nord universitet", None).await;
        institution::ActiveModel {
            key: Set("nord".into()),
            partnership_id: Set(region.id),
            short_name: Set("Nord".into()),
            name: Set("Nord universitet".into()),
            kind: Set(InstitutionKind::University),
            organisation_id: Set(Some(institution_organisation)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .expect("institution");
        // The RSO takes needs from its region, and Nord universitet takes part in it.
        for (member, accepts_needs) in [(region_organisation, true), (institution_organisation, false)] {
            partnership_member::ActiveModel {
                partnership_id: Set(region.id),
                organisation_id: Set(member),
                accepts_needs: Set(accepts_needs),
                created_at: Set(chrono::Utc::now()),
            }
            .insert(&txn)
            .await
            .expect("a member of rso-nord");
        }
        txn.commit().await.expect("commit");
    }

    /// SQL statements the app's pool has executed so far.
    pub fn statements(&self) -> u64 {
        self.db.statements_executed()
    }

    /// Every row of every table (but the "last used" stamps of tokens, written off the request
    /// path, and the audit log, which records refusals too), to show that a refused request
    /// changed nothing.
    pub async fn fingerprint(&self) -> Vec<Value> {
        self.rows(TABLES).await
    }

    /// Every row of the audit log.
    pub async fn audit_rows(&self) -> Vec<Value> {
        self.rows(&["audit_event"]).await
    }

    async fn rows(&self, tables: &[&str]) -> Vec<Value> {
        use sea_orm::{FromQueryResult, JsonValue, Statement};
        let conn = self.db.background();
        let mut rows = Vec::new();
        for table in tables {
            let statement = Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT * FROM {table} ORDER BY 1"),
            );
            for mut row in JsonValue::find_by_statement(statement).all(conn).await.expect("rows") {
                if let Some(object) = row.as_object_mut() {
                    object.remove("last_used_at");
                    // The notification workers clear it in the background, after the request.
                    object.remove("notify_pending");
                }
                rows.push(json!({ *table: row }));
            }
        }
        rows
    }
}

/// The people most tests act as, each with a token: one in every role of RSO Vest, and the
/// municipalities the tests of needs, rounds and commissions move between.
pub struct Cast {
    /// Kari Nordmann, coordinator of RSO Vest.
    pub coordinator: String,
    /// Ola Hansen, coordinator of the cluster Kunnskapskommunen (Bergen and Askøy are in it).
    pub cluster_coordinator: String,
    /// Siv Sande, coordinator of the cluster Sør-Rogaland (Stavanger is in it).
    pub other_cluster_coordinator: String,
    /// Sofie Dahl, member of the institution UiB.
    pub institution: String,
    /// Ingrid Berg, member of Bergen (4601).
    pub bergen: String,
    /// Lars Vik, member of Askøy (4627).
    pub askoy: String,
    /// Eva Stav, member of Stavanger (1103).
    pub stavanger: String,
    /// Per Berg, a second member of Bergen.
    pub bergen_colleague: String,
}

/// Makes the cast, always in the same order.
pub async fn cast(app: &TestApp) -> Cast {
    Cast {
        coordinator: app.token_for("Kari Nordmann", RoleArg::Coordinator, "rso-vest").await,
        cluster_coordinator: app.token_for("Ola Hansen", RoleArg::UnitCoordinator, "kunnskapskommunen").await,
        other_cluster_coordinator: app.token_for("Siv Sande", RoleArg::UnitCoordinator, "sor-rogaland").await,
        institution: app.token_for("Sofie Dahl", RoleArg::InstitutionMember, "uib").await,
        bergen: app.token_for("Ingrid Berg", RoleArg::UnitMember, "4601").await,
        askoy: app.token_for("Lars Vik", RoleArg::UnitMember, "4627").await,
        stavanger: app.token_for("Eva Stav", RoleArg::UnitMember, "1103").await,
        bergen_colleague: app.token_for("Per Berg", RoleArg::UnitMember, "4601").await,
    }
}

/// The tables of the hub (reference data, identity, needs, rounds, commissions, audit).
const TABLES: &[&str] = &[
    "partnership",
    "organisation",
    "county",
    "cluster",
    "municipality",
    "institution",
    "theme",
    "product_type",
    "criterion",
    "person",
    "membership",
    "api_token",
    "need",
    "need_theme",
    "need_cosign",
    "need_event",
    "need_evidence",
    "round",
    "round_candidate",
    "round_criterion",
    "round_score",
    "commission",
    "commission_need",
    "commission_interest",
    "commission_event",
    "milestone",
    "summary",
    "uptake",
];

/// A valid `SubmitNeedInput` with `title` and one theme; tests add or change fields.
pub fn need_input(title: &str, theme: &Value) -> Value {
    json!({
        "title": title,
        "question": "Eit spørsmål som er langt nok?",
        "background": "b",
        "intendedUse": "u",
        "targetGroup": "t",
        "themes": [theme],
    })
}

/// The `code` of every user error in a mutation payload.
pub fn user_error_codes(payload: &Value) -> Vec<String> {
    payload["userErrors"]
        .as_array()
        .map(|errors| errors.iter().map(|e| e["code"].as_str().unwrap_or("<none>").to_owned()).collect())
        .unwrap_or_default()
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
