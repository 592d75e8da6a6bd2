//! `knowledge-hub-bench`: generates deterministic datasets, starts the hub and a raw-SQL baseline
//! against them, drives both over HTTP, and reports throughput, latency percentiles, server CPU
//! time and memory, and SQL statements per request, with the hub as a ratio of the baseline.
//!
//! ```sh
//! cargo build --release -p knowledge-hub -p knowledge-hub-bench
//! target/release/knowledge-hub-bench generate --database-url sqlite:bench-s.db --tier s
//! target/release/knowledge-hub-bench run --database-url sqlite:bench-s.db --tier s --write BENCHMARKS.md
//! # writes (M1) and subscriptions (S1, S2); on SQLite they run on a copy of the database
//! target/release/knowledge-hub-bench run --database-url sqlite:bench-s.db --tier s --scenarios m1,s1,s2 --write BENCHMARKS.md
//! # notifications (N1): 10,000 drained to a local SMTP sink and webhook receiver beside M1
//! target/release/knowledge-hub-bench run --database-url sqlite:bench-s.db --tier s --scenarios n1 --write BENCHMARKS.md
//! # exports (X1): every need as CSV and XLSX, rows/s and the hub's memory while streaming
//! target/release/knowledge-hub-bench generate --database-url sqlite:bench-m.db --tier m
//! target/release/knowledge-hub-bench run --database-url sqlite:bench-m.db --tier m --scenarios x1 --write BENCHMARKS.md
//! target/release/knowledge-hub-bench smoke     # what CI runs: tiny, no timing
//! ```

mod baseline;
mod drive;
mod exports;
mod load;
mod notifications;
mod process;
mod realtime;
mod receivers;
mod scenarios;
mod writes;

use std::{sync::Arc, time::Duration};

use clap::{Parser, Subcommand};
use knowledge_hub::app::prepare_database;
use load::{Load, Outcome, Side};
use sample::Tier;
use scenarios::Scenario;

#[derive(Parser)]
#[command(name = "knowledge-hub-bench", about = "The benchmark suite of knowledge-hub.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate an empty database and fill it with a tier of the deterministic dataset.
    Generate {
        #[arg(long)]
        database_url: String,
        #[arg(long, value_enum)]
        tier: Tier,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Start the hub and the baseline on a generated database and measure the scenarios.
    Run {
        #[arg(long)]
        database_url: String,
        /// The tier the database was generated with.
        #[arg(long, value_enum)]
        tier: Tier,
        /// The hub binary (build it with `--release`).
        #[arg(long, default_value = "target/release/knowledge-hub")]
        hub: String,
        /// Scenarios to run, comma-separated: the reads (q1, q1-500, q2, q3, q3-pool, q4, q5, q5-deep), and m1 (writes),
        /// s1 (subscription fan-out), s2 (idle subscribed connections), n1 (notifications drained
        /// beside M1), x1 (every need exported as CSV and XLSX). Each of m1, s1, s2, n1 starts a
        /// fresh hub; they write to the database (on SQLite: to a copy, see --in-place).
        #[arg(long, value_delimiter = ',', default_value = "q1,q1-500,q2,q3,q3-pool,q4,q5,q5-deep")]
        scenarios: Vec<String>,
        /// Closed-loop workers.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// Seconds per scenario and side (after a warm-up of a fifth of it).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Fixed rate (requests per second in total) instead of a closed loop.
        #[arg(long)]
        rate: Option<f64>,
        /// Hub instances on the database for the reads, the workers shared among them in turn
        /// (PostgreSQL; CPU, statements and memory are their sums).
        #[arg(long, default_value_t = 1)]
        instances: usize,
        /// Pin each hub instance of the reads to a CPU of its own (instance k on CPU k), every
        /// thread of it; the load generator, the baseline and the database are not pinned.
        #[arg(long)]
        pin: bool,
        /// Append the results to this Markdown file.
        #[arg(long)]
        write: Option<String>,
        #[command(flatten)]
        live: Box<LiveOptions>,
    },
    /// The raw baseline server (started by `run`; prints its address).
    BaselineServe {
        #[arg(long)]
        database_url: String,
    },
    /// A tiny dataset and one second per scenario: proves the suite works (CI); asserts no timing.
    Smoke {
        #[arg(long, default_value = "target/debug/knowledge-hub")]
        hub: String,
    },
}

