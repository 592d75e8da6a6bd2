//! The WebSocket endpoint: the Origin is checked before the upgrade; then a graphql-transport-ws
//! session that always ends with a clear close code:
//!
//! | code | when |
//! |------|------|
//! | 4400 | a message that is not graphql-transport-ws |
//! | 4401 | `subscribe` before `connection_init` was acknowledged |
//! | 4403 | the token in `connection_init` is not valid, or was revoked, expired or had its access changed while the socket was open (checked at every keep-alive ping) |
//! | 4408 | no `connection_init` in time |
//! | 4429 | more than one `connection_init`, or more than 50 subscriptions at once |
//! | 1013 | slow consumer: a message stayed unread too long, or a subscription fell behind the event buffer; reconnect and catch up |
//! | 1001 | the server is going away (shutdown) |
//!
//! Per-connection memory is kept small: WebSocket buffers are sized for small messages and the
//! outgoing queue is short, so a client that does not read stalls only itself, then is dropped.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Data,
    futures_util::{SinkExt, StreamExt, sink},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio::sync::watch;

use super::AppState;
use crate::{
    auth::Viewer,
    error::code,
    graphql::{audit::RequestId, subscriptions::OnLag},
};

/// Subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// Outgoing messages queued for a connection; a client that does not read stalls only itself.
const OUTBOX: usize = 64;
/// The largest message a client may send (the same as an HTTP request body).
const MAX_MESSAGE: usize = 256 * 1024;
/// What one read from the socket takes at most, and the initial read buffer: the protocol's
/// messages are small, and an idle connection should cost little (a longer message grows the
/// buffer as it arrives).
const READ_BUFFER: usize = 512;
/// Outgoing frames are written once this much is buffered, or at every flush.
const WRITE_BUFFER: usize = 4 * 1024;
/// How long the closing frame may take to reach a client before the socket is dropped anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// A close code and its reason.
pub type Close = (u16, &'static str);

/// Close codes of the session (4xxx as graphql-transport-ws defines them, 1xxx from RFC 6455).
const BAD_REQUEST: Close = (4400, "Bad request: not a graphql-transport-ws message");
const UNAUTHORIZED: Close = (4401, "Unauthorized: send connection_init first");
const FORBIDDEN: Close = (4403, "Forbidden: the token is not valid");
const ACCESS_CHANGED: Close = (4403, "Forbidden: the token was revoked, expired or its access changed");
const INIT_TIMEOUT: Close = (4408, "Connection initialisation timeout");
const TOO_MANY_INITS: Close = (4429, "Too many initialisation requests");
const TOO_MANY: Close = (4429, "Too many subscriptions on one connection");
const SLOW_CONSUMER: Close = (1013, "Slow consumer: reconnect and catch up with needEvents(after:)");
const GOING_AWAY: Close = (1001, "The server is going away");

/// The session's timeouts and keep-alive (settings `HUB_WS_*`).
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// How long a client has to send `connection_init`.
    pub init_timeout: Duration,
    /// How often the server pings, and checks that the token is still valid.
    pub ping_interval: Duration,
    /// How long a message may wait for the client to read it.
    pub send_timeout: Duration,
}

/// Records why the session ends; the first reason wins.
fn close_with(stop: &watch::Sender<Option<Close>>, reason: Close) {
    stop.send_if_modified(|current| {
        let first = current.is_none();
        if first {
            *current = Some(reason);
        }
        first
    });
}

/// Whether a browser page from the request's Origin may open the WebSocket: the hub's own pages
/// and the configured origins. Clients that send no Origin are not browsers and pass.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let origin = origin.trim_end_matches('/').to_lowercase();
    let same_host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).is_some_and(|host| {
        let host = host.to_lowercase();
        origin == format!("http://{host}") || origin == format!("https://{host}")
    });
    same_host || allowed.contains(&origin)
}

pub async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.allowed_origins) {
        return super::graphql::reject(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            "this origin may not open the WebSocket",
        );
    }
    let request_id = super::graphql::request_id(&headers);
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(state, protocol, socket, request_id))
        .into_response()
}

