//! The connection layer: accepts TCP connections and serves HTTP/1.1 (and WebSocket upgrades)
//! on them with hyper, within bounds that a client cannot stretch.
//!
//! - **Header timeout.** A client has `header_timeout` to send a request's complete headers,
//!   counted from the moment the hub waits for that request: the connection's opening, or on a
//!   kept-alive connection the end of the previous response. A connection that sends nothing, or
//!   dribbles a header line now and then, is closed when it runs out (hyper's
//!   `header_read_timeout`, which needs a timer: `axum::serve` sets none, so there was no bound).
//!   A kept-alive connection that sends no new request is closed at the same moment.
//! - **Idle timeout.** A connection on which no byte is read or written for `idle_timeout` is
//!   closed, whatever it is doing: a client that stopped reading its response or sending its
//!   body, a WebSocket whose peer sends nothing (not even the pong to the hub's pings). While a
//!   handler holds the connection's [`Busy`] (an export writing a file whose first byte comes only
//!   when it is whole), the hub is the one being slow, and the connection is not idle.
//! - **Connection cap.** At most `max_connections` connections are open at once, WebSockets
//!   included (the permit travels with the socket through the upgrade). When the cap is reached
//!   the hub stops accepting: new connections wait in the kernel's listen queue, holding none of
//!   the process's file descriptors, and are accepted as soon as others close.
//!
//! Graceful shutdown: the hub stops accepting, asks every connection to finish its request in
//! flight and close, and waits for them (open WebSockets close with "going away" on their own).

use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    time::{Instant, Sleep},
};
use tower::ServiceExt;

/// The bounds on connections (settings `--header-timeout-secs`, `--idle-timeout-secs`,
/// `--max-connections`).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// File descriptors the process keeps for itself besides client connections: the listener, the
/// database pool, log files, the SQLite files and what the runtime opens.
const RESERVED_DESCRIPTORS: usize = 64;

/// The connection cap when none is configured: what the process's limit of open files leaves
/// once the database pool and a reserve are counted, so connections alone can never exhaust the
/// descriptors. (Linux reports the limit in `/proc/self/limits`; elsewhere 1,024 is assumed.)
pub fn default_max_connections(db_connections: u32) -> usize {
    let open_files = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(1024);
    open_files.saturating_sub(RESERVED_DESCRIPTORS + db_connections as usize).max(1)
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Connections hold a receiver; when the last is dropped, every connection has ended.
    let (stop, stopping) = watch::channel(false);
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let http1 = Arc::new(http1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the cap, nothing is accepted: new connections wait in the listen queue.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small writes (WebSocket events above all) go out at once instead of waiting for the
        // previous one's acknowledgement (Nagle's algorithm).
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(error = %err, "TCP_NODELAY could not be set");
        }
        let busy = Busy::default();
        let io = TokioIo::new(Guarded::new(tcp, permit, limits.idle_timeout, busy.clone()));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            request.extensions_mut().insert(busy.clone());
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let (http1, mut stopping) = (http1.clone(), stopping.clone());
        tokio::spawn(async move {
            let connection = http1.serve_connection(io, service).with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let stop = async {
                let _ = stopping.wait_for(|stop| *stop).await;
            };
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = stop => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            finished(result, remote);
            drop(stopping);
        });
    }
    drop(listener);
    drop(stopping);
    stop.send_replace(true);
    stop.closed().await;
}

fn finished(result: hyper::Result<()>, remote: SocketAddr) {
    if let Err(err) = result {
        tracing::debug!(error = %err, %remote, "connection ended");
    }
}

/// A failed accept: a connection that went away before it was accepted is skipped; anything
/// else (out of file descriptors, out of memory) is logged and retried after a pause, so the
/// loop does not spin.
async fn accept_failed(err: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(error = %err, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A connection's mark that the hub, not the client, is taking its time: while a hold of it
/// lives, the idle timeout does not run (a request's extension, for handlers that prepare a
/// response for long before its first byte; hold it only until that byte, so that a client that
/// stops reading is still cut).
#[derive(Clone, Default)]
pub struct Busy(Arc<std::sync::atomic::AtomicUsize>);

impl Busy {
    pub fn hold(&self) -> BusyHold {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        BusyHold(self.0.clone())
    }

    fn is_held(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

/// A hold of [`Busy`], released when dropped.
pub struct BusyHold(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for BusyHold {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A client connection with its place under the cap and its idle deadline. The permit is
/// released when the socket closes, after an upgrade too.
struct Guarded {
    tcp: TcpStream,
    _permit: OwnedSemaphorePermit,
    idle_timeout: Duration,
    /// Held by a handler that is preparing its response: the connection is not idle meanwhile.
    busy: Busy,
    /// When a byte was last read or written.
    last_progress: Instant,
    /// Fires at the earliest moment the connection can have been idle for too long; moved on
    /// only when it fires, not at every read and write (a WebSocket writes thousands of times a
    /// second, and each reset would touch the timer wheel).
    deadline: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(tcp: TcpStream, permit: OwnedSemaphorePermit, idle_timeout: Duration, busy: Busy) -> Self {
        let deadline = Box::pin(tokio::time::sleep(idle_timeout));
        Self { tcp, _permit: permit, idle_timeout, busy, last_progress: Instant::now(), deadline }
    }

    /// The socket's answer, with the idle deadline kept: progress counts, and a socket that is
    /// not ready past the deadline fails.
    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Ready(result) => {
                self.last_progress = Instant::now();
                Poll::Ready(result)
            }
            Poll::Pending if self.idle_for_too_long(cx) => Poll::Ready(Err(idle())),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Called when the socket is not ready: whether it has been idle for `idle_timeout`. When the
    /// deadline fires early (there was progress since it was set), it moves to the new earliest
    /// moment and is polled again, so the task wakes then.
    fn idle_for_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        while self.deadline.as_mut().poll(cx).is_ready() {
            if self.busy.is_held() {
                self.last_progress = Instant::now();
            }
            let due = self.last_progress + self.idle_timeout;
            if due <= Instant::now() {
                return true;
            }
            self.deadline.as_mut().reset(due);
        }
        false
    }
}

fn idle() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "the connection was idle for too long")
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.tcp).poll_read(cx, buf);
        this.guard(cx, poll)
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.guard(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use axum::{Extension, routing::get};

    use super::*;

    /// A handler that takes its time before the first byte of its answer, holding the
    /// connection's `Busy` or not.
    async fn slow(busy: Option<Extension<Busy>>) -> &'static str {
        let _hold = busy.map(|Extension(busy)| busy.hold());
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        "done"
    }

    async fn held(Extension(busy): Extension<Busy>) -> &'static str {
        slow(Some(Extension(busy))).await
    }

    async fn not_held() -> &'static str {
        slow(None).await
    }

    /// The idle timeout cuts a connection on which nothing moves for its length, unless the hub
    /// holds it busy (an export preparing its file): then the answer comes, however late.
    #[tokio::test]
    async fn a_connection_is_not_idle_while_the_hub_holds_it_busy() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("an address");
        let router = Router::new().route("/held", get(held)).route("/not-held", get(not_held));
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_millis(400),
            max_connections: 8,
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::new();

        let answer = client.get(format!("http://{address}/held")).send().await.expect("an answer");
        assert_eq!(answer.text().await.expect("a body"), "done");
        let cut = client.get(format!("http://{address}/not-held")).send().await;
        assert!(cut.is_err(), "without a hold the idle timeout cuts the connection: {cut:?}");

        let _ = stop.send(());
        server.await.expect("the server stops");
    }
}
