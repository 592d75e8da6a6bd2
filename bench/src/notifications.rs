//! N1: a queue of notifications drained to a local SMTP sink and a local webhook receiver
//! (`receivers`), while M1's writes go on at their fixed rate.
//!
//! Set-up, with the hub's own command line and API: `--fanout / 2` unit coordinators of
//! [`UNIT`] who want new needs in their units at once (`setNotificationPreferences`), and the
//! rest of `--fanout` webhook endpoints of that unit, registered by one of them
//! (`registerWebhook`, subscribing to `NEED_CREATED`, `http://127.0.0.1` as
//! `--webhooks-allow-private-addresses` allows), whose secrets the receiver verifies with. The
//! unit is none of M1's municipalities, so M1's writes tell none of them.
//!
//! Then, on one hub:
//! 0. M1 at its fixed rate as it is, its own notifications on: each co-signature tells the members
//!    of the need's unit at once (M1's writers there and the dataset's member), so M1 queues
//!    mail of its own. Then those people turn their mail off (`setNotificationPreferences`, as
//!    anyone may), and the bench waits until nothing is due, so that what follows measures the
//!    drain of the burst beside M1's mutations alone.
//! 1. M1 at its fixed rate with an idle queue (after a warm-up of a fifth).
//! 2. The burst: `--notifications / --fanout` needs submitted in the unit (`submitNeed`, 8 at a
//!    time), each a committed history event that the fan-out turns into `--fanout` deliveries.
//! 3. M1 at the same rate from the end of the burst until every delivery arrived: what a
//!    mutation costs while the queue drains.
//!
//! A delivery's latency runs from its event's `occurred_at` (stamped in the event's transaction,
//! just before the commit, as S1 reads it) to its arrival at the sink or receiver; the time it
//! was queued is the delivery row's `created_at` (the fan-out's transaction). The drain's rate
//! per channel is its messages over the time from the burst's first commit to the channel's last
//! arrival.
//!
//! No raw-SQL baseline: what is measured is the hub's queue end to end (fan-out, composition as
//! the recipient, SMTP and HTTP, recording the outcome), which has no hand-written equivalent
//! worth the comparison; the reference is M1's latency on the same hub with an idle queue.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use entity::{delivery, need_event};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;

use crate::{
    drive::Plan,
    load::Outcome,
    process::{self, Server},
    receivers::{Arrival, SmtpSink, WebhookReceiver},
    writes::{self, Member, Writes, graphql},
};

/// The unit whose coordinators and endpoints hear of the burst (Eigersund: not one of M1's).
pub const UNIT: &str = "1101";

/// Members of [`UNIT`] who submit the burst's needs.
const SUBMITTERS: usize = 4;

/// Needs submitted at once in the burst.
const BURST_CONCURRENCY: usize = 8;

/// M1 while the queue drains runs in slices this long, and stops after the slice in which the
/// last delivery arrived.
const SLICE: Duration = Duration::from_millis(500);

/// The N1 settings.
#[derive(Clone, Debug)]
pub struct N1Options {
    /// Deliveries to queue (rounded down to a multiple of `fanout`).
    pub notifications: usize,
    /// Deliveries per event: half e-mails (rounded down), the rest webhooks.
    pub fanout: usize,
    /// M1's workers and rate.
    pub writers: usize,
    pub write_rate: f64,
    /// M1 with an idle queue.
    pub duration: Duration,
    /// How long to wait for the drain before giving up.
    pub patience: Duration,
}

impl N1Options {
    fn emails_per_event(&self) -> usize {
        self.fanout / 2
    }

    fn webhooks_per_event(&self) -> usize {
        self.fanout - self.emails_per_event()
    }

    fn events(&self) -> usize {
        self.notifications / self.fanout.max(1)
    }
}

/// The people N1 makes before the hub starts: the unit's coordinators (who get the mails), the
/// members who submit, and tokens of the people M1's writes tell (to turn their mail off).
pub struct Cast {
    coordinators: Vec<(String, String)>,
    submitters: Vec<Member>,
    told_by_m1: Vec<String>,
}

