//! The command line as a user runs it: help, schema, migrate, and serve with a clean shutdown.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_knowledge-hub");

#[test]
fn help_lists_the_commands_and_settings() {
    let output = Command::new(BIN).arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["serve", "migrate", "schema", "audit", "DATABASE_URL", "HUB_BIND", "HUB_LOG_FORMAT"] {
        assert!(help.contains(word), "{word} in {help}");
    }
}

#[test]
fn schema_prints_the_sdl() {
    let output = Command::new(BIN).arg("schema").output().expect("runs");
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), knowledge_hub::graphql::schema::sdl());
}

#[test]
fn migrate_is_idempotent_and_a_bad_url_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite:{}", dir.path().join("hub.db").display());
    for _ in 0..2 {
        let output = Command::new(BIN).arg("migrate").env("DATABASE_URL", &url).output().expect("runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let output = Command::new(BIN).arg("migrate").env("DATABASE_URL", "mysql://nope").output().expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL must start with"));
}

/// A running `knowledge-hub serve` on a free port in `dir`, with JSON logs; killed on drop.
pub(crate) struct Server {
    pub(crate) child: std::process::Child,
    pub(crate) addr: String,
}

impl Server {
    pub(crate) fn start(dir: &std::path::Path) -> Self {
        Self::start_on(dir, None)
    }

    /// Starts the hub in `dir` on the default SQLite file, or on `database_url`.
    pub(crate) fn start_on(dir: &std::path::Path, database_url: Option<&str>) -> Self {
        let mut command = Command::new(BIN);
        command.current_dir(dir).args(["--bind", "127.0.0.1:0", "--log-format", "json"]);
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.stderr(Stdio::piped()).spawn().expect("starts");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let listening = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.contains("listening on"))
            .expect("a listening line");
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let line: serde_json::Value = serde_json::from_str(&listening).expect("JSON logs");
        let message = line["message"].as_str().expect("a message");
        let addr = message
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .expect("an address in the listening line")
            .to_owned();
        Self { child, addr }
    }

    /// Sends a GraphQL document over HTTP, with a token if given.
    fn query(&self, token: Option<&str>, query: &str) -> serde_json::Value {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let mut request = reqwest::Client::new()
                .post(format!("http://{}/graphql", self.addr))
                .json(&serde_json::json!({ "query": query }));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            request.send().await.expect("sent").json().await.expect("JSON")
        })
    }

    fn viewer_name(&self, token: &str) -> Option<String> {
        let body = self.query(Some(token), "{ viewer { person { name } } }");
        body["data"]["viewer"]["person"]["name"].as_str().map(str::to_owned)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn token_create_bootstraps_a_coordinator_whose_token_works_over_http() {
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(BIN)
        .current_dir(dir.path())
        .args(["token", "create", "--name", "Kari Nordmann", "--email", "kari@example.no"])
        .args(["--role", "coordinator", "--region", "rso-vest"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(token.starts_with("khub_"), "only the token on stdout: {token}");
    // Wrong flags are clear errors.
    let output = Command::new(BIN)
        .current_dir(dir.path())
        .args(["token", "create", "--name", "X", "--email", "x@example.no", "--role", "cluster-coordinator"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs --organisation"));
    // A unit of any kind, by its official number; an institution is not a unit.
    let output = Command::new(BIN)
        .current_dir(dir.path())
        .args(["token", "create", "--name", "Jonas Lie", "--email", "jonas@example.no"])
        .args(["--role", "unit-member", "--organisation", "030115"])
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let district_token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let output = Command::new(BIN)
        .current_dir(dir.path())
        .args(["token", "create", "--name", "X", "--email", "x@example.no", "--role", "unit-member"])
        .args(["--organisation", "uib"])
        .output()
        .expect("runs");
    assert!(!output.status.success(), "an institution holds no unit role");

    let server = Server::start(dir.path());
    assert_eq!(server.viewer_name(&token).as_deref(), Some("Kari Nordmann"));
    assert_eq!(server.viewer_name(&district_token).as_deref(), Some("Jonas Lie"));
}

#[test]
fn demo_prints_a_working_token_for_every_role() {
    let dir = tempfile::tempdir().expect("dir");
    let output = Command::new(BIN).current_dir(dir.path()).arg("demo").output().expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let tokens: Vec<&str> = stdout.split_whitespace().filter(|w| w.starts_with("khub_")).collect();
    assert_eq!(tokens.len(), 11, "{stdout}");
    for role in ["Coordinator", "UnitCoordinator", "UnitMember", "InstitutionMember"] {
        assert!(stdout.contains(role), "{role} in {stdout}");
    }
    // Running it again is fine: the people are there already, new tokens are printed.
    let again = Command::new(BIN).current_dir(dir.path()).arg("demo").output().expect("runs");
    assert!(again.status.success());

    let server = Server::start(dir.path());
    for token in &tokens {
        assert!(server.viewer_name(token).is_some(), "{token} works");
    }
    // A handful of needs in several states, loaded once however often the demo runs.
    let public = server.query(
        None,
        r#"{ needStats { total byStatus { status count } }
             oslo: needs(filter: { organisation: "0301" }) { nodes { partnership { key } status } } }"#,
    );
    assert_eq!(public["data"]["needStats"]["total"], 6, "{public}");
    let statuses = public["data"]["needStats"]["byStatus"].to_string();
    assert!(statuses.contains("ACCEPTED") && statuses.contains("RETURNED") && statuses.contains("SUBMITTED"));
    // Two in Oslo's districts, each in the pool of its partnership.
    assert_eq!(
        public["data"]["oslo"]["nodes"],
        serde_json::json!([
            { "partnership": { "key": "universitetskommunen-oslo" }, "status": "SUBMITTED" },
            { "partnership": { "key": "omradesatsingene" }, "status": "ACCEPTED" },
        ]),
        "{public}"
    );
}

#[test]
fn serve_logs_json_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = Server::start(dir.path());
    assert!(
        dir.path().join("knowledge-hub.db").exists(),
        "the default database is a file in the working directory"
    );
    let status =
        Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "exits 0 after SIGTERM: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not stop within 5 seconds of SIGTERM");
}
