//! The node package in `tests/support/` (pinned by its lockfile, installed with `npm ci` once
//! per test run, and again only when the lockfile changes) and the real servers it provides:
//! [`SmtpSink`], an SMTP server that keeps every mail it receives, and [`WebhookReceiver`], an
//! HTTP server that verifies each webhook with the Standard Webhooks reference library.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines},
    process::{Child, ChildStdin, ChildStdout, Command},
};

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
    _child: Child,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub async fn start() -> Self {
        Self::answering_after(Duration::ZERO).await
    }

    /// A sink that keeps each mail at once but answers 250 only after `delay`.
    pub async fn answering_after(delay: Duration) -> Self {
        let support = tokio::task::spawn_blocking(node_support).await.expect("installed");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mails = dir.path().join("mails.jsonl");
        let mut child = Command::new("node")
            .current_dir(&support)
            .arg("smtp-sink.js")
            .arg(&mails)
            .arg(delay.as_millis().to_string())
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

/// A real webhook receiver (`webhook-receiver.mjs`: node's HTTP server on a free port of 127.0.0.1,
/// verifying each request with npm `standardwebhooks`, the specification's reference library),
/// programmed through its stdin, read through its stdout. Stopped when dropped.
pub struct WebhookReceiver {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pub port: u16,
}

impl WebhookReceiver {
    pub async fn start() -> Self {
        let dir = tokio::task::spawn_blocking(node_support).await.expect("installed");
        let mut child = Command::new("node")
            .arg("webhook-receiver.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().expect("stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver listens in time")
            .expect("a line")
            .expect("the receiver's port");
        let port = serde_json::from_str::<Value>(&first).expect("JSON")["port"].as_u64().expect("a port");
        Self { _child: child, stdin, lines, port: u16::try_from(port).expect("a port") }
    }

    /// The URL the hub is to deliver to, by address or by name.
    pub fn url(&self, host: &str) -> String {
        format!("http://{host}:{}/hook", self.port)
    }

    /// Verify with each of `secrets`; answer `fail_status` to the first `fail_first` requests.
    pub async fn program(&mut self, secrets: &[&str], fail_first: u32, fail_status: u16) {
        let line = json!({ "secrets": secrets, "failFirst": fail_first, "failStatus": fail_status });
        self.stdin.write_all(format!("{line}\n").as_bytes()).await.expect("programmed");
        self.stdin.flush().await.expect("flushed");
        // The receiver reads its stdin as it comes; give it a moment before the next request.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    /// The next request it received, or `None` within `wait`.
    pub async fn received(&mut self, wait: Duration) -> Option<Value> {
        let line = tokio::time::timeout(wait, self.lines.next_line()).await.ok()?.expect("a line")?;
        Some(serde_json::from_str(&line).expect("JSON"))
    }
}