/// The settings of the write, real-time and notification scenarios (m1, s1, s2, n1).
#[derive(clap::Args, Clone, Debug)]
struct LiveOptions {
    /// M1: concurrent writers (closed loop), and workers of the fixed rate and the mix.
    #[arg(long, default_value_t = 16)]
    writers: usize,
    /// M1: writes per second of the fixed-rate run.
    #[arg(long, default_value_t = 200.0)]
    write_rate: f64,
    /// M1: the read scenarios that make up 90% of the mix.
    #[arg(long, value_delimiter = ',', default_value = "q2")]
    mix_reads: Vec<String>,
    /// S1: subscriber counts, one event each (measured `--single-events` times).
    #[arg(long, value_delimiter = ',', default_value = "100,1000,10000")]
    subscribers: Vec<usize>,
    /// S1: events measured one at a time per subscriber count.
    #[arg(long, default_value_t = 3)]
    single_events: usize,
    /// S1: subscribers for the fixed event rate.
    #[arg(long, default_value_t = 1000)]
    rate_subscribers: usize,
    /// S1: events per second of the fixed-rate run (for `--seconds`; 0 skips it).
    #[arg(long, default_value_t = 100.0)]
    event_rate: f64,
    /// S2: idle connections, each with one subscription.
    #[arg(long, default_value_t = 10_000)]
    idle_connections: usize,
    /// N1: notifications to queue and drain (rounded down to a multiple of --notify-fanout).
    #[arg(long, default_value_t = 10_000)]
    notifications: usize,
    /// N1: deliveries per event, half e-mails and half webhooks (at least 2).
    #[arg(long, default_value_t = 10)]
    notify_fanout: usize,
    /// N1: seconds to wait for the queue to drain before giving up.
    #[arg(long, default_value_t = 600)]
    notify_patience: u64,
    /// Run m1, s1 and s2 on the given SQLite database itself instead of a copy (PostgreSQL
    /// databases are always written in place).
    #[arg(long)]
    in_place: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate { database_url, tier, seed } => generate(&database_url, tier, seed).await,
        Command::Run {
            database_url,
            tier,
            hub,
            scenarios,
            concurrency,
            seconds,
            rate,
            instances,
            pin,
            write,
            live,
        } => {
            let options = RunOptions { tier, hub, concurrency, seconds, rate, instances, pin, live: *live };
            run(&database_url, &scenarios, &options, write.as_deref()).await.map(|_| ())
        }
        Command::BaselineServe { database_url } => baseline_serve(&database_url).await,
        Command::Smoke { hub } => smoke(&hub).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn generate(database_url: &str, tier: Tier, seed: u64) -> Result<(), String> {
    let db = prepare_database(database_url).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let counts = sample::generate(&db, tier, seed).await?;
    eprintln!("generated {counts:?} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

async fn baseline_serve(database_url: &str) -> Result<(), String> {
    let db = knowledge_hub::db::Db::connect(database_url).await.map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("baseline listening on http://{addr}/");
    axum::serve(listener, baseline::router(db)).await.map_err(|e| e.to_string())
}

struct RunOptions {
    tier: Tier,
    hub: String,
    concurrency: usize,
    seconds: u64,
    rate: Option<f64>,
    instances: usize,
    pin: bool,
    live: LiveOptions,
}

/// Everything a run measured.
#[derive(Default)]
struct Results {
    reads: Vec<Row>,
    idle_rss: Option<f64>,
    writes: Vec<writes::WriteRow>,
    realtime: Vec<realtime::RealtimeRow>,
    idle: Option<realtime::IdleRow>,
    notifications: Option<notifications::N1Row>,
    exports: Vec<exports::X1Row>,
    /// Facts about the run (copies, limits) for the report.
    notes: Vec<String>,
    /// Scenarios that could not run, and why.
    failures: Vec<String>,
}

/// One scenario's figures on both sides.
struct Row {
    scenario: Scenario,
    hub: Outcome,
    baseline: Outcome,
    statements_per_request: f64,
    cpu_ms_per_request: f64,
    /// The PostgreSQL server's CPU per hub request, when it runs on this machine.
    db_cpu_ms_per_request: Option<f64>,
    rss_mib: f64,
}

async fn measure(
    client: &reqwest::Client,
    bases: &[String],
    side: Side,
    scenario: Scenario,
    token: Option<&str>,
    o: &RunOptions,
) -> Outcome {
    let load = |duration: Duration| {
        Arc::new(Load {
            client: client.clone(),
            bases: bases.to_vec(),
            side,
            scenario,
            needs: o.tier.needs(),
            concurrency: o.concurrency,
            duration,
            rate: o.rate,
            token: token.map(str::to_owned),
        })
    };
    let full = Duration::from_secs(o.seconds);
    let _warm_up = load::run(load(full / 5)).await;
    load::run(load(full)).await
}

async fn run(
    database_url: &str,
    keys: &[String],
    o: &RunOptions,
    write: Option<&str>,
) -> Result<Results, String> {
    let mut reads = Vec::new();
    let mut live = Vec::new();
    let mut exports = false;
    for key in keys {
        match key.as_str() {
            "m1" | "s1" | "s2" | "n1" => live.push(key.as_str()),
            "x1" => exports = true,
            _ => reads.push(Scenario::parse(key).ok_or(format!("no scenario `{key}`"))?),
        }
    }
    let mut results = Results::default();
    if !reads.is_empty() {
        run_reads(database_url, &reads, o, &mut results).await?;
    }
    if !live.is_empty() {
        run_live(database_url, &live, o, &mut results).await?;
    }
    if exports {
        run_exports(database_url, o, &mut results).await?;
    }
    if let Some(path) = write {
        let section = report(database_url, o, &results);
        let mut existing = std::fs::read_to_string(path).unwrap_or_default();
        existing.push_str(&section);
        std::fs::write(path, existing).map_err(|e| format!("cannot write {path}: {e}"))?;
        eprintln!("appended the results to {path}");
    }
    Ok(results)
}

async fn run_reads(
    database_url: &str,
    scenarios: &[Scenario],
    o: &RunOptions,
    results: &mut Results,
) -> Result<(), String> {
    let institution_token = if scenarios.iter().any(|s| s.needs_institution_token()) {
        let email = format!("forskar@{}.bench.example.no", scenarios::INSTITUTION);
        let role = ["--role", "institution-member", "--institution", scenarios::INSTITUTION];
        Some(process::create_token(&o.hub, database_url, "Bench Forskar", &email, &role)?)
    } else {
        None
    };
    let hubs = (0..o.instances.max(1))
        .map(|_| process::start_hub(&o.hub, database_url))
        .collect::<Result<Vec<_>, _>>()?;
    let pids: Vec<u32> = hubs.iter().map(|hub| hub.child.id()).collect();
    let bases: Vec<String> = hubs.iter().map(|hub| hub.base.clone()).collect();
    if o.pin {
        for (core, pid) in pids.iter().enumerate() {
            process::pin(*pid, core)?;
        }
    }
    if hubs.len() > 1 || o.pin {
        let pinned = if o.pin { ", instance k pinned to CPU k (every thread)" } else { "" };
        results.notes.push(format!(
            "reads: {} hub instance(s) on the database, the workers sent to each in turn{pinned}; their CPU, \
             statements and memory summed",
            hubs.len()
        ));
    }
    let baseline = process::start_baseline(database_url)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency * 2)
        .build()
        .map_err(|e| e.to_string())?;
    let idle_rss: f64 = pids.iter().map(|pid| process::rss_mib(*pid)).sum();
    let postgres = !database_url.starts_with("sqlite:");
    let metric = async |name: &str| {
        let mut total = 0.0;
        for base in &bases {
            total += process::metric(&client, base, name).await;
        }
        total
    };
    let cpu = || pids.iter().map(|pid| process::cpu_seconds(*pid)).sum::<f64>();
    eprint!("{TABLE_HEADER}");
    for &scenario in scenarios {
        let statements = metric("hub_sql_statements_total").await;
        let requests = metric("hub_graphql_requests_total").await;
        let cpu_before = cpu();
        let db_cpu = postgres.then(process::postgres_cpu_seconds);
        let token = institution_token.as_deref().filter(|_| scenario.needs_institution_token());
        let on_hub = measure(&client, &bases, Side::Hub, scenario, token, o).await;
        let served = metric("hub_graphql_requests_total").await - requests;
        let statements = metric("hub_sql_statements_total").await - statements;
        let cpu = cpu() - cpu_before;
        let db_cpu = db_cpu.map(|before| process::postgres_cpu_seconds() - before);
        let rss_mib = pids.iter().map(|pid| process::rss_mib(*pid)).sum();
        let on_baseline =
            measure(&client, std::slice::from_ref(&baseline.base), Side::Baseline, scenario, None, o).await;
        let row = Row {
            scenario,
            statements_per_request: statements / served.max(1.0),
            cpu_ms_per_request: cpu * 1000.0 / served.max(1.0),
            db_cpu_ms_per_request: db_cpu.map(|seconds| seconds * 1000.0 / served.max(1.0)),
            rss_mib,
            hub: on_hub,
            baseline: on_baseline,
        };
        print_row(&row);
        results.reads.push(row);
    }
    eprintln!("hub idle RSS before the run: {idle_rss:.1} MiB");
    results.idle_rss = Some(idle_rss);
    Ok(())
}

/// X1 on a hub of its own (so its memory is the export's, not the reads'), with the default
/// settings: an XLSX file's first byte comes when it is zipped, after its last row, and the
/// connection waits for it (`serve::Busy`).
async fn run_exports(database_url: &str, o: &RunOptions, results: &mut Results) -> Result<(), String> {
    let hub = process::start_hub(&o.hub, database_url)?;
    let client = reqwest::Client::new();
    eprint!("{}", exports::X1_HEADER);
    for row in exports::x1(&client, &hub).await {
        eprint!("{}", exports::x1_row(&row));
        print_first_error(row.first_error.as_ref());
        results.exports.push(row);
    }
    Ok(())
}

/// The open-file limit of a process, from `/proc`.
fn open_files_limit(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let rest = l.strip_prefix("Max open files")?;
                rest.split_whitespace().next().map(str::to_owned)
            })
        })
        .unwrap_or_else(|| "?".into())
}

