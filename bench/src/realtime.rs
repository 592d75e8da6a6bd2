//! S1 and S2: subscriptions over WebSocket (graphql-transport-ws at `/graphql/ws`).
//!
//! Subscribers are anonymous dashboards holding `needEvents` (the public sees every published
//! need's events). An event is triggered with `submitNeed` (one `CREATED` event per need); its
//! latency is measured per subscriber from the event's `occurredAt` (stamped by the hub inside the
//! writing transaction, just before the commit) to the moment the subscriber reads it, on the
//! same machine's clock. So each figure is an upper bound of commit-to-receipt, and includes the
//! hub's relay, the fan-out, the loopback network and this process reading the frame.
//!
//! - S1 (a): one event to N subscribers: the distribution over subscribers, and the last receipt.
//!   A warm-up event first proves that every subscription is active.
//! - S1 (b): events at a fixed rate for a while: the distribution over all receipts.
//! - S2: N idle connections with one subscription each: the hub's RSS before and after.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::{
    net::TcpStream,
    sync::{Semaphore, mpsc, watch},
};
use tokio_tungstenite::{
    WebSocketStream, client_async_with_config,
    tungstenite::{
        Message,
        client::IntoClientRequest,
        http::HeaderValue,
        protocol::{CloseFrame, WebSocketConfig},
    },
};

use crate::{
    drive::{self, Plan},
    process::{self, Server},
    writes::Writes,
};

/// What every subscriber selects: small, and nothing that costs the hub a query per subscriber.
pub const SUBSCRIPTION: &str = "subscription { needEvents { cursor kind occurredAt } }";
/// Connections being opened at once (the listen backlog is 1024).
const OPENING: usize = 128;
/// How long to wait for an answer while opening, and for an event to reach everyone.
const PATIENCE: Duration = Duration::from_secs(30);

type Socket = WebSocketStream<TcpStream>;

/// What a subscriber reports.
enum Receipt {
    /// An event, by cursor, and microseconds from its `occurredAt` to its receipt.
    Event { cursor: Box<str>, micros: u64 },
    /// The connection ended or the subscription failed.
    Ended(String),
}

/// Raises this process's open-file limit to its hard limit (and, for root, the hard limit to
/// 65,536 when lower), before the hub starts: the child inherits it. Returns the limit in force.
pub fn raise_open_files() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.map_or(1 << 20, |max| max.max(65_536));
    if setrlimit(Resource::Nofile, Rlimit { current: Some(wanted), maximum: Some(wanted) }).is_err() {
        let _ = setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum });
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Opens a graphql-transport-ws connection to `addr` (`host:port`), waits for `connection_ack`
/// and subscribes once.
async fn open(addr: &str, query: &str) -> Result<Socket, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut request = format!("ws://{addr}/graphql/ws").into_client_request().map_err(|e| e.to_string())?;
    request.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
    // Small buffers: the messages are small, and there may be 10,000 of these in this process.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut socket, _) =
        client_async_with_config(request, stream, Some(config)).await.map_err(|e| format!("upgrade: {e}"))?;
    send(&mut socket, &json!({ "type": "connection_init", "payload": {} })).await?;
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .map_err(|_| "no connection_ack in time".to_owned())?;
        match message {
            Some(Ok(Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                match value["type"].as_str() {
                    Some("connection_ack") => break,
                    Some("ping") => send(&mut socket, &json!({ "type": "pong" })).await?,
                    _ => return Err(format!("instead of connection_ack: {text}")),
                }
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("closed while opening: {}", close(frame))),
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed while opening".into()),
        }
    }
    send(&mut socket, &json!({ "id": "1", "type": "subscribe", "payload": { "query": query } })).await?;
    Ok(socket)
}

async fn send(socket: &mut Socket, message: &Value) -> Result<(), String> {
    socket.send(Message::text(message.to_string())).await.map_err(|e| e.to_string())
}

fn close(frame: Option<CloseFrame>) -> String {
    frame.map_or("no close frame".into(), |f| format!("{} {}", u16::from(f.code), f.reason))
}

