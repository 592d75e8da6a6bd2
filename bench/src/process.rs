//! The servers under test run as child processes, so that their memory and CPU time can be read
//! from `/proc` apart from the load generator's.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
};

/// A server child process and the address it listens on; stopped on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
}

/// How long a server has to stop after SIGTERM before it is killed.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl Drop for Server {
    /// SIGTERM first, so that a server (or a profiler wrapping it, given as `--hub`) ends
    /// cleanly; SIGKILL if it is still running after a grace period.
    fn drop(&mut self) {
        let terminated = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok());
        if terminated {
            let started = std::time::Instant::now();
            while started.elapsed() < STOP_GRACE {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the child's output until a line naming `http://ADDR`, then keeps draining it.
fn wait_for_address(child: &mut Child, from_stderr: bool) -> Result<String, String> {
    let lines: Box<dyn BufRead + Send> = if from_stderr {
        Box::new(BufReader::new(child.stderr.take().ok_or("no stderr")?))
    } else {
        Box::new(BufReader::new(child.stdout.take().ok_or("no stdout")?))
    };
    let mut lines = lines.lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let rest = line.split("http://").nth(1)?;
            Some(rest.split(['/', ' ', '"', ')']).next()?.to_owned())
        })
        .ok_or("the server stopped before it listened")?;
    std::thread::spawn(move || lines.for_each(drop));
    Ok(format!("http://{address}"))
}

/// Starts the hub binary on `database_url`, with rate limits lifted (the load comes from one
/// address) and logs at warnings only.
pub fn start_hub(binary: &str, database_url: &str) -> Result<Server, String> {
    start_hub_with(binary, database_url, &[])
}

/// [`start_hub`] with more arguments to `serve` (N1's SMTP and webhook settings).
pub fn start_hub_with(binary: &str, database_url: &str, args: &[&str]) -> Result<Server, String> {
    let mut child = Command::new(binary)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("HUB_RATE_LIMIT", "4000000000")
        .env("HUB_PUBLIC_RATE_LIMIT", "4000000000")
        .env("RUST_LOG", "knowledge_hub=info,warn")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {binary}: {e}"))?;
    let base = wait_for_address(&mut child, true)?;
    Ok(Server { child, base })
}

/// Starts this program's raw baseline server on `database_url`.
pub fn start_baseline(database_url: &str) -> Result<Server, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(me)
        .args(["baseline-serve", "--database-url", database_url])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the baseline: {e}"))?;
    let base = wait_for_address(&mut child, false)?;
    Ok(Server { child, base })
}

/// Pins every thread of the process `pid` to the CPU `core` (threads it starts later inherit
/// it from their parent).
pub fn pin(pid: u32, core: usize) -> Result<(), String> {
    let mut cpus = rustix::thread::CpuSet::new();
    cpus.set(core);
    let tasks =
        std::fs::read_dir(format!("/proc/{pid}/task")).map_err(|e| format!("no threads of {pid}: {e}"))?;
    for task in tasks.flatten() {
        let thread =
            task.file_name().to_str().and_then(|t| t.parse().ok()).and_then(rustix::process::Pid::from_raw);
        if let Some(thread) = thread {
            rustix::thread::sched_setaffinity(Some(thread), &cpus)
                .map_err(|e| format!("cannot pin thread {thread:?} of {pid} to CPU {core}: {e}"))?;
        }
    }
    Ok(())
}

/// CPU time (user + system) of a process, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    stat_ticks(&stat, false).map_or(0.0, |(_, ticks)| ticks / 100.0)
}

/// The command name of a `/proc/<pid>/stat` line and its CPU ticks: utime and stime (fields 14
/// and 15 of the line), with `children` also cutime and cstime (16 and 17).
fn stat_ticks(stat: &str, children: bool) -> Option<(&str, f64)> {
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(').map_or(head, |(_, name)| name);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let count = if children { 4 } else { 2 };
    let ticks = fields.iter().skip(11).take(count).filter_map(|v| v.parse::<f64>().ok()).sum();
    Some((name, ticks))
}

/// CPU time (user + system) of every process named `postgres` on this machine, in seconds, the
/// backends that have exited included (in their parent's count of its children): the database
/// server's CPU, when it runs here.
pub fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    let mut ticks = 0.0;
    for entry in entries.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        if let Some(("postgres", own)) = stat_ticks(&stat, true) {
            ticks += own;
        }
    }
    ticks / 100.0
}

/// Resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    status_mib(pid, "VmRSS:")
}

/// Resident anonymous memory of a process (its heap and stacks, not the files it maps, such as
/// SQLite's memory-mapped database), in MiB.
pub fn rss_anon_mib(pid: u32) -> f64 {
    status_mib(pid, "RssAnon:")
}

/// A figure in kB of `/proc/<pid>/status`, in MiB.
fn status_mib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix(field).map(|v| v.trim().trim_end_matches("kB").trim().to_owned())
            })
        })
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A counter from the hub's `/metrics`.
pub async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else { return 0.0 };
    let text = response.text().await.unwrap_or_default();
    text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok()).unwrap_or(0.0)
}

/// Makes a person with one membership and prints their token, with the hub's own command line
/// (`token create`) on `database_url`; `role_args` are e.g. `["--role", "institution-member",
/// "--institution", "uib"]`. Run it before the hub starts (SQLite has one writer).
pub fn create_token(
    hub: &str,
    database_url: &str,
    name: &str,
    email: &str,
    role_args: &[&str],
) -> Result<String, String> {
    let output = Command::new(hub)
        .args(["token", "create", "--name", name, "--email", email])
        .args(role_args)
        .args(["--token-name", "knowledge-hub-bench", "--database-url", database_url])
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|e| format!("cannot run {hub} token create: {e}"))?;
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || token.is_empty() {
        return Err(format!("{hub} token create failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(token)
}