fn print_first_error(error: Option<&String>) {
    if let Some(error) = error {
        eprintln!("  first error: {}", error.chars().take(300).collect::<String>());
    }
}

/// M1, S1, S2 and N1, each on a fresh hub, on a copy of a SQLite database unless `--in-place`.
async fn run_live(
    database_url: &str,
    keys: &[&str],
    o: &RunOptions,
    results: &mut Results,
) -> Result<(), String> {
    let l = &o.live;
    let limit = realtime::raise_open_files();
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = if database_url.starts_with("sqlite:") && !l.in_place {
        let copy = writes::copy_database(&o.hub, database_url, dir.path())?;
        results.notes.push(
            "m1, s1, s2 and n1 wrote to a copy of the database made with `knowledge-hub backup`; the generated tier is unchanged".into(),
        );
        copy
    } else {
        results.notes.push(format!(
            "m1, s1, s2 and n1 wrote to {} itself (needs, co-signatures, members, tokens, webhook endpoints and deliveries were added)",
            if database_url.starts_with("sqlite:") { "the database" } else { "the PostgreSQL database" }
        ));
        database_url.to_owned()
    };
    let members = writes::create_members(&o.hub, &url, l.writers.max(2))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(l.writers * 2 + 16)
        .build()
        .map_err(|e| e.to_string())?;
    let duration = Duration::from_secs(o.seconds);
    let mut reads = Vec::new();
    for key in &l.mix_reads {
        reads.push(Scenario::parse(key).ok_or(format!("no read scenario `{key}` for the mix"))?);
    }
    for &key in keys {
        if key == "n1" {
            let n1 = notifications::N1Options {
                notifications: l.notifications,
                fanout: l.notify_fanout.max(2),
                writers: l.writers,
                write_rate: l.write_rate,
                duration,
                patience: Duration::from_secs(l.notify_patience),
            };
            let cast = notifications::cast(&o.hub, &url, &n1)?;
            match notifications::n1(&o.hub, &url, &client, cast, members.clone(), &n1).await {
                Ok(row) => {
                    eprint!("{}", notifications::CHANNEL_HEADER);
                    row.channels.iter().for_each(|c| eprint!("{}", notifications::channel_row(c)));
                    eprint!(
                        "{}{}{}",
                        notifications::M1_HEADER,
                        notifications::m1_rows(&row),
                        notifications::facts(&row)
                    );
                    print_first_error(row.first_error.as_ref().or(row.first_refusal.as_ref()));
                    results.notifications = Some(row);
                }
                Err(e) => {
                    eprintln!("  N1 failed: {e}");
                    results.failures.push(format!("N1: {e}"));
                }
            }
            continue;
        }
        let hub = process::start_hub(&o.hub, &url)?;
        if results.notes.iter().all(|n| !n.starts_with("open-file limit")) {
            results.notes.push(format!(
                "open-file limit (RLIMIT_NOFILE): {limit} in the bench, {} in the hub",
                open_files_limit(hub.child.id())
            ));
        }
        let writes = Arc::new(writes::Writes::new(client.clone(), &hub.base, members.clone()).await?);
        match key {
            "m1" => {
                let m1 = writes::M1Options {
                    writers: l.writers,
                    rate: l.write_rate,
                    reads: reads.clone(),
                    needs: o.tier.needs(),
                    duration,
                };
                eprint!("{}", writes::TABLE_HEADER);
                let postgres = database_url.starts_with("postgres");
                let rows = writes::m1(&client, &hub, writes, &m1, postgres, |row| {
                    eprint!("{}", writes::table_row(row));
                    print_first_error(row.first_error());
                })
                .await;
                results.writes.extend(rows);
            }
            "s1" => {
                let s1 = realtime::S1Options {
                    subscribers: l.subscribers.clone(),
                    single_events: l.single_events,
                    rate_subscribers: l.rate_subscribers,
                    event_rate: l.event_rate,
                    duration,
                };
                eprint!("{}", realtime::S1_HEADER);
                let rows = realtime::s1(&hub, writes, &s1, |row| {
                    eprint!("{}", realtime::s1_row(row));
                    print_first_error(row.first_error.as_ref());
                })
                .await;
                match rows {
                    Ok(rows) => results.realtime.extend(rows),
                    Err(e) => {
                        eprintln!("  S1 failed: {e}");
                        results.failures.push(format!("S1: {e}"));
                    }
                }
            }
            _ => match realtime::s2(&client, &hub, &writes, l.idle_connections).await {
                Ok(row) => {
                    eprint!("{}{}", realtime::S2_HEADER, realtime::s2_row(&row));
                    print_first_error(row.first_error.as_ref());
                    results.idle = Some(row);
                }
                Err(e) => {
                    eprintln!("  S2 failed: {e}");
                    results.failures.push(format!("S2: {e}"));
                }
            },
        }
    }
    Ok(())
}