/// Reads a subscriber's messages until told to stop, reporting every event.
async fn listen(
    mut socket: Socket,
    receipts: mpsc::UnboundedSender<Receipt>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let message = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            message = socket.next() => message,
        };
        let ended = match message {
            Some(Ok(Message::Text(text))) => {
                let received = Utc::now();
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    let _ = receipts.send(Receipt::Ended(format!("not JSON: {text}")));
                    continue;
                };
                match value["type"].as_str() {
                    Some("next") => {
                        let event = &value["payload"]["data"]["needEvents"];
                        let at =
                            event["occurredAt"].as_str().and_then(|at| DateTime::parse_from_rfc3339(at).ok());
                        match (event["cursor"].as_str(), at, value["payload"].get("errors")) {
                            (Some(cursor), Some(at), None) => {
                                let micros =
                                    (received - at.with_timezone(&Utc)).num_microseconds().unwrap_or(0);
                                let _ = receipts.send(Receipt::Event {
                                    cursor: cursor.into(),
                                    micros: micros.max(1) as u64,
                                });
                                None
                            }
                            _ => Some(format!("a bad event: {text}")),
                        }
                    }
                    Some("ping") => send(&mut socket, &json!({ "type": "pong" })).await.err(),
                    Some("pong") => None,
                    _ => Some(format!("the subscription ended: {text}")),
                }
            }
            Some(Ok(Message::Close(frame))) => Some(format!("closed by the hub: {}", close(frame))),
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(e.to_string()),
            None => Some("closed by the hub".into()),
        };
        if let Some(reason) = ended {
            let _ = receipts.send(Receipt::Ended(reason));
            return;
        }
    }
    let _ = socket.close(None).await;
}

/// Subscribers, opened in bulk; all report to one channel.
pub struct Subscribers {
    addr: String,
    open: usize,
    receipts: mpsc::UnboundedReceiver<Receipt>,
    sender: mpsc::UnboundedSender<Receipt>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Cursors of the events already measured (late receipts of them are ignored).
    done: HashSet<Box<str>>,
    /// Connections that ended, and the first reason.
    pub ended: u64,
    pub first_error: Option<String>,
}

impl Subscribers {
    pub fn new(base: &str) -> Self {
        let (sender, receipts) = mpsc::unbounded_channel();
        Self {
            addr: base.trim_start_matches("http://").trim_end_matches('/').to_owned(),
            open: 0,
            receipts,
            sender,
            stop: watch::channel(false).0,
            tasks: Vec::new(),
            done: HashSet::new(),
            ended: 0,
            first_error: None,
        }
    }

    pub fn len(&self) -> usize {
        self.open
    }