/// Makes (or finds again: the addresses are fixed) N1's people and their tokens with the hub's
/// command line. Run it before the hub starts.
pub fn cast(hub: &str, database_url: &str, o: &N1Options) -> Result<Cast, String> {
    let coordinators = (0..o.emails_per_event().max(1))
        .map(|i| {
            let email = format!("bench-notify-coordinator-{i}@bench.example.no");
            let role = ["--role", "unit-coordinator", "--organisation", UNIT];
            let token =
                process::create_token(hub, database_url, &format!("Bench Koordinator {i}"), &email, &role)?;
            Ok((token, email))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let submitters = (0..SUBMITTERS)
        .map(|i| {
            let email = format!("bench-notify-member-{i}@bench.example.no");
            let role = ["--role", "unit-member", "--organisation", UNIT];
            let token =
                process::create_token(hub, database_url, &format!("Bench Medlem {i}"), &email, &role)?;
            Ok(Member { token, municipality: UNIT })
        })
        .collect::<Result<Vec<_>, String>>()?;
    // The dataset's one member of each of M1's municipalities (`sample`), found by address.
    let told_by_m1 = writes::MUNICIPALITIES
        .iter()
        .map(|code| {
            let email = format!("medlem.{code}@bench.example.no");
            let role = ["--role", "unit-member", "--organisation", code];
            process::create_token(hub, database_url, &format!("Medlem {code}"), &email, &role)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Cast { coordinators, submitters, told_by_m1 })
}

/// One channel's drain.
pub struct ChannelRow {
    pub channel: &'static str,
    pub expected: u64,
    /// Distinct messages of the burst that arrived.
    pub received: u64,
    /// Messages that arrived more than once.
    pub duplicates: u64,
    /// From the burst's first commit to the channel's last arrival.
    pub drained: Duration,
    /// Commit to arrival, microseconds.
    pub latency: Histogram<u64>,
    /// Commit to the delivery row's writing by the fan-out, microseconds.
    pub queued: Histogram<u64>,
}

impl ChannelRow {
    fn new(channel: &'static str, expected: u64) -> Self {
        Self {
            channel,
            expected,
            received: 0,
            duplicates: 0,
            drained: Duration::ZERO,
            latency: histogram(),
            queued: histogram(),
        }
    }

    pub fn per_second(&self) -> f64 {
        self.received as f64 / self.drained.as_secs_f64().max(1e-9)
    }

    fn merge(&mut self, other: &ChannelRow) {
        self.expected += other.expected;
        self.received += other.received;
        self.duplicates += other.duplicates;
        self.drained = self.drained.max(other.drained);
        let _ = self.latency.add(&other.latency);
        let _ = self.queued.add(&other.queued);
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("histogram bounds")
}

/// Everything N1 measured.
pub struct N1Row {
    pub events: usize,
    pub fanout: usize,
    /// How long the burst's submissions took.
    pub burst: Duration,
    pub burst_errors: u64,
    /// E-mail, webhook, and both.
    pub channels: Vec<ChannelRow>,
    /// M1 with its own notifications on, and the e-mails it queued and that arrived meanwhile.
    pub m1_own_mail: Outcome,
    pub m1_own_queued: f64,
    pub m1_own_arrived: u64,
    /// How long the queue M1 left took to empty once its recipients turned their mail off.
    pub m1_own_backlog: Duration,
    pub m1_idle: Outcome,
    pub m1_draining: Option<Outcome>,
    pub write_rate: f64,
    pub writers: usize,
    /// Webhooks the receiver refused (a signature or timestamp that did not verify), and why.
    pub refused: u64,
    pub first_refusal: Option<String>,
    /// Mails of M1's own notifications (to M1's writers and the units they co-sign for) that
    /// arrived during the run.
    pub other_mails: u64,
    /// Hub CPU seconds from the burst's start to the drain's end. (The workers' SQL statements
    /// are not in `hub_sql_statements_total`, which counts requests' only.)
    pub hub_cpu_s: f64,
    /// The hub's counters over the drain: sent, retried, failed, skipped (both channels).
    pub counters: [f64; 4],
    pub rss_mib: f64,
    pub first_error: Option<String>,
}

pub const CHANNEL_HEADER: &str = "| N1 channel | delivered / expected | duplicates | drained in s | messages/s | commit→delivery p50 ms | p99 ms | max ms | commit→queued p50 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

pub fn channel_row(c: &ChannelRow) -> String {
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "| {} | {} / {} | {} | {:.2} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
        c.channel,
        c.received,
        c.expected,
        c.duplicates,
        c.drained.as_secs_f64(),
        c.per_second(),
        ms(&c.latency, 0.5),
        ms(&c.latency, 0.99),
        c.latency.max() as f64 / 1000.0,
        ms(&c.queued, 0.5),
        ms(&c.queued, 0.99),
    )
}

pub const M1_HEADER: &str = "| M1 beside N1 | queue | writes | writes/s | p50 ms | p99 ms | p99.9 ms | errors |\n|---|---|---:|---:|---:|---:|---:|---:|\n";

pub fn m1_rows(r: &N1Row) -> String {
    let row = |queue: &str, o: &Outcome| {
        format!(
            "| {} writes/s, {} workers | {queue} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |\n",
            r.write_rate,
            r.writers,
            o.ok,
            o.throughput(),
            o.ms(0.5),
            o.ms(0.99),
            o.ms(0.999),
            o.errors
        )
    };
    let mut out = row("M1's own mail on", &r.m1_own_mail);
    out.push_str(&row("idle", &r.m1_idle));
    match &r.m1_draining {
        Some(o) => out.push_str(&row("draining", o)),
        None => out.push_str("| | draining | - | - | - | - | - | - |\n"),
    }
    out
}

/// The lines under N1's tables.
pub fn facts(r: &N1Row) -> String {
    let [sent, retried, failed, skipped] = r.counters;
    let seconds = r.m1_own_mail.elapsed.as_secs_f64().max(1e-9);
    format!(
        "- N1, M1 with its own mail on: {:.0} e-mails queued ({:.0}/s), {} arrived during the {:.0} s; its queue took {:.1} s to empty once the recipients turned their mail off\n- N1: {} events ({} deliveries each) submitted in {:.2} s ({} errors); hub CPU {:.1} s over the burst and the drain; hub counters over the drain: {sent} sent, {retried} retried, {failed} failed, {skipped} skipped; {} webhooks refused by the receiver; {} mails of M1's own notifications over the run; hub RSS {:.1} MiB\n",
        r.m1_own_queued,
        r.m1_own_queued / seconds,
        r.m1_own_arrived,
        seconds,
        r.m1_own_backlog.as_secs_f64(),
        r.events,
        r.fanout,
        r.burst.as_secs_f64(),
        r.burst_errors,
        r.hub_cpu_s,
        r.refused,
        r.other_mails,
        r.rss_mib,
    )
}

/// Starts the hub on `database_url` sending to a fresh sink and receiver, sets N1 up, and runs it.
pub async fn n1(
    hub_binary: &str,
    database_url: &str,
    client: &reqwest::Client,
    cast: Cast,
    m1_members: Vec<Member>,
    o: &N1Options,
) -> Result<N1Row, String> {
    let sink = SmtpSink::start().await?;
    let receiver = WebhookReceiver::start().await?;
    let port = sink.port.to_string();
    let hub = process::start_hub_with(
        hub_binary,
        database_url,
        &[
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &port,
            "--smtp-security",
            "none",
            "--webhooks-allow-private-addresses",
        ],
    )?;
    prepare(client, &hub, &cast, &receiver, o).await?;
    let m1 = Arc::new(Writes::new(client.clone(), &hub.base, m1_members).await?);
    let burst_writes = Arc::new(Writes::new(client.clone(), &hub.base, cast.submitters).await?);
    let m1_plan = Plan { concurrency: o.writers, duration: o.duration, rate: Some(o.write_rate) };

    // 0. M1 as it is, telling people of its co-signatures; then they turn that off.
    let told_by_m1 = || m1.tokens().chain(cast.told_by_m1.iter().map(String::as_str));
    set_mail(client, &hub, told_by_m1(), true).await?;
    let _warm_up = writes::writes_alone(&m1, Plan { duration: o.duration / 5, ..m1_plan }).await;
    let queued_mail = "hub_notifications_queued_total{channel=\"email\"}";
    let queued_before = process::metric(client, &hub.base, queued_mail).await;
    let arrived_before = sink.arrivals.count();
    let m1_own_mail = writes::writes_alone(&m1, m1_plan).await;
    let m1_own_queued = process::metric(client, &hub.base, queued_mail).await - queued_before;
    let m1_own_arrived = sink.arrivals.count() - arrived_before;
    let quieted = Instant::now();
    set_mail(client, &hub, told_by_m1(), false).await?;
    wait_until_idle(database_url, o.patience).await?;
    let m1_own_backlog = quieted.elapsed();

    // 1. M1 with an idle queue.
    let _warm_up = writes::writes_alone(&m1, Plan { duration: o.duration / 5, ..m1_plan }).await;
    let m1_idle = writes::writes_alone(&m1, m1_plan).await;
    // Let the idle phase's own notifications go out before the burst.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // 2. The burst.
    let before = Snapshot::take(client, &hub).await;
    let coordinators: HashSet<String> = cast.coordinators.iter().map(|(_, email)| email.clone()).collect();
    let expected_emails = (o.events() * o.emails_per_event()) as u64;
    let expected_webhooks = (o.events() * o.webhooks_per_event()) as u64;
    let started = Instant::now();
    let submissions = futures_util::stream::iter(0..o.events())
        .map(|i| {
            let burst_writes = burst_writes.clone();
            async move { burst_writes.submit(i).await }
        })
        .buffer_unordered(BURST_CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let burst = started.elapsed();
    let burst_errors = submissions.iter().filter(|s| s.is_err()).count() as u64;
    let mut first_error = submissions.into_iter().find_map(Result::err);

    // 3. M1 while the queue drains, until every delivery arrived or patience runs out.
    let drained = || {
        let emails = sink.arrivals.all().iter().filter(|a| coordinators.contains(&a.to)).count() as u64;
        emails >= expected_emails && receiver.arrivals.count() >= expected_webhooks
    };
    let mut m1_draining: Option<Outcome> = None;
    while !drained() && started.elapsed() < o.patience {
        let slice = writes::writes_alone(&m1, Plan { duration: SLICE, ..m1_plan }).await;
        match m1_draining.as_mut() {
            Some(all) => merge(all, slice),
            None => m1_draining = Some(slice),
        }
    }
    while !drained() && started.elapsed() < o.patience {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let after = Snapshot::take(client, &hub).await;
    if !drained() {
        first_error.get_or_insert(format!("the queue did not drain in {} s", o.patience.as_secs()));
    }

    // What arrived, against when its event was committed and its delivery queued.
    let mails = sink.arrivals.all();
    let other_mails = mails.iter().filter(|a| !coordinators.contains(&a.to)).count() as u64;
    let mails: Vec<Arrival> = mails.into_iter().filter(|a| coordinators.contains(&a.to)).collect();
    let hooks = receiver.arrivals.all();
    let times = Times::read(database_url, mails.iter().chain(&hooks)).await?;
    let email = measure("e-mail", expected_emails, &mails, &times);
    let webhook = measure("webhook", expected_webhooks, &hooks, &times);
    let mut both = ChannelRow::new("both", 0);
    both.merge(&email);
    both.merge(&webhook);
    let counter_delta = |i: usize| after.counters[i] - before.counters[i];
    Ok(N1Row {
        events: o.events(),
        fanout: o.fanout,
        burst,
        burst_errors,
        channels: vec![email, webhook, both],
        m1_own_mail,
        m1_own_queued,
        m1_own_arrived,
        m1_own_backlog,
        m1_idle,
        m1_draining,
        write_rate: o.write_rate,
        writers: o.writers,
        refused: receiver.arrivals.refused.load(Ordering::Relaxed),
        first_refusal: receiver.arrivals.first_refusal.lock().expect("the lock").clone(),
        other_mails,
        hub_cpu_s: after.cpu - before.cpu,
        counters: [counter_delta(0), counter_delta(1), counter_delta(2), counter_delta(3)],
        rss_mib: process::rss_mib(hub.child.id()),
        first_error,
    })
}

/// The hub's counters at one moment.
struct Snapshot {
    cpu: f64,
    /// Sent, retried, failed, skipped: both channels.
    counters: [f64; 4],
}

impl Snapshot {
    async fn take(client: &reqwest::Client, hub: &Server) -> Self {
        let mut counters = [0.0; 4];
        for (i, name) in ["sent", "retried", "failed", "skipped"].into_iter().enumerate() {
            for channel in ["email", "webhook"] {
                let metric = format!("hub_notifications_{name}_total{{channel=\"{channel}\"}}");
                counters[i] += process::metric(client, &hub.base, &metric).await;
            }
        }
        Self { cpu: process::cpu_seconds(hub.child.id()), counters }
    }
}

fn merge(all: &mut Outcome, slice: Outcome) {
    let _ = all.latency.add(&slice.latency);
    all.ok += slice.ok;
    all.errors += slice.errors;
    all.elapsed += slice.elapsed;
    if all.first_error.is_none() {
        all.first_error = slice.first_error;
    }
}

/// The coordinators' preferences, and the endpoints (those of an earlier run on the same
/// database deleted first, so that none of them fails and is retried).
async fn prepare(
    client: &reqwest::Client,
    hub: &Server,
    cast: &Cast,
    receiver: &WebhookReceiver,
    o: &N1Options,
) -> Result<(), String> {
    const PREFERENCES: &str = "mutation { setNotificationPreferences(input: { preferences: [
        { kind: NEW_NEED_IN_MY_UNITS, cadence: IMMEDIATE } ] }) { userErrors { field message } } }";
    for (token, _) in &cast.coordinators {
        let data = graphql(client, &hub.base, Some(token), &json!({ "query": PREFERENCES })).await?;
        no_user_errors(&data, "setNotificationPreferences")?;
    }
    let Some((owner, _)) = cast.coordinators.first() else { return Err("no coordinator".into()) };
    let listed = graphql(
        client,
        &hub.base,
        Some(owner),
        &json!({ "query": "query($o: ID!) { organisation(id: $o) { webhooks(first: 100) { nodes { id } } } }",
                 "variables": { "o": UNIT } }),
    )
    .await?;
    let old = listed["organisation"]["webhooks"]["nodes"].as_array().cloned().unwrap_or_default();
    for endpoint in old {
        let body = json!({
            "query": "mutation($w: ID!) { deleteWebhook(input: { webhook: $w }) { userErrors { field message } } }",
            "variables": { "w": endpoint["id"] },
        });
        let data = graphql(client, &hub.base, Some(owner), &body).await?;
        no_user_errors(&data, "deleteWebhook")?;
    }
    const REGISTER: &str = "mutation($i: RegisterWebhookInput!) { registerWebhook(input: $i) {
        secret userErrors { field message } } }";
    for n in 0..o.webhooks_per_event() {
        let input = json!({
            "organisation": UNIT,
            "url": receiver.url(n),
            "events": ["NEED_CREATED"],
            "description": format!("knowledge-hub-bench N1 receiver {n}"),
        });
        let data = graphql(
            client,
            &hub.base,
            Some(owner),
            &json!({ "query": REGISTER, "variables": { "i": input } }),
        )
        .await?;
        no_user_errors(&data, "registerWebhook")?;
        let secret = data["registerWebhook"]["secret"].as_str().ok_or("registerWebhook: no secret")?;
        receiver.trust(n, secret)?;
    }
    Ok(())
}