const TABLE_HEADER: &str = "| scenario | hub req/s | p50 ms | p99 ms | p99.9 ms | errors | baseline req/s | baseline p99 ms | hub/baseline | SQL/req | CPU ms/req | DB CPU ms/req | RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

/// One scenario as a row of the results table (printed as it finishes, and written to the file).
fn table_row(r: &Row) -> String {
    format!(
        "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.0}% | {:.1} | {:.2} | {} | {:.1} |\n",
        r.scenario.name(),
        r.hub.throughput(),
        r.hub.ms(0.5),
        r.hub.ms(0.99),
        r.hub.ms(0.999),
        r.hub.errors,
        r.baseline.throughput(),
        r.baseline.ms(0.99),
        100.0 * r.hub.throughput() / r.baseline.throughput().max(f64::MIN_POSITIVE),
        r.statements_per_request,
        r.cpu_ms_per_request,
        r.db_cpu_ms_per_request.map_or("-".into(), |ms| format!("{ms:.2}")),
        r.rss_mib,
    )
}

fn print_row(row: &Row) {
    eprint!("{}", table_row(row));
    if let Some(error) = row.hub.first_error.as_ref().or(row.baseline.first_error.as_ref()) {
        eprintln!("  first error: {}", error.chars().take(300).collect::<String>());
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn report(database_url: &str, o: &RunOptions, r: &Results) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim_start_matches("MemTotal:").trim().to_owned()))
        .unwrap_or_default();
    let backend = if database_url.starts_with("sqlite:") { "SQLite" } else { "PostgreSQL" };
    let mut what = Vec::new();
    if !r.reads.is_empty() {
        what.push(o.rate.map_or(format!("closed loop, {} workers", o.concurrency), |rate| {
            format!("fixed rate {rate}/s, {} workers", o.concurrency)
        }));
    }
    if !r.writes.is_empty() {
        what.push("M1 writes".into());
    }
    if !r.realtime.is_empty() {
        what.push("S1 subscription fan-out".into());
    }
    if r.idle.is_some() {
        what.push("S2 idle subscribed connections".into());
    }
    if r.notifications.is_some() {
        what.push("N1 notifications drained".into());
    }
    if !r.exports.is_empty() {
        what.push("X1 exports".into());
    }
    let mut out = format!(
        "\n## Tier {:?} ({} needs), {backend}, {}\n\n- date: {}\n- commit: {}\n- machine: {} cores, {cpu}, {memory}\n- command: `{}`\n",
        o.tier,
        o.tier.needs(),
        what.join("; "),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        command_output("nproc", &[]),
        std::env::args().collect::<Vec<_>>().join(" "),
    );
    if let Some(idle_rss) = r.idle_rss {
        out.push_str(&format!("- hub idle RSS before the run: {idle_rss:.1} MiB\n"));
    }
    for note in &r.notes {
        out.push_str(&format!("- {note}\n"));
    }
    let mut errors = Vec::new();
    if !r.reads.is_empty() {
        out.push('\n');
        out.push_str(TABLE_HEADER);
        for row in &r.reads {
            out.push_str(&table_row(row));
            if let Some(e) = row.hub.first_error.as_ref().or(row.baseline.first_error.as_ref()) {
                errors.push(format!("{}: {e}", row.scenario.name()));
            }
        }
    }
    if !r.writes.is_empty() {
        out.push('\n');
        out.push_str(writes::TABLE_HEADER);
        for row in &r.writes {
            out.push_str(&writes::table_row(row));
            if let Some(e) = row.first_error() {
                errors.push(format!("{}: {e}", row.name));
            }
        }
    }
    if !r.realtime.is_empty() {
        out.push('\n');
        out.push_str(realtime::S1_HEADER);
        for row in &r.realtime {
            out.push_str(&realtime::s1_row(row));
            if let Some(e) = &row.first_error {
                errors.push(format!("{} ({} subscribers): {e}", row.name, row.subscribers));
            }
        }
    }
    if let Some(idle) = &r.idle {
        out.push('\n');
        out.push_str(realtime::S2_HEADER);
        out.push_str(&realtime::s2_row(idle));
        if let Some(e) = &idle.first_error {
            errors.push(format!("S2: {e}"));
        }
    }
    if let Some(n1) = &r.notifications {
        out.push('\n');
        out.push_str(notifications::CHANNEL_HEADER);
        for channel in &n1.channels {
            out.push_str(&notifications::channel_row(channel));
        }
        out.push('\n');
        out.push_str(notifications::M1_HEADER);
        out.push_str(&notifications::m1_rows(n1));
        out.push('\n');
        out.push_str(&notifications::facts(n1));
        for e in n1.first_error.iter().chain(&n1.first_refusal) {
            errors.push(format!("N1: {e}"));
        }
    }
    if !r.exports.is_empty() {
        out.push('\n');
        out.push_str(exports::X1_HEADER);
        for row in &r.exports {
            out.push_str(&exports::x1_row(row));
            errors.extend(row.first_error.iter().map(|e| format!("X1 {}: {e}", row.format)));
        }
    }
    errors.extend(r.failures.iter().cloned());
    if !errors.is_empty() {
        out.push_str("\nFirst errors:\n\n");
        for e in errors {
            let e: String = e.chars().take(300).collect();
            out.push_str(&format!("- `{}`\n", e.replace('`', "'")));
        }
    }
    out
}

