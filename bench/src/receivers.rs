//! N1's far ends: a lean SMTP sink and a lean webhook receiver, real servers on 127.0.0.1 that the
//! hub sends to over TCP, written for throughput so that they are not what a drain measures. Each
//! records every message's id and the moment it arrived (the end of its DATA, or its request's
//! body read), on the clock the hub stamps its events with.
//!
//! - The SMTP sink speaks enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP,
//!   QUIT; no PIPELINING, TLS or AUTH advertised) and reads the `Message-ID` of each mail, which
//!   the hub makes from the delivery's message id (`<email%3A12%3Aneed%3A34@host>`).
//! - The webhook receiver takes `POST /hook/{n}` for the `n`-th endpoint registered, and checks
//!   every message's `webhook-signature` with the endpoint's secret as the Standard Webhooks
//!   specification has it (HMAC-SHA256 of `{id}.{timestamp}.{body}`; the hub's own `sign`, whose
//!   unit test holds it to the specification's example), and a timestamp within five minutes. A
//!   message that fails is answered 401, as a receiver would, and counted.
//!
//! The test suite's node servers (`tests/support`) parse every mail fully and append it to a file;
//! they are the reference the API tests check content against, not a throughput sink.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use chrono::{DateTime, Utc};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// A message that arrived.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// The hub's message id (`email:12:need:34`, `webhook:3:need:34`).
    pub id: String,
    /// The SMTP envelope's first recipient; the endpoint's number for a webhook.
    pub to: String,
    pub at: DateTime<Utc>,
}

/// What one server received.
#[derive(Default)]
pub struct Arrivals {
    list: Mutex<Vec<Arrival>>,
    count: AtomicU64,
    /// Webhooks whose signature or timestamp did not verify (answered 401).
    pub refused: AtomicU64,
    /// The first reason a message was refused.
    pub first_refusal: Mutex<Option<String>>,
}

impl Arrivals {
    fn push(&self, arrival: Arrival) {
        self.list.lock().expect("the lock").push(arrival);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn refuse(&self, why: String) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        self.first_refusal.lock().expect("the lock").get_or_insert(why);
    }

    /// Messages received so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Every message received so far, in the order they arrived.
    pub fn all(&self) -> Vec<Arrival> {
        self.list.lock().expect("the lock").clone()
    }
}

/// The SMTP sink: listening, and what it received.
pub struct SmtpSink {
    pub port: u16,
    pub arrivals: Arc<Arrivals>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    pub async fn start() -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("SMTP sink: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let arrivals = Arc::new(Arrivals::default());
        let shared = arrivals.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let arrivals = shared.clone();
                tokio::spawn(async move {
                    let _ = smtp_session(stream, &arrivals).await;
                });
            }
        });
        Ok(Self { port, arrivals, task })
    }
}

/// One SMTP connection, until QUIT or the peer closes it.
async fn smtp_session(stream: TcpStream, arrivals: &Arrivals) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    write.write_all(b"220 bench-sink ESMTP\r\n").await?;
    let mut line = Vec::with_capacity(256);
    let mut to: Option<String> = None;
    loop {
        line.clear();
        if read.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).map(|v| v.to_ascii_uppercase()).unwrap_or_default();
        let answer: &[u8] = match verb.as_slice() {
            b"EHLO" => b"250-bench-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            b"HELO" => b"250 bench-sink\r\n",
            b"MAIL" => {
                to = None;
                b"250 2.1.0 OK\r\n"
            }
            b"RCPT" => {
                if to.is_none() {
                    to = Some(angle_bracketed(&line));
                }
                b"250 2.1.5 OK\r\n"
            }
            b"RSET" => {
                to = None;
                b"250 2.0.0 OK\r\n"
            }
            b"NOOP" => b"250 2.0.0 OK\r\n",
            b"QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            b"DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let id = read_data(&mut read, &mut line).await?;
                arrivals.push(Arrival { id, to: to.take().unwrap_or_default(), at: Utc::now() });
                b"250 2.0.0 queued\r\n"
            }
            _ => b"502 5.5.2 not implemented\r\n",
        };
        write.write_all(answer).await?;
    }
}