/// For each of `tokens`' people (unit members), turns the mail a need's change may send on, as
/// a unit member's defaults have it (an earlier run on the same database turned it off), or off.
async fn set_mail<'a>(
    client: &reqwest::Client,
    hub: &Server,
    tokens: impl Iterator<Item = &'a str>,
    on: bool,
) -> Result<(), String> {
    let cadence = if on { "IMMEDIATE" } else { "OFF" };
    let query = format!(
        "mutation {{ setNotificationPreferences(input: {{ preferences: [
        {{ kind: NEED_COSIGNED, cadence: {cadence} }}, {{ kind: NEED_STATUS_CHANGED, cadence: {cadence} }},
        {{ kind: NEED_COMMENTED, cadence: {cadence} }}, {{ kind: NEW_NEED_IN_MY_UNITS, cadence: OFF }} ] }})
        {{ userErrors {{ field message }} }} }}"
    );
    for token in tokens {
        let data = graphql(client, &hub.base, Some(token), &json!({ "query": query })).await?;
        no_user_errors(&data, "setNotificationPreferences")?;
    }
    Ok(())
}

/// Waits until no event waits for the fan-out and no delivery is due (read from the database, as
/// the workers would find them).
async fn wait_until_idle(database_url: &str, patience: Duration) -> Result<(), String> {
    use entity::enums::DeliveryChannel;
    use knowledge_hub::db::notify::{
        deliveries::{self, Take},
        pending,
    };
    let db = knowledge_hub::db::Db::connect(database_url).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        let now = Utc::now();
        let mut busy = pending::any(db.conn()).await.map_err(|e| e.to_string())?;
        for take in
            [Take::Single(DeliveryChannel::Email), Take::Single(DeliveryChannel::Webhook), Take::Digests]
        {
            busy |= deliveries::any_due(db.conn(), take, now).await.map_err(|e| e.to_string())?;
        }
        if !busy {
            return Ok(());
        }
        if started.elapsed() > patience {
            return Err(format!("the queue M1 left did not empty in {} s", patience.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn no_user_errors(data: &serde_json::Value, field: &str) -> Result<(), String> {
    match data[field]["userErrors"].as_array() {
        Some(errors) if errors.is_empty() => Ok(()),
        _ => Err(format!("{field}: {}", data[field])),
    }
}

/// When each event was committed and each delivery queued, read from the database.
struct Times {
    /// Event id to `occurred_at`.
    committed: HashMap<i32, DateTime<Utc>>,
    /// Message id to the delivery row's `created_at`.
    queued: HashMap<String, DateTime<Utc>>,
}

impl Times {
    async fn read(database_url: &str, arrivals: impl Iterator<Item = &Arrival>) -> Result<Self, String> {
        let db = knowledge_hub::db::Db::connect(database_url).await.map_err(|e| e.to_string())?;
        let mut events: Vec<i32> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for a in arrivals {
            events.extend(event_of(&a.id));
            ids.push(a.id.clone());
        }
        events.sort_unstable();
        events.dedup();
        ids.sort_unstable();
        ids.dedup();
        let mut committed = HashMap::new();
        for chunk in events.chunks(500) {
            let rows: Vec<(i32, DateTime<Utc>)> = need_event::Entity::find()
                .select_only()
                .column(need_event::Column::Id)
                .column(need_event::Column::OccurredAt)
                .filter(need_event::Column::Id.is_in(chunk.iter().copied()))
                .into_tuple()
                .all(db.conn())
                .await
                .map_err(|e| e.to_string())?;
            committed.extend(rows);
        }
        let mut queued = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(String, DateTime<Utc>)> = delivery::Entity::find()
                .select_only()
                .column(delivery::Column::MessageId)
                .column(delivery::Column::CreatedAt)
                .filter(delivery::Column::MessageId.is_in(chunk.iter().cloned()))
                .into_tuple()
                .all(db.conn())
                .await
                .map_err(|e| e.to_string())?;
            queued.extend(rows);
        }
        Ok(Self { committed, queued })
    }
}

/// The event a message id tells of: `email:12:need:34` and `webhook:3:need:34` tell of 34.
fn event_of(message_id: &str) -> Option<i32> {
    let mut parts = message_id.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some("need"), Some(event)) => event.parse().ok(),
        _ => None,
    }
}

fn micros(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    (to - from).num_microseconds().unwrap_or(0).max(1) as u64
}

/// One channel's figures from its arrivals; its drain counts from the first commit of the burst
/// (of either channel).
fn measure(channel: &'static str, expected: u64, arrivals: &[Arrival], times: &Times) -> ChannelRow {
    let mut row = ChannelRow::new(channel, expected);
    let mut seen = HashSet::new();
    let first_commit = times.committed.values().min().copied();
    for a in arrivals {
        if !seen.insert(a.id.as_str()) {
            row.duplicates += 1;
            continue;
        }
        let Some(committed) = event_of(&a.id).and_then(|e| times.committed.get(&e)) else { continue };
        row.received += 1;
        let _ = row.latency.record(micros(*committed, a.at));
        if let Some(queued) = times.queued.get(&a.id) {
            let _ = row.queued.record(micros(*committed, *queued));
        }
        if let Some(first) = first_commit {
            row.drained = row.drained.max((a.at - first).to_std().unwrap_or_default());
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_name_their_event() {
        assert_eq!(event_of("email:12:need:34"), Some(34));
        assert_eq!(event_of("webhook:3:need:7"), Some(7));
        assert_eq!(event_of("email:12:commission:34"), None);
        assert_eq!(event_of("digest:1:2026-11-30"), None);
    }
}
