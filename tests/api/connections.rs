//! The connection layer, driven over raw TCP: the header timeout (silent, dribbling and idle
//! kept-alive connections), the idle timeout, and the connection cap. No database is involved, so
//! these run on SQLite only.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Backend, TestApp};

/// How long a test waits at most for the hub to close a connection it should close.
const PATIENCE: Duration = Duration::from_secs(8);

/// Reads until the hub closes the connection (end of file or reset); returns what it sent and
/// when it closed, or `None` if it was still open after `PATIENCE`.
async fn closed_by_hub(tcp: &mut TcpStream) -> Option<(String, Instant)> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let read_all = async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    };
    let at = tokio::time::timeout(PATIENCE, read_all).await.ok()?;
    Some((String::from_utf8_lossy(&received).into_owned(), at))
}

/// The connections to `port` that this process has accepted: sockets in `/proc/net/tcp` whose
/// local port is the hub's (its side of a connection; the listener excepted) and that hold one of
/// the process's file descriptors. A connection still waiting in the listen queue has none. (The
/// hub runs inside the test process; other tests' sockets are on other ports.)
fn accepted_connections(port: u16) -> usize {
    let descriptors: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
                .filter_map(|target| {
                    let target = target.to_string_lossy().into_owned();
                    Some(target.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let mut accepted = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            // 0A is LISTEN: the hub's listener, not a connection.
            if local_port == Some(port) && *state != "0A" && descriptors.contains(*inode) {
                accepted += 1;
            }
        }
    }
    accepted
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.header_timeout_secs = 1).await;
    let start = Instant::now();
    let mut silent = TcpStream::connect(app.addr).await.expect("connected");
    let (answer, at) = closed_by_hub(&mut silent).await.expect("the hub closes a silent connection");
    let waited = at - start;
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
    // Nothing was asked, so nothing but a 408 (or nothing) is answered.
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn a_connection_that_dribbles_header_lines_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.header_timeout_secs = 2).await;
    let start = Instant::now();
    let tcp = TcpStream::connect(app.addr).await.expect("connected");
    let (mut reader, mut writer) = tcp.into_split();
    // A header line every second, never the blank line that ends the headers.
    let dribble = tokio::spawn(async move {
        if writer.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n").await.is_err() {
            return;
        }
        for n in 0..30 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if writer.write_all(format!("X-Slow-{n}: still here\r\n").as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => {}
            }
        }
    })
    .await
    .expect("the hub closes a connection that dribbles its headers");
    dribble.abort();
    let waited = closed - start;
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
}

#[tokio::test]
async fn a_kept_alive_connection_without_a_new_request_is_closed() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.header_timeout_secs = 1).await;
    let mut tcp = TcpStream::connect(app.addr).await.expect("connected");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n").await.expect("sent");
    let mut buffer = [0u8; 1024];
    let n = tcp.read(&mut buffer).await.expect("an answer");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"), "the request is answered");
    let answered = Instant::now();
    let (_, at) = closed_by_hub(&mut tcp).await.expect("the idle kept-alive connection is closed");
    assert!(at - answered < Duration::from_secs(4), "closed {:?} after the answer", at - answered);
}

#[tokio::test]
async fn a_client_that_stops_sending_its_body_is_cut_after_the_idle_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.idle_timeout_secs = 1).await;
    let mut tcp = TcpStream::connect(app.addr).await.expect("connected");
    // Headers complete, then half the announced body, then silence.
    tcp.write_all(
        b"POST /graphql HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"query\":",
    )
    .await
    .expect("sent");
    let start = Instant::now();
    let (_, at) = closed_by_hub(&mut tcp).await.expect("the stalled connection is cut");
    // The request timeout (30 s) would be far later.
    assert!(at - start < Duration::from_secs(4), "cut after {:?}", at - start);
}

#[tokio::test]
async fn at_the_connection_cap_new_connections_wait_and_health_answers_once_slow_ones_are_cut() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.header_timeout_secs = 2;
        s.max_connections = Some(4);
    })
    .await;
    // Three times the cap: without it the hub would hold a descriptor for each.
    const SLOW: usize = 12;
    let healthz = "GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n";
    let start = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        slow.push(TcpStream::connect(app.addr).await.expect("the kernel queues the connection"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The hub holds a descriptor for the 4 connections it accepted, not one per connection: the
    // others wait in the listen queue.
    let accepted = accepted_connections(app.addr.port());
    assert_eq!(accepted, 4, "connections the hub accepted at a cap of 4 with {SLOW} open");
    let mut probe = TcpStream::connect(app.addr).await.expect("queued");
    probe.write_all(healthz.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    let early = tokio::time::timeout(Duration::from_millis(1000), probe.read_to_string(&mut answer)).await;
    assert!(
        early.is_err() || start.elapsed() >= Duration::from_millis(1900),
        "answered at the cap: {answer}"
    );
    // The slow ones are cut after the header timeout, a few at a time, and the probe's turn comes.
    let answered = tokio::time::timeout(Duration::from_secs(40), probe.read_to_string(&mut answer)).await;
    assert!(answered.is_ok(), "/healthz answers once the slow connections are cut");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(slow);
}

/// A WebSocket keeps its place under the cap after the upgrade: with a cap of 2 and two sockets
/// open, a third connection waits until one of them closes.
#[tokio::test]
async fn websockets_count_against_the_cap_and_free_their_place_when_closed() {
    use async_graphql::futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_connections = Some(2)).await;
    let open = || async {
        let mut request = format!("ws://{}/graphql/ws", app.addr).into_client_request().expect("a request");
        request
            .headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("graphql-transport-ws"));
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("connected");
        socket.send(Message::text(r#"{"type":"connection_init"}"#)).await.expect("sent");
        let ack = tokio::time::timeout(PATIENCE, socket.next()).await.expect("an answer in time");
        assert!(matches!(ack, Some(Ok(Message::Text(ref t))) if t.contains("connection_ack")), "{ack:?}");
        socket
    };
    let first = open().await;
    let _second = open().await;
    let mut probe = TcpStream::connect(app.addr).await.expect("queued");
    probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n").await.expect("sent");
    let mut answer = String::new();
    let early = tokio::time::timeout(Duration::from_millis(1500), probe.read_to_string(&mut answer)).await;
    assert!(early.is_err(), "two open WebSockets hold both places: {answer}");
    drop(first);
    let answered = tokio::time::timeout(PATIENCE, probe.read_to_string(&mut answer)).await;
    assert!(answered.is_ok() && answer.starts_with("HTTP/1.1 200"), "served once a socket closed: {answer}");
}
