//! M1: writes over HTTP. Members of several municipalities submit needs (`submitNeed`) and co-sign
//! needs that other municipalities submitted in the same run (`cosignNeed`; a municipality cannot
//! co-sign its own need, nor co-sign one twice, so each fresh need is co-signed once, by a member
//! of another municipality). Measured alone in a closed loop, at a fixed rate, and as a tenth of a
//! read mix. Every response is checked for `errors` and for non-empty `userErrors`.
//!
//! The members and their tokens are made with the hub's own command line
//! (`knowledge-hub token create`) before the hub starts. Writes change the database: on SQLite
//! the suite runs them on a copy made with `knowledge-hub backup` (see `copy_database`).

use std::{
    collections::VecDeque,
    process::Command,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sample::Rng;
use serde_json::{Value, json};

use crate::{
    drive::{self, Plan},
    load::Outcome,
    process::{self, Server},
    scenarios::Scenario,
};

/// Municipalities whose members write (numbers of the real reference data); writers are spread
/// over them in turn, so that there is always another municipality to co-sign.
pub const MUNICIPALITIES: [&str; 8] = ["4601", "1103", "1108", "1149", "4626", "1106", "4627", "4631"];

/// A municipality member who writes, with the token the hub's command line made.
#[derive(Clone, Debug)]
pub struct Member {
    pub token: String,
    pub municipality: &'static str,
}

/// Makes `count` municipality members (or reuses them: the e-mail addresses are fixed) and a
/// token for each, with `hub token create` on `database_url`. Run it before the hub starts.
pub fn create_members(hub: &str, database_url: &str, count: usize) -> Result<Vec<Member>, String> {
    (0..count)
        .map(|i| {
            let municipality = MUNICIPALITIES[i % MUNICIPALITIES.len()];
            let role = ["--role", "municipality-member", "--municipality", municipality];
            let (name, email) = (format!("Bench Writer {i}"), format!("bench-writer-{i}@bench.example.no"));
            let token = crate::process::create_token(hub, database_url, &name, &email, &role)?;
            Ok(Member { token, municipality })
        })
        .collect()
}

/// Copies a SQLite database with the hub's `backup` command (`VACUUM INTO`) into `dir`, so that
/// write scenarios leave the generated tier as it was. Returns the copy's URL.
pub fn copy_database(hub: &str, database_url: &str, dir: &std::path::Path) -> Result<String, String> {
    let copy = dir.join("bench-writes.db");
    let output = Command::new(hub)
        .arg("backup")
        .arg(&copy)
        .args(["--database-url", database_url])
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|e| format!("cannot run {hub} backup: {e}"))?;
    if !output.status.success() {
        return Err(format!("{hub} backup failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    Ok(format!("sqlite:{}", copy.display()))
}

/// POSTs a GraphQL request; the `data` of a 200 answer without `errors`, or the failure.
pub async fn graphql(
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value, String> {
    let mut request = client.post(format!("{base}/graphql")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let mut body: Value = response.json().await.map_err(|e| format!("{status}: {e}"))?;
    if !status.is_success() || body.get("errors").is_some() || body.get("data").is_none() {
        return Err(format!("{status}: {body}"));
    }
    Ok(body["data"].take())
}

/// A mutation's payload, if it has no `userErrors`.
fn payload(mut data: Value, field: &str) -> Result<Value, String> {
    let payload = data[field].take();
    match payload["userErrors"].as_array() {
        Some(errors) if errors.is_empty() => Ok(payload),
        Some(_) => Err(format!("{field}: userErrors {}", payload["userErrors"])),
        None => Err(format!("{field}: no payload in {data}")),
    }
}

const SUBMIT: &str = "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) {
    need { id } userErrors { field message code } } }";
const COSIGN: &str = "mutation($input: CosignNeedInput!) { cosignNeed(input: $input) {
    need { id } userErrors { field message code } } }";

/// The writers of a run: their members, the themes to tag needs with, and the needs submitted in
/// the run that no other municipality has co-signed yet.
pub struct Writes {
    client: reqwest::Client,
    base: String,
    members: Vec<Member>,
    themes: Vec<String>,
    uncosigned: Mutex<VecDeque<(String, &'static str)>>,
    sequence: AtomicU64,
    pub submitted: AtomicU64,
    pub cosigned: AtomicU64,
}

impl Writes {
    pub async fn new(client: reqwest::Client, base: &str, members: Vec<Member>) -> Result<Self, String> {
        if members.is_empty() {
            return Err("no members to write with".into());
        }
        let data =
            graphql(&client, base, None, &json!({ "query": "{ themes(first: 100) { nodes { id } } }" }))
                .await?;
        let themes: Vec<String> = data["themes"]["nodes"]
            .as_array()
            .map(|nodes| nodes.iter().filter_map(|n| n["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if themes.is_empty() {
            return Err("the hub lists no themes".into());
        }
        Ok(Self {
            client,
            base: base.to_owned(),
            members,
            themes,
            uncosigned: Mutex::new(VecDeque::new()),
            sequence: AtomicU64::new(0),
            submitted: AtomicU64::new(0),
            cosigned: AtomicU64::new(0),
        })
    }

    /// Submits a need as the `writer`-th member; returns its id.
    pub async fn submit(&self, writer: usize) -> Result<String, String> {
        let member = &self.members[writer % self.members.len()];
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let input = json!({
            "title": format!("Målretta fallforebygging {n} for heimebuande eldre"),
            "question": format!("Kva tiltak ({n}) førebyggjer fall best hos eldre som bur heime?"),
            "background": "Mange innbyggjarar er ramma, og tenestene treng kunnskap.",
            "intendedUse": "Prioritering av tiltak i helse- og omsorgsplanen.",
            "targetGroup": "Heimebuande eldre",
            "themes": [self.themes[n as usize % self.themes.len()]],
            "urgency": "HIGH",
        });
        let body = json!({ "query": SUBMIT, "variables": { "input": input } });
        let data = graphql(&self.client, &self.base, Some(&member.token), &body).await?;
        let payload = payload(data, "submitNeed")?;
        let id =
            payload["need"]["id"].as_str().ok_or(format!("submitNeed: no need in {payload}"))?.to_owned();
        self.submitted.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    /// Co-signs `need` as the `writer`-th member.
    async fn cosign(&self, writer: usize, need: &str) -> Result<(), String> {
        let member = &self.members[writer % self.members.len()];
        let body = json!({ "query": COSIGN, "variables": { "input": { "need": need } } });
        let data = graphql(&self.client, &self.base, Some(&member.token), &body).await?;
        payload(data, "cosignNeed")?;
        self.cosigned.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The writers' tokens.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|m| m.token.as_str())
    }

    /// One write by the `writer`-th member: co-signs the oldest need another municipality submitted
    /// in this run if there is one, else submits a need (which a later write will co-sign).
    pub async fn write(&self, writer: usize) -> Result<(), String> {
        let own = self.members[writer % self.members.len()].municipality;
        let target = {
            let mut queue = self.uncosigned.lock().expect("the lock");
            let at = queue.iter().position(|(_, m)| *m != own);
            at.and_then(|at| queue.remove(at))
        };
        match target {
            Some((need, _)) => self.cosign(writer, &need).await,
            None => {
                let id = self.submit(writer).await?;
                self.uncosigned.lock().expect("the lock").push_back((id, own));
                Ok(())
            }
        }
    }
}

/// The M1 settings.
pub struct M1Options {
    /// Closed-loop writers, and workers for the fixed rate and the mix.
    pub writers: usize,
    /// Writes per second in the fixed-rate run.
    pub rate: f64,
    /// The reads of the mix (drawn in turn).
    pub reads: Vec<Scenario>,
    /// Needs in the tier (for the reads).
    pub needs: usize,
    pub duration: Duration,
}

/// One M1 run's figures.
pub struct WriteRow {
    pub name: String,
    pub mode: String,
    pub writes: Outcome,
    pub reads: Option<Outcome>,
    pub submitted: u64,
    pub cosigned: u64,
    pub statements_per_request: f64,
    pub cpu_ms_per_request: f64,
    /// CPU of the PostgreSQL server's processes per request (`None` on SQLite, which runs in the
    /// hub's process).
    pub db_cpu_ms_per_request: Option<f64>,
    pub rss_mib: f64,
}

impl WriteRow {
    /// Successful requests per second, reads and writes.
    pub fn total_per_second(&self) -> f64 {
        self.writes.throughput() + self.reads.as_ref().map_or(0.0, Outcome::throughput)
    }

    pub fn errors(&self) -> u64 {
        self.writes.errors + self.reads.as_ref().map_or(0, |r| r.errors)
    }

    pub fn first_error(&self) -> Option<&String> {
        self.writes.first_error.as_ref().or(self.reads.as_ref().and_then(|r| r.first_error.as_ref()))
    }
}

pub const TABLE_HEADER: &str = "| scenario | mode | writes/s | write p50 ms | write p99 ms | write p99.9 ms | errors | submitted + co-signed | reads/s | read p99 ms | total req/s | SQL/req | CPU ms/req | DB CPU ms/req | RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

pub fn table_row(r: &WriteRow) -> String {
    let (reads, read_p99) = r.reads.as_ref().map_or(("-".into(), "-".into()), |o| {
        (format!("{:.0}", o.throughput()), format!("{:.2}", o.ms(0.99)))
    });
    format!(
        "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} + {} | {reads} | {read_p99} | {:.0} | {:.1} | {:.2} | {} | {:.1} |\n",
        r.name,
        r.mode,
        r.writes.throughput(),
        r.writes.ms(0.5),
        r.writes.ms(0.99),
        r.writes.ms(0.999),
        r.errors(),
        r.submitted,
        r.cosigned,
        r.total_per_second(),
        r.statements_per_request,
        r.cpu_ms_per_request,
        r.db_cpu_ms_per_request.map_or("-".into(), |ms| format!("{ms:.2}")),
        r.rss_mib,
    )
}

/// What a measured phase cost the hub (and the PostgreSQL server, if `postgres`).
struct Cost {
    statements: f64,
    requests: f64,
    cpu: f64,
    db_cpu: Option<f64>,
}

async fn cost(client: &reqwest::Client, hub: &Server, postgres: bool) -> Cost {
    Cost {
        statements: process::metric(client, &hub.base, "hub_sql_statements_total").await,
        requests: process::metric(client, &hub.base, "hub_graphql_requests_total").await,
        cpu: process::cpu_seconds(hub.child.id()),
        db_cpu: postgres.then(process::postgres_cpu_seconds),
    }
}

/// What the workers of a phase do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// M1's writes: co-sign a need another municipality submitted, else submit one.
    Writes,
    /// Submit needs only (what `submitNeed` costs).
    Submits,
    /// M1's writes one time in ten, reads otherwise.
    WithReads,
}

/// Runs M1 on `hub`: writes alone (closed loop), at a fixed rate, and as 10% of a read mix, then
/// submissions alone; prints each row as it finishes. With `postgres` (a server on this machine)
/// the CPU of its processes is measured too.
pub async fn m1(
    client: &reqwest::Client,
    hub: &Server,
    writes: Arc<Writes>,
    o: &M1Options,
    postgres: bool,
    print: impl Fn(&WriteRow),
) -> Vec<WriteRow> {
    let alone = Plan { concurrency: o.writers, duration: o.duration, rate: None };
    let fixed = Plan { concurrency: o.writers, duration: o.duration, rate: Some(o.rate) };
    let phases = [
        ("M1 writes alone", format!("closed loop, {} writers", o.writers), alone, Mix::Writes),
        (
            "M1 writes at a fixed rate",
            format!("{} writes/s, {} workers", o.rate, o.writers),
            fixed,
            Mix::Writes,
        ),
        (
            "M1 writes as 10% of a read mix",
            format!(
                "closed loop, {} workers, reads: {}",
                o.writers,
                o.reads.iter().map(|s| s.key()).collect::<Vec<_>>().join("+")
            ),
            alone,
            Mix::WithReads,
        ),
        ("M1 submissions alone", format!("closed loop, {} writers", o.writers), alone, Mix::Submits),
    ];
    let mut rows = Vec::new();
    for (name, mode, plan, mix) in phases {
        let warm_up = Plan { duration: plan.duration / 5, ..plan };
        let _ = phase(client, hub, &writes, o, warm_up, mix).await;
        let before = cost(client, hub, postgres).await;
        let (submitted, cosigned) =
            (writes.submitted.load(Ordering::Relaxed), writes.cosigned.load(Ordering::Relaxed));
        let mut outcomes = phase(client, hub, &writes, o, plan, mix).await;
        let after = cost(client, hub, postgres).await;
        let served = (after.requests - before.requests).max(1.0);
        let reads = (mix == Mix::WithReads).then(|| outcomes.remove(1));
        let row = WriteRow {
            name: name.into(),
            mode,
            writes: outcomes.remove(0),
            reads,
            submitted: writes.submitted.load(Ordering::Relaxed) - submitted,
            cosigned: writes.cosigned.load(Ordering::Relaxed) - cosigned,
            statements_per_request: (after.statements - before.statements) / served,
            cpu_ms_per_request: (after.cpu - before.cpu) * 1000.0 / served,
            db_cpu_ms_per_request: after.db_cpu.zip(before.db_cpu).map(|(a, b)| (a - b) * 1000.0 / served),
            rss_mib: process::rss_mib(hub.child.id()),
        };
        print(&row);
        rows.push(row);
    }
    rows
}

/// M1's writes alone under `plan`, without reads: what N1 measures beside a draining queue.
pub async fn writes_alone(writes: &Arc<Writes>, plan: Plan) -> Outcome {
    let writes = writes.clone();
    let mut outcomes = drive::run(plan, 1, move |worker, _| {
        let writes = writes.clone();
        async move { (0, writes.write(worker).await) }
    })
    .await;
    outcomes.remove(0)
}

/// One phase: outcome 0 is the writes, outcome 1 the reads (mix only).
async fn phase(
    client: &reqwest::Client,
    hub: &Server,
    writes: &Arc<Writes>,
    o: &M1Options,
    plan: Plan,
    mix: Mix,
) -> Vec<Outcome> {
    let (writes, client, base, reads, needs) =
        (writes.clone(), client.clone(), hub.base.clone(), o.reads.clone(), o.needs);
    drive::run(plan, 2, move |worker, iteration| {
        let (writes, client, base, reads) = (writes.clone(), client.clone(), base.clone(), reads.clone());
        async move {
            // The mix: a write one time in ten, drawn from a generator seeded per worker and step.
            let mut rng = Rng::new(0x4D31 ^ ((worker as u64) << 32) ^ iteration);
            if mix == Mix::Submits {
                return (0, writes.submit(worker).await.map(drop));
            }
            if mix == Mix::Writes || reads.is_empty() || rng.below(10) == 0 {
                return (0, writes.write(worker).await);
            }
            let scenario = reads[rng.below(reads.len())];
            let draw = scenario.draw(&mut rng, needs);
            (1, graphql(&client, &base, None, &draw.graphql).await.map(drop))
        }
    })
    .await
}
