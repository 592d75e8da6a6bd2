//! A real PostgreSQL server for the test binary, started on first use and stopped when the
//! test process ends.
//!
//! The server runs from the Debian binaries (`/usr/lib/postgresql/<version>/bin`, or `PG_BIN`) in
//! a temporary directory, on a free port, as the `postgres` user when the tests run as root
//! (PostgreSQL refuses to run as root). A template database is migrated and loaded once; each
//! test gets its own database cloned from it, which takes milliseconds.

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

use knowledge_hub::app::prepare_database;
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::{Mutex, OnceCell};

const TEMPLATE: &str = "hub_template";

static SERVER: OnceCell<Server> = OnceCell::const_new();
/// `CREATE DATABASE ... TEMPLATE` wants the template to itself; one clone at a time.
static CLONE_LOCK: Mutex<()> = Mutex::const_new(());
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

struct Server {
    port: u16,
}

impl Server {
    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

/// A fresh, migrated database with the reference data, owned by the calling test.
pub async fn fresh_database() -> String {
    let server = SERVER.get_or_init(start).await;
    let name = format!("test_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let admin = Database::connect(server.url("postgres")).await.expect("connect to the test server");
    {
        let _guard = CLONE_LOCK.lock().await;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
            .await
            .expect("clone the template database");
    }
    admin.close().await.expect("close the admin connection");
    server.url(&name)
}

/// A fresh, empty database (no migrations), owned by the calling test.
pub async fn empty_database() -> String {
    let server = SERVER.get_or_init(start).await;
    let name = format!("test_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let admin = Database::connect(server.url("postgres")).await.expect("connect to the test server");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .expect("create a database");
    admin.close().await.expect("close the admin connection");
    server.url(&name)
}

fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort();
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found: the test suite runs every test on PostgreSQL too. \
             Install them with `apt-get install postgresql` (they land \
             in /usr/lib/postgresql/<version>/bin), \
             or point PG_BIN at a directory holding initdb and pg_ctl."
        )
    })
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root.
fn run(as_postgres: bool, program: &Path, args: &[&str]) {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let output =
        command.args(args).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "{} {args:?} failed:\n{}{}",
        program.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// One PostgreSQL server process: its data directory, options and tools.
pub struct Instance {
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
    data: String,
    options: String,
    log: String,
}

impl Instance {
    /// initdb in a temporary directory named after `name` and this process, start the server,
    /// and leave a watcher that stops it and removes the directory when this process is gone.
    /// `crash_safe` servers acknowledge a commit only once its WAL is written, so that a commit
    /// survives `stop` (an immediate shutdown, like a crash); the shared server does not bother.
    fn launch(name: &str, crash_safe: bool) -> Self {
        let bin = bin_dir();
        let as_postgres = running_as_root();
        let dir = std::env::temp_dir().join(format!("knowledge-hub-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server directory");
        if as_postgres {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir).status();
            assert!(status.is_ok_and(|s| s.success()), "chown the server directory to postgres");
        }
        let data = dir.join("data").to_string_lossy().into_owned();
        let dir_s = dir.to_string_lossy().into_owned();
        run(
            as_postgres,
            &bin.join("initdb"),
            &["-D", &data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
        );
        let port = free_port();
        // fsync is off: the machine does not crash under a test, only the server process may.
        let synchronous_commit = if crash_safe { "on" } else { "off" };
        let options = format!(
            "-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c max_connections=400 \
             -c fsync=off -c synchronous_commit={synchronous_commit} -c full_page_writes=off"
        );
        let log = dir.join("server.log").to_string_lossy().into_owned();
        let instance = Self { port, bin, as_postgres, data, options, log };
        instance.start();

        // Stop the server when this test process is gone: statics are never dropped, so a small
        // watcher polls for our pid and then stops the server and removes its directory.
        let pg_ctl = instance.bin.join("pg_ctl").to_string_lossy().into_owned();
        let watcher = format!(
            "(while [ -d /proc/{pid} ]; do sleep 1; done; {pg_ctl} -D {data} -m immediate stop; \
             rm -rf {dir_s}) \
             </dev/null >/dev/null 2>&1 &",
            pid = std::process::id(),
            data = instance.data,
        );
        // The outer shell returns at once; the watcher runs on in the background.
        let status = if as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--", "sh", "-c", &watcher]).status()
        } else {
            Command::new("sh").args(["-c", &watcher]).status()
        };
        assert!(status.is_ok_and(|s| s.success()), "start the server watcher");
        instance
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let pg_ctl = self.bin.join("pg_ctl");
        run(
            self.as_postgres,
            &pg_ctl,
            &["-D", &self.data, "-o", &self.options, "-l", &self.log, "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash would (open connections are cut).
    pub fn stop(&self) {
        run(self.as_postgres, &self.bin.join("pg_ctl"), &["-D", &self.data, "-m", "immediate", "-w", "stop"]);
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

/// A server of the caller's own (to stop and start), with a migrated database `hub`; returns the
/// server and the database's URL.
pub async fn dedicated_server(name: &str) -> (Instance, String) {
    let instance = Instance::launch(name, true);
    let admin = Database::connect(instance.url("postgres")).await.expect("connect to the server");
    admin.execute_unprepared("CREATE DATABASE hub").await.expect("create the database");
    admin.close().await.expect("close the admin connection");
    let url = instance.url("hub");
    prepare_database(&url).await.expect("migrate").close().await.expect("close");
    (instance, url)
}

async fn start() -> Server {
    let instance = Instance::launch("pg", false);
    let server = Server { port: instance.port };
    let admin = Database::connect(server.url("postgres")).await.expect("connect to the test server");
    admin.execute_unprepared(&format!("CREATE DATABASE {TEMPLATE}")).await.expect("create the template");
    admin.close().await.expect("close the admin connection");
    let template = prepare_database(&server.url(TEMPLATE)).await.expect("migrate the template");
    template.close().await.expect("close the template");
    server
}
