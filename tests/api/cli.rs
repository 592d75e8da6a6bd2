//! The command line as a user runs it: help, schema, migrate, and serve with a clean shutdown.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

const BIN: &str = env!("CARGO_BIN_EXE_knowledge-hub");

#[test]
fn help_lists_the_commands_and_settings() {
    let output = Command::new(BIN).arg("--help").output().expect("runs");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["serve", "migrate", "schema", "DATABASE_URL", "HUB_BIND", "HUB_LOG_FORMAT"] {
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

#[test]
fn serve_logs_json_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let listening = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|line| line.contains("listening on"))
        .expect("a listening line");
    let line: serde_json::Value = serde_json::from_str(&listening).expect("JSON logs");
    assert!(line["message"].as_str().is_some_and(|m| m.contains("http://127.0.0.1:")));
    assert!(
        dir.path().join("knowledge-hub.db").exists(),
        "the default database is a file in the working directory"
    );
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    for _ in 0..100 {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exits 0 after SIGTERM: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the server did not stop within 5 seconds of SIGTERM");
}