/// The envelope of a graphql-transport-ws message: its type and id; the payload is skipped
/// without being built.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    id: Option<std::borrow::Cow<'a, str>>,
}

/// The ids of the subscriptions a connection holds, from the messages in both directions.
fn track(active: &Mutex<HashSet<String>>, text: &str, incoming: bool) {
    // Events (`next`) are most of what goes out and change nothing here: async-graphql writes
    // the type first, so they are recognised without reading their payload.
    if !incoming && text.starts_with(r#"{"type":"next""#) {
        return;
    }
    let Ok(Envelope { kind, id }) = serde_json::from_str::<Envelope>(text) else {
        return;
    };
    let Ok(mut active) = active.lock() else {
        return;
    };
    match (kind.as_deref(), id) {
        (Some("subscribe" | "start"), Some(id)) if incoming => {
            active.insert(id.into_owned());
        }
        (Some("complete" | "stop" | "error"), Some(id)) => {
            active.remove(id.as_ref());
        }
        _ => {}
    }
}

/// The reason to close for a close frame the protocol library produced.
fn library_close(code: u16) -> Close {
    match code {
        1011 => UNAUTHORIZED,
        4429 => TOO_MANY_INITS,
        _ => BAD_REQUEST,
    }
}

/// What the connection was authenticated with, to check again while it stays open.
#[derive(Default)]
struct Credentials {
    authorization: Option<String>,
    viewer: Viewer,
}

/// Counts a session in `/metrics` while it lives.
struct Counted(Arc<super::health::Metrics>);