    /// Opens subscribers until there are `to`; fails on the first that cannot be opened.
    pub async fn grow(&mut self, to: usize) -> Result<(), String> {
        let wanted = to.saturating_sub(self.open);
        let opening = Arc::new(Semaphore::new(OPENING));
        let (ready, mut readies) = mpsc::unbounded_channel::<Result<(), String>>();
        for _ in 0..wanted {
            let (addr, opening, ready) = (self.addr.clone(), opening.clone(), ready.clone());
            let (receipts, stop) = (self.sender.clone(), self.stop.subscribe());
            self.tasks.push(tokio::spawn(async move {
                let permit = opening.acquire_owned().await;
                let socket = open(&addr, SUBSCRIPTION).await;
                drop(permit);
                match socket {
                    Ok(socket) => {
                        let _ = ready.send(Ok(()));
                        listen(socket, receipts, stop).await;
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            }));
        }
        drop(ready);
        let mut first_error = None;
        for _ in 0..wanted {
            match readies.recv().await {
                Some(Ok(())) => self.open += 1,
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                None => break,
            }
        }
        match first_error {
            Some(e) => Err(format!("{} of {to} subscribers open; first failure: {e}", self.open)),
            None => Ok(()),
        }
    }

    fn ended(&mut self, reason: String) {
        self.ended += 1;
        self.first_error.get_or_insert(reason);
    }

    /// Waits for one event to reach every subscriber (or for `PATIENCE`): receipts of the first
    /// cursor not measured before go to the histogram.
    async fn one_event(&mut self) -> Fanout {
        let mut fanout = Fanout::new(self.open);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let mut cursor: Option<Box<str>> = None;
        while fanout.received < self.open as u64 {
            let Ok(Some(receipt)) = tokio::time::timeout_at(deadline, self.receipts.recv()).await else {
                break;
            };
            match receipt {
                Receipt::Event { cursor: c, micros } => {
                    if self.done.contains(&c) {
                        continue;
                    }
                    if cursor.get_or_insert_with(|| c.clone()) == &c {
                        fanout.record(micros);
                    }
                }
                Receipt::Ended(reason) => self.ended(reason),
            }
        }
        if let Some(cursor) = cursor {
            self.done.insert(cursor);
        }
        fanout
    }

    /// Closes every subscriber.
    pub async fn close(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// Receipts of events by subscribers.
pub struct Fanout {
    /// Microseconds from `occurredAt` to receipt.
    pub latency: Histogram<u64>,
    pub received: u64,
    pub expected: u64,
    /// The last receipt of each event (microseconds).
    pub last: Vec<u64>,
}

impl Fanout {
    fn new(expected: usize) -> Self {
        Self {
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
            received: 0,
            expected: expected as u64,
            last: vec![0],
        }
    }

    fn record(&mut self, micros: u64) {
        self.received += 1;
        let _ = self.latency.record(micros.min(60_000_000));
        if let Some(last) = self.last.last_mut() {
            *last = (*last).max(micros);
        }
    }

    fn merge(&mut self, other: Fanout) {
        let _ = self.latency.add(&other.latency);
        self.received += other.received;
        self.expected += other.expected;
        self.last.extend(other.last);
    }

    pub fn ms(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// One S1 or S2 row.
pub struct RealtimeRow {
    pub name: String,
    pub subscribers: usize,
    pub events: u64,
    pub fanout: Fanout,
    /// Events per second actually triggered (S1 b).
    pub event_rate: Option<f64>,
    pub ended: u64,
    pub first_error: Option<String>,
    /// Hub CPU time per delivered message, microseconds.
    pub hub_cpu_us_per_receipt: f64,
    /// This process's CPU time over the run (it shares the 2 cores with the hub).
    pub bench_cpu_s: f64,
    pub rss_mib: f64,
}

pub const S1_HEADER: &str = "| scenario | subscribers | events | receipts / expected | p50 ms | p99 ms | p99.9 ms | last receipt ms (each event, or max) | ended connections | hub CPU µs/receipt | bench CPU s | hub RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

pub fn s1_row(r: &RealtimeRow) -> String {
    let last = if r.fanout.last.len() <= 5 {
        r.fanout.last.iter().map(|l| format!("{:.1}", *l as f64 / 1000.0)).collect::<Vec<_>>().join(" / ")
    } else {
        format!("{:.1}", r.fanout.latency.max() as f64 / 1000.0)
    };
    let events = r.event_rate.map_or(r.events.to_string(), |rate| format!("{} ({rate:.0}/s)", r.events));
    format!(
        "| {} | {} | {events} | {} / {} | {:.2} | {:.2} | {:.2} | {last} | {} | {:.1} | {:.1} | {:.1} |\n",
        r.name,
        r.subscribers,
        r.fanout.received,
        r.fanout.expected,
        r.fanout.ms(0.5),
        r.fanout.ms(0.99),
        r.fanout.ms(0.999),
        r.ended,
        r.hub_cpu_us_per_receipt,
        r.bench_cpu_s,
        r.rss_mib,
    )
}

/// The S1 settings.
pub struct S1Options {
    /// Subscriber counts for one event each (e.g. 100, 1,000, 10,000).
    pub subscribers: Vec<usize>,
    /// Events measured per subscriber count in (a).
    pub single_events: usize,
    /// Subscribers and events per second for (b), and for how long.
    pub rate_subscribers: usize,
    pub event_rate: f64,
    pub duration: Duration,
}

fn snapshot(hub: &Server) -> (f64, f64) {
    (process::cpu_seconds(hub.child.id()), process::cpu_seconds(std::process::id()))
}

/// Runs S1 on `hub`; `writes` triggers the events. Prints each row as it finishes.
pub async fn s1(
    hub: &Server,
    writes: Arc<Writes>,
    o: &S1Options,
    print: impl Fn(&RealtimeRow),
) -> Result<Vec<RealtimeRow>, String> {
    let mut subscribers = Subscribers::new(&hub.base);
    let mut rows = Vec::new();
    let mut counts = o.subscribers.clone();
    if !counts.contains(&o.rate_subscribers) && o.event_rate > 0.0 {
        counts.push(o.rate_subscribers);
    }
    counts.sort_unstable();
    counts.dedup();
    for n in counts {
        let opened = Instant::now();
        subscribers.grow(n).await?;
        eprintln!("  {n} subscribers open in {:.1} s", opened.elapsed().as_secs_f64());
        // Let the hub register the last subscriptions (graphql-transport-ws does not acknowledge
        // them), then a warm-up event that every subscription must receive.
        tokio::time::sleep(Duration::from_millis(500)).await;
        writes.submit(0).await?;
        let warm = subscribers.one_event().await;
        if warm.received < n as u64 {
            eprintln!("  warm-up: only {} of {n} subscribers received the event", warm.received);
        }
        if o.subscribers.contains(&n) {
            let (hub_cpu, bench_cpu) = snapshot(hub);
            let mut all: Option<Fanout> = None;
            for _ in 0..o.single_events.max(1) {
                writes.submit(0).await?;
                let fanout = subscribers.one_event().await;
                match all.as_mut() {
                    Some(all) => all.merge(fanout),
                    None => all = Some(fanout),
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let fanout = all.expect("at least one event");
            let (hub_cpu_after, bench_cpu_after) = snapshot(hub);
            let row = RealtimeRow {
                name: "S1 one event to all".into(),
                subscribers: n,
                events: o.single_events.max(1) as u64,
                hub_cpu_us_per_receipt: (hub_cpu_after - hub_cpu) * 1e6 / fanout.received.max(1) as f64,
                bench_cpu_s: bench_cpu_after - bench_cpu,
                fanout,
                event_rate: None,
                ended: subscribers.ended,
                first_error: subscribers.first_error.clone(),
                rss_mib: process::rss_mib(hub.child.id()),
            };
            print(&row);
            rows.push(row);
        }
        if n == o.rate_subscribers && o.event_rate > 0.0 {
            let row = at_rate(hub, &mut subscribers, &writes, o).await;
            print(&row);
            rows.push(row);
        }
    }
    subscribers.close().await;
    Ok(rows)
}

/// S1 (b): events at `o.event_rate` for `o.duration`, then up to `PATIENCE` for the stragglers.
async fn at_rate(
    hub: &Server,
    subscribers: &mut Subscribers,
    writes: &Arc<Writes>,
    o: &S1Options,
) -> RealtimeRow {
    let (hub_cpu, bench_cpu) = snapshot(hub);
    let n = subscribers.len();
    let plan = Plan { concurrency: 8, duration: o.duration, rate: Some(o.event_rate) };
    let trigger = {
        let writes = writes.clone();
        tokio::spawn(drive::run(plan, 1, move |worker, _| {
            let writes = writes.clone();
            async move { (0, writes.submit(worker).await.map(drop)) }
        }))
    };
    let mut fanout = Fanout::new(0);
    let mut per_event: HashMap<Box<str>, u64> = HashMap::new();
    let mut triggered = None;
    let mut trigger = Some(trigger);
    let mut patience = None::<tokio::time::Instant>;
    loop {
        if let Some(t) = trigger.as_mut().filter(|t| t.is_finished()) {
            let outcome = t.await.ok().and_then(|mut o| o.pop());
            triggered = Some(outcome);
            trigger = None;
            patience = Some(tokio::time::Instant::now() + PATIENCE);
        }
        if let Some(Some(outcome)) = &triggered
            && fanout.received >= outcome.ok * n as u64
        {
            break;
        }
        let wait = patience.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_millis(50));
        let wait = wait.min(tokio::time::Instant::now() + Duration::from_millis(50));
        match tokio::time::timeout_at(wait, subscribers.receipts.recv()).await {
            Ok(Some(Receipt::Event { cursor, micros })) => {
                if subscribers.done.contains(&cursor) {
                    continue;
                }
                fanout.record(micros);
                *per_event.entry(cursor).or_default() += 1;
            }
            Ok(Some(Receipt::Ended(reason))) => subscribers.ended(reason),
            Ok(None) => break,
            Err(_) => {
                if patience.is_some_and(|p| tokio::time::Instant::now() >= p) {
                    break;
                }
            }
        }
    }
    let outcome = triggered.flatten();
    let (ok, trigger_error) = outcome.as_ref().map_or((0, None), |o| (o.ok, o.first_error.clone()));
    fanout.expected = ok * n as u64;
    fanout.last = vec![fanout.latency.max()];
    subscribers.done.extend(per_event.into_keys());
    let (hub_cpu_after, bench_cpu_after) = snapshot(hub);
    if let Some(e) = trigger_error {
        subscribers.first_error.get_or_insert(format!("a triggering mutation failed: {e}"));
    }
    RealtimeRow {
        name: format!("S1 {} events/s for {} s", o.event_rate, o.duration.as_secs()),
        subscribers: n,
        events: ok,
        event_rate: outcome.as_ref().map(|o| o.throughput()),
        hub_cpu_us_per_receipt: (hub_cpu_after - hub_cpu) * 1e6 / fanout.received.max(1) as f64,
        bench_cpu_s: bench_cpu_after - bench_cpu,
        fanout,
        ended: subscribers.ended,
        first_error: subscribers.first_error.clone(),
        rss_mib: process::rss_mib(hub.child.id()),
    }
}

/// S2's figures.
pub struct IdleRow {
    pub connections: usize,
    pub opened_in_s: f64,
    pub hub_connections: f64,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    /// Subscribers that received a check event after the measurement.
    pub verified: u64,
    pub ended: u64,
    pub first_error: Option<String>,
}

impl IdleRow {
    pub fn kib_per_connection(&self) -> f64 {
        (self.rss_after_mib - self.rss_before_mib) * 1024.0 / self.connections.max(1) as f64
    }
}

pub const S2_HEADER: &str = "| scenario | connections | open in s | hub counts | hub RSS before MiB | hub RSS after MiB | KiB per connection | received a check event | ended connections |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";

pub fn s2_row(r: &IdleRow) -> String {
    format!(
        "| S2 idle subscribed connections | {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
        r.connections,
        r.opened_in_s,
        r.hub_connections,
        r.rss_before_mib,
        r.rss_after_mib,
        r.kib_per_connection(),
        r.verified,
        r.ended,
    )
}

/// S2 on a fresh `hub`: its RSS, `n` connections with one subscription each opened and left
/// idle, its RSS again; then one event checks that every subscription was live.
pub async fn s2(
    client: &reqwest::Client,
    hub: &Server,
    writes: &Writes,
    n: usize,
) -> Result<IdleRow, String> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before_mib = process::rss_mib(hub.child.id());
    let mut subscribers = Subscribers::new(&hub.base);
    let opened = Instant::now();
    subscribers.grow(n).await?;
    let opened_in_s = opened.elapsed().as_secs_f64();
    // Idle: let the hub finish setting up the subscriptions and settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let hub_connections = process::metric(client, &hub.base, "hub_websocket_connections").await;
    let rss_after_mib = process::rss_mib(hub.child.id());
    writes.submit(0).await?;
    let check = subscribers.one_event().await;
    let row = IdleRow {
        connections: n,
        opened_in_s,
        hub_connections,
        rss_before_mib,
        rss_after_mib,
        verified: check.received,
        ended: subscribers.ended,
        first_error: subscribers.first_error.clone(),
    };
    subscribers.close().await;
    Ok(row)
}