/// Reads a mail up to its lone `.` line; the hub's message id from its `Message-ID` header.
async fn read_data(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> std::io::Result<String> {
    let mut id = String::new();
    let mut in_headers = true;
    loop {
        line.clear();
        if read.read_until(b'\n', line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line.as_slice() == b".\r\n" || line.as_slice() == b".\n" {
            return Ok(id);
        }
        if in_headers {
            if line.as_slice() == b"\r\n" || line.as_slice() == b"\n" {
                in_headers = false;
            } else if line.len() > 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
                let value = String::from_utf8_lossy(&line[11..]);
                let inner = value.trim().trim_start_matches('<');
                id = percent_decoded(inner.split('@').next().unwrap_or_default());
            }
        }
    }
}

/// What is between `<` and `>` in an SMTP command's line (`RCPT TO:<a@b>`).
fn angle_bracketed(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    text.split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default()
}

/// Undoes the `%XX` escapes the hub writes into a `Message-ID`.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The webhook receiver: listening, the secrets it verifies with, and what it received.
pub struct WebhookReceiver {
    pub addr: SocketAddr,
    pub arrivals: Arc<Arrivals>,
    keys: Arc<RwLock<HashMap<usize, Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Receiving {
    arrivals: Arc<Arrivals>,
    keys: Arc<RwLock<HashMap<usize, Vec<u8>>>>,
}

/// How far a message's `webhook-timestamp` may be from now (the specification's suggestion).
const TOLERANCE_SECS: i64 = 5 * 60;

impl WebhookReceiver {
    pub async fn start() -> Result<Self, String> {
        let listener =
            TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("webhook receiver: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let arrivals = Arc::new(Arrivals::default());
        let keys = Arc::new(RwLock::new(HashMap::new()));
        let state = Receiving { arrivals: arrivals.clone(), keys: keys.clone() };
        let router = Router::new().route("/hook/{n}", post(receive)).with_state(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { addr, arrivals, keys, task })
    }

    /// The URL of the `n`-th endpoint.
    pub fn url(&self, n: usize) -> String {
        format!("http://{}/hook/{n}", self.addr)
    }

    /// The secret (`whsec_...`) the hub gave the `n`-th endpoint.
    pub fn trust(&self, n: usize, secret: &str) -> Result<(), String> {
        let key = knowledge_hub::notify::webhook::secret_key(secret)
            .ok_or_else(|| format!("the hub gave endpoint {n} a secret that is not one"))?;
        self.keys.write().expect("the lock").insert(n, key);
        Ok(())
    }
}

async fn receive(
    State(state): State<Receiving>,
    Path(n): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let at = Utc::now();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (id, timestamp, signatures) =
        (header("webhook-id"), header("webhook-timestamp"), header("webhook-signature"));
    let key = state.keys.read().expect("the lock").get(&n).cloned();
    let Some(key) = key else {
        state.arrivals.refuse(format!("endpoint {n} has no secret"));
        return StatusCode::UNAUTHORIZED;
    };
    let Ok(seconds) = timestamp.parse::<i64>() else {
        state.arrivals.refuse(format!("{id}: no timestamp"));
        return StatusCode::UNAUTHORIZED;
    };
    if (at.timestamp() - seconds).abs() > TOLERANCE_SECS {
        state.arrivals.refuse(format!("{id}: timestamp {seconds} is too far from now"));
        return StatusCode::UNAUTHORIZED;
    }
    let expected = knowledge_hub::notify::webhook::sign(&key, id, seconds, &body).unwrap_or_default();
    if !signatures.split(' ').any(|s| s == expected) {
        state.arrivals.refuse(format!("{id}: no signature verifies"));
        return StatusCode::UNAUTHORIZED;
    }
    state.arrivals.push(Arrival { id: id.to_owned(), to: n.to_string(), at });
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_and_addresses_are_read_back() {
        assert_eq!(percent_decoded("email%3A12%3Aneed%3A34"), "email:12:need:34");
        assert_eq!(percent_decoded("digest%2E1%2E2026-11-30"), "digest.1.2026-11-30");
        assert_eq!(percent_decoded("a%zz%3"), "a%zz%3");
        assert_eq!(angle_bracketed(b"RCPT TO:<ola@bench.example.no>\r\n"), "ola@bench.example.no");
    }
}