impl Counted {
    fn new(metrics: Arc<super::health::Metrics>) -> Self {
        metrics.websocket_connections.fetch_add(1, Ordering::Relaxed);
        Self(metrics)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.websocket_connections.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn session(state: AppState, protocol: GraphQLProtocol, socket: WebSocket, request_id: RequestId) {
    let _counted = Counted::new(state.metrics.clone());
    let timing = state.websocket;
    let (mut out, incoming) = socket.split();
    // A queue that allocates per queued message, so an idle connection holds no buffer.
    let (queue, mut queued) = futures_channel::mpsc::channel::<Message>(OUTBOX);
    let (stop, mut stopped) = watch::channel::<Option<Close>>(None);
    let active = Arc::new(Mutex::new(HashSet::new()));
    let initialised = Arc::new(AtomicBool::new(false));
    let credentials = Arc::new(Mutex::new(None::<Credentials>));

    // Keep-alive: the writer pings now and then; each time, the token is checked again (through
    // the authenticator's short cache): a revoked or expired token, or changed memberships, close
    // the socket, so nobody keeps receiving what they may no longer see.
    let recheck = {
        let authenticator = state.authenticator.clone();
        let credentials = credentials.clone();
        let stop = stop.clone();
        async move {
            let mut ticks = tokio::time::interval(timing.ping_interval);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let held = credentials.lock().ok().and_then(|c| {
                    c.as_ref().map(|c| (c.authorization.clone(), c.viewer.identity().cloned()))
                });
                if let Some((authorization, identity)) = held {
                    let now = authenticator.viewer(authorization.as_deref()).await;
                    if now.map_or(true, |viewer| viewer.identity() != identity.as_ref()) {
                        close_with(&stop, ACCESS_CHANGED);
                    }
                }
            }
        }
    };
    // Outgoing: through a queue, so this function keeps the socket to send the close frame. A
    // close frame from the protocol library becomes a reason to stop, with this session's codes.
    let outgoing = {
        let active = active.clone();
        let stop = stop.clone();
        sink::unfold(queue, move |mut queue, message: Message| {
            let closing = match &message {
                Message::Text(text) => {
                    track(&active, text.as_str(), false);
                    None
                }
                Message::Close(frame) => Some(library_close(frame.as_ref().map_or(1000, |f| f.code))),
                _ => None,
            };
            let stop = stop.clone();
            async move {
                if let Some(reason) = closing {
                    close_with(&stop, reason);
                    return Err(axum::Error::new("the session is closing"));
                }
                queue.send(message).await.map_err(|_| axum::Error::new("the connection is closed"))?;
                Ok::<_, axum::Error>(queue)
            }
        })
    };
    // Incoming: until a reason to stop, counting subscriptions.
    let incoming = {
        let mut until_stopped = stopped.clone();
        let stop = stop.clone();
        let active = active.clone();
        incoming
            .take_until(async move {
                let _ = until_stopped.wait_for(Option::is_some).await;
            })
            .filter(move |frame| {
                let over = match frame {
                    Ok(Message::Text(text)) => {
                        track(&active, text.as_str(), true);
                        active.lock().map_or(0, |a| a.len()) > MAX_SUBSCRIPTIONS
                    }
                    _ => false,
                };
                if over {
                    close_with(&stop, TOO_MANY);
                }
                std::future::ready(!over)
            })
    };

    let mut data = Data::default();
    let batcher = state.per_request.loader();
    data.insert(batcher.clone());
    data.insert(request_id.clone());
    let lagging = stop.clone();
    data.insert(OnLag(Arc::new(move || close_with(&lagging, SLOW_CONSUMER))));
    let authenticator = state.authenticator.clone();
    let audit_state = state.clone();
    let init_seen = initialised.clone();
    let init_stop = stop.clone();
    // The whole connection runs inside the batcher: the events of all its subscriptions that
    // resolve together share their loads.
    let serve = GraphQLWebSocket::new_with_pair(outgoing, incoming, state.schema.clone(), protocol)
        .with_data(data)
        .on_connection_init(move |payload| async move {
            init_seen.store(true, Ordering::Relaxed);
            // The token comes in the `connection_init` payload, as `Authorization: Bearer ...`;
            // an invalid one closes the connection (4403) instead of falling back to the public.
            let authorization = ["Authorization", "authorization"]
                .iter()
                .find_map(|key| payload.get(key).and_then(|v| v.as_str()))
                .map(str::to_owned);
            let viewer = match authenticator.viewer(authorization.as_deref()).await {
                Ok(viewer) => viewer,
                Err(err) => {
                    super::graphql::audit_refused_token(&audit_state, request_id).await;
                    close_with(&init_stop, FORBIDDEN);
                    return Err(async_graphql::ErrorExtensions::extend(&err));
                }
            };
            if let Ok(mut held) = credentials.lock() {
                *held = Some(Credentials { authorization, viewer: viewer.clone() });
            }
            let mut data = Data::default();
            data.insert(viewer);
            Ok(data)
        })
        .serve();
    let serve = batcher.drive(serve);
    // Writes what is queued, and a ping now and then; it ends when the session drops the queue.
    // A message the client leaves unread too long makes it a slow consumer, dropped rather than
    // holding memory and a worker for everyone else.
    let writer = {
        let stop = stop.clone();
        let out = &mut out;
        async move {
            let mut pings = tokio::time::interval(timing.ping_interval);
            pings.tick().await;
            loop {
                let message = tokio::select! {
                    queued = queued.next() => match queued {
                        Some(message) => message,
                        None => break,
                    },
                    _ = pings.tick() => Message::Ping(Default::default()),
                };
                match tokio::time::timeout(timing.send_timeout, out.send(message)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        close_with(&stop, SLOW_CONSUMER);
                        break;
                    }
                }
            }
        }
    };
    let deadline = {
        let stop = stop.clone();
        async move {
            tokio::time::sleep(timing.init_timeout).await;
            if !initialised.load(Ordering::Relaxed) {
                close_with(&stop, INIT_TIMEOUT);
            }
            std::future::pending::<()>().await;
        }
    };
    let mut shutdown = state.shutdown.clone();
    let going_away = async move {
        let _ = shutdown.wait_for(|down| *down).await;
        close_with(&stop, GOING_AWAY);
        std::future::pending::<()>().await;
    };
    let mut reason = stopped.clone();
    tokio::select! {
        _ = async { tokio::join!(serve, writer) } => {}
        _ = reason.wait_for(Option::is_some) => {}
        () = deadline => {}
        () = going_away => {}
        () = recheck => {}
    }
    let reason = *stopped.borrow_and_update();
    if let Some((code, reason)) = reason {
        let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = tokio::time::timeout(CLOSE_GRACE, out.send(frame)).await;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, out.close()).await;
}
