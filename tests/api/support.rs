//! The node package in `tests/support/` (pinned by its lockfile, installed with `npm ci` once
//! per test run, and again only when the lockfile changes) and the real servers it provides:
//! [`SmtpSink`], an SMTP server that keeps every mail it receives.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
    time::Duration,
};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

/// A copy of the lockfile `npm ci` installed, kept in `node_modules`.
const STAMP: &str = ".hub-lock-stamp";

/// `tests/support/`, with its packages installed.
pub fn node_support() -> PathBuf {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let lockfile = std::fs::read(dir.join("package-lock.json")).expect("tests/support/package-lock.json");
    let stamp = dir.join("node_modules").join(STAMP);
    if std::fs::read(&stamp).is_ok_and(|installed| installed == lockfile) {
        return dir;
    }
    let status = std::process::Command::new("npm")
        .current_dir(&dir)
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .status()
        .expect("npm runs (install Node.js and npm)");
    assert!(status.success(), "npm ci in tests/support failed");
    std::fs::write(&stamp, &lockfile).expect("the stamp is written");
    dir
}

/// How long a test waits for a mail to arrive.
const PATIENCE: Duration = Duration::from_secs(15);

/// A real SMTP server (npm `smtp-server`, no TLS, no login) on a free port of 127.0.0.1; every
/// mail it accepts is kept, parsed by npm `mailparser`. Stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    mails: PathBuf,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let support = tokio::task::spawn_blocking(node_support).await.expect("installed");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mails = dir.path().join("mails.jsonl");
        let mut child = tokio::process::Command::new("node")
            .current_dir(&support)
            .arg("smtp-sink.js")
            .arg(&mails)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the sink starts in time")
            .expect("its output")
            .expect("a line");
        let port = line.strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("`listening PORT`");
        Self { port, mails, _child: child, _dir: dir }
    }

    /// The mails received so far, oldest first.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.mails)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON line"))
            .collect()
    }

    /// Waits until `count` mails were received; returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Settings that send through this sink.
    pub fn settings(&self) -> knowledge_hub::config::MailSettings {
        knowledge_hub::config::MailSettings {
            smtp_host: Some("127.0.0.1".into()),
            smtp_port: Some(self.port),
            smtp_security: knowledge_hub::config::SmtpSecurity::None,
            mail_from: "Kunnskapshuben <varsel@hub.example.no>".into(),
            ..Default::default()
        }
    }
}