async fn smoke(hub: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite:{}", dir.path().join("smoke.db").display());
    generate(&url, Tier::Smoke, 42).await?;
    let mut keys: Vec<String> = Scenario::ALL.iter().map(|s| s.key().to_owned()).collect();
    keys.extend(["m1", "s1", "s2", "n1", "x1"].map(String::from));
    // Tiny and cheap: a few writes, ten subscribers, a couple of idle connections, 40
    // notifications.
    let live = LiveOptions {
        writers: 2,
        write_rate: 20.0,
        mix_reads: vec!["q2".to_owned()],
        subscribers: vec![10],
        single_events: 1,
        rate_subscribers: 10,
        event_rate: 10.0,
        idle_connections: 2,
        notifications: 40,
        notify_fanout: 4,
        notify_patience: 60,
        in_place: false,
    };
    let options = RunOptions {
        tier: Tier::Smoke,
        hub: hub.to_owned(),
        concurrency: 2,
        seconds: 1,
        rate: None,
        instances: 1,
        pin: false,
        live,
    };
    let results = run(&url, &keys, &options, None).await?;
    let mut failed: Vec<String> = results
        .reads
        .iter()
        .filter(|r| r.hub.errors > 0 || r.baseline.errors > 0 || r.hub.ok == 0)
        .map(|r| r.scenario.name().to_owned())
        .collect();
    failed
        .extend(results.writes.iter().filter(|r| r.errors() > 0 || r.writes.ok == 0).map(|r| r.name.clone()));
    // Writes alone, at a fixed rate, in a read mix, and submissions alone.
    if results.writes.len() != 4 {
        failed.push("M1 did not run".into());
    }
    failed.extend(
        results
            .realtime
            .iter()
            .filter(|r| r.ended > 0 || r.events == 0 || r.fanout.received < r.fanout.expected)
            .map(|r| format!("{} ({} subscribers)", r.name, r.subscribers)),
    );
    if results.realtime.len() != 2 {
        failed.push("S1 did not run".into());
    }
    match &results.idle {
        Some(idle) if idle.ended == 0 && idle.verified == idle.connections as u64 => {}
        _ => failed.push("S2 idle subscribed connections".into()),
    }
    match &results.notifications {
        Some(n1)
            if n1.first_error.is_none()
                && n1.refused == 0
                && n1.m1_idle.errors == 0
                && n1.m1_draining.as_ref().is_none_or(|o| o.errors == 0)
                && n1.channels.iter().all(|c| c.received == c.expected && c.duplicates == 0) => {}
        _ => failed.push("N1 notifications".into()),
    }
    failed.extend(
        results
            .exports
            .iter()
            .filter(|r| r.first_error.is_some() || r.rows == 0 || r.bytes == 0)
            .map(|r| format!("X1 export as {}", r.format)),
    );
    if results.exports.len() != 2 {
        failed.push("X1 did not run".into());
    }
    failed.extend(results.failures.iter().cloned());
    if failed.is_empty() {
        eprintln!(
            "smoke: every scenario ran without errors (reads on the hub and the baseline, M1, S1, S2, N1, X1)"
        );
        Ok(())
    } else {
        Err(format!("scenarios with errors: {}", failed.join(", ")))
    }
}
