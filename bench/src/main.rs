//! `knowledge-hub-bench`: generates deterministic datasets, starts the hub and a raw-SQL baseline
//! against them, drives both over HTTP, and reports throughput, latency percentiles, server CPU
//! time and memory, and SQL statements per request, with the hub as a ratio of the baseline.
//!
//! ```sh
//! cargo build --release -p knowledge-hub -p knowledge-hub-bench
//! target/release/knowledge-hub-bench generate --database-url sqlite:bench-s.db --tier s
//! target/release/knowledge-hub-bench run --database-url sqlite:bench-s.db --tier s --write BENCHMARKS.md
//! target/release/knowledge-hub-bench smoke     # what CI runs: tiny, no timing
//! ```

mod baseline;
mod dataset;
mod load;
mod process;
mod scenarios;

use std::{sync::Arc, time::Duration};

use clap::{Parser, Subcommand};
use dataset::Tier;
use knowledge_hub::app::prepare_database;
use load::{Load, Outcome, Side};
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
        /// Scenarios to run: q1, q2, q3, q5 (comma-separated).
        #[arg(long, value_delimiter = ',', default_value = "q1,q2,q3,q5")]
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
        /// Append the results to this Markdown file.
        #[arg(long)]
        write: Option<String>,
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Generate { database_url, tier, seed } => generate(&database_url, tier, seed).await,
        Command::Run { database_url, tier, hub, scenarios, concurrency, seconds, rate, write } => {
            let options = RunOptions { tier, hub, concurrency, seconds, rate };
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
    if tier == Tier::L && database_url.starts_with("sqlite:") {
        return Err("tier L is for PostgreSQL".into());
    }
    let db = prepare_database(database_url).await.map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let counts = dataset::generate(&db, tier, seed).await?;
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
}

/// One scenario's figures on both sides.
struct Row {
    scenario: Scenario,
    hub: Outcome,
    baseline: Outcome,
    statements_per_request: f64,
    cpu_ms_per_request: f64,
    rss_mib: f64,
}

async fn measure(
    client: &reqwest::Client,
    base: &str,
    side: Side,
    scenario: Scenario,
    o: &RunOptions,
) -> Outcome {
    let load = |duration: Duration| {
        Arc::new(Load {
            client: client.clone(),
            base: base.to_owned(),
            side,
            scenario,
            needs: o.tier.needs(),
            concurrency: o.concurrency,
            duration,
            rate: o.rate,
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
) -> Result<Vec<Row>, String> {
    let scenarios: Vec<Scenario> = keys
        .iter()
        .map(|k| Scenario::parse(k).ok_or(format!("no scenario `{k}`")))
        .collect::<Result<_, _>>()?;
    let hub = process::start_hub(&o.hub, database_url)?;
    let baseline = process::start_baseline(database_url)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency * 2)
        .build()
        .map_err(|e| e.to_string())?;
    let idle_rss = process::rss_mib(hub.child.id());
    let mut rows = Vec::new();
    eprint!("{TABLE_HEADER}");
    for scenario in scenarios {
        let statements = process::metric(&client, &hub.base, "hub_sql_statements_total").await;
        let requests = process::metric(&client, &hub.base, "hub_graphql_requests_total").await;
        let cpu = process::cpu_seconds(hub.child.id());
        let on_hub = measure(&client, &hub.base, Side::Hub, scenario, o).await;
        let served = process::metric(&client, &hub.base, "hub_graphql_requests_total").await - requests;
        let statements = process::metric(&client, &hub.base, "hub_sql_statements_total").await - statements;
        let cpu = process::cpu_seconds(hub.child.id()) - cpu;
        let rss_mib = process::rss_mib(hub.child.id());
        let on_baseline = measure(&client, &baseline.base, Side::Baseline, scenario, o).await;
        let row = Row {
            scenario,
            statements_per_request: statements / served.max(1.0),
            cpu_ms_per_request: cpu * 1000.0 / served.max(1.0),
            rss_mib,
            hub: on_hub,
            baseline: on_baseline,
        };
        print_row(&row);
        rows.push(row);
    }
    eprintln!("hub idle RSS before the run: {idle_rss:.1} MiB");
    if let Some(path) = write {
        let section = report(database_url, o, &rows, idle_rss);
        let mut existing = std::fs::read_to_string(path).unwrap_or_default();
        existing.push_str(&section);
        std::fs::write(path, existing).map_err(|e| format!("cannot write {path}: {e}"))?;
        eprintln!("appended the results to {path}");
    }
    Ok(rows)
}

const TABLE_HEADER: &str = "| scenario | hub req/s | p50 ms | p99 ms | p99.9 ms | errors | baseline req/s | baseline p99 ms | hub/baseline | SQL/req | CPU ms/req | RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

/// One scenario as a row of the results table (printed as it finishes, and written to the file).
fn table_row(r: &Row) -> String {
    format!(
        "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.0}% | {:.1} | {:.2} | {:.1} |\n",
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

fn report(database_url: &str, o: &RunOptions, rows: &[Row], idle_rss: f64) -> String {
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
    let mode = o.rate.map_or(format!("closed loop, {} workers", o.concurrency), |r| {
        format!("fixed rate {r}/s, {} workers", o.concurrency)
    });
    let mut out = format!(
        "\n## Tier {:?} ({} needs), {backend}, {mode}\n\n- date: {}\n- commit: {}\n- machine: {} cores, {cpu}, {memory}\n- command: `{}`\n- hub idle RSS before the run: {idle_rss:.1} MiB\n\n",
        o.tier,
        o.tier.needs(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        command_output("nproc", &[]),
        std::env::args().collect::<Vec<_>>().join(" "),
    );
    out.push_str(TABLE_HEADER);
    for r in rows {
        out.push_str(&table_row(r));
    }
    out
}

async fn smoke(hub: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite:{}", dir.path().join("smoke.db").display());
    generate(&url, Tier::Smoke, 42).await?;
    let keys: Vec<String> = Scenario::ALL.iter().map(|s| s.key().to_owned()).collect();
    let options =
        RunOptions { tier: Tier::Smoke, hub: hub.to_owned(), concurrency: 2, seconds: 1, rate: None };
    let rows = run(&url, &keys, &options, None).await?;
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.hub.errors > 0 || r.baseline.errors > 0 || r.hub.ok == 0)
        .map(|r| r.scenario.name())
        .collect();
    if failed.is_empty() {
        eprintln!("smoke: every scenario ran on the hub and the baseline without errors");
        Ok(())
    } else {
        Err(format!("scenarios with errors: {}", failed.join(", ")))
    }
}
