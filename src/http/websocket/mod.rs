//! The WebSocket endpoint: the Origin and the subprotocol (`graphql-transport-ws`) are checked
//! before the upgrade; then a graphql-transport-ws session, spoken here, that always ends with a
//! clear close code:
//!
//! | code | when |
//! |------|------|
//! | 4400 | a message that is not graphql-transport-ws; or a `connection_init` payload that is not an object, an `Authorization` that is not `Bearer <token>`, or a credential under any other key (`token`, `authToken`, `headers.Authorization`, ...) |
//! | 4401 | `subscribe` before `connection_init` was acknowledged |
//! | 4403 | the token in `connection_init` is not valid, or was revoked, expired or had its access changed while the socket was open (checked at every keep-alive ping) |
//! | 4408 | no `connection_init` in time |
//! | 4409 | `subscribe` with the id of a subscription that is still running |
//! | 4429 | more than one `connection_init`, more than 50 subscriptions at once, or a refused token from an address whose budget is spent |
//! | 1013 | slow consumer: a message stayed unread too long, or a subscription fell behind the event buffer; reconnect and catch up. Also: the database could not check the token at `connection_init`; try again |
//! | 1001 | the server is going away (shutdown) |
//!
//! Subscriptions that receive the same messages share one execution (see [`fanout`]).
//! Per-connection memory is kept small: WebSocket buffers are sized for small messages, the
//! outgoing queue allocates per message, one timer serves the pings and the token check, and
//! a subscription holds no execution of its own. A client that does not read stalls only
//! itself, then is dropped.

pub mod fanout;

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use async_graphql::futures_util::{FutureExt, SinkExt, StreamExt};
use axum::{
    extract::{
        ConnectInfo, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_channel::mpsc::Sender;
use tokio::sync::watch;

use self::fanout::{Asker, Member, Subscription};
use super::AppState;
use crate::{
    auth::{
        Viewer,
        authenticator::{Denied, Refusal},
    },
    error::{AppError, code},
    graphql::audit::RequestId,
    rate_limit::Payment,
};

/// The one subprotocol spoken (the one of the npm `graphql-ws` client and GraphiQL).
pub const PROTOCOL: &str = "graphql-transport-ws";
/// Subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// Outgoing messages queued for a connection. The queue allocates per message, so its bound
/// costs nothing while idle; a client that leaves this many unread is a slow consumer.
const OUTBOX: usize = 256;
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
const PAYLOAD_NOT_OBJECT: Close = (
    4400,
    "Bad request: the connection_init payload must be an object: {\"Authorization\": \"Bearer <token>\"} or {}",
);
const NOT_BEARER: Close = (4400, "Bad request: Authorization in connection_init must be \"Bearer <token>\"");
const MISPLACED_CREDENTIAL: Close = (
    4400,
    "Bad request: send the token in connection_init as {\"Authorization\": \"Bearer <token>\"}, under no other key",
);
const UNAUTHORIZED: Close = (4401, "Unauthorized: send connection_init first");
const FORBIDDEN: Close = (4403, "Forbidden: the token is not valid");
const ACCESS_CHANGED: Close = (4403, "Forbidden: the token was revoked, expired or its access changed");
const INIT_TIMEOUT: Close = (4408, "Connection initialisation timeout");
const DUPLICATE_ID: Close = (4409, "Subscriber for this id already exists");
const TOO_MANY_INITS: Close = (4429, "Too many initialisation requests");
const TOO_MANY: Close = (4429, "Too many subscriptions on one connection");
const TOO_MANY_REFUSALS: Close =
    (4429, "Too many refused tokens from this address: see Retry-After rules in the README");
const SLOW_CONSUMER: Close = (1013, "Slow consumer: reconnect and catch up with needEvents(after:)");
const UNAVAILABLE: Close = (1013, "The database is unavailable: try again");
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

/// Whether the client offers graphql-transport-ws among its subprotocols.
fn offers_protocol(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|protocol| protocol.trim().eq_ignore_ascii_case(PROTOCOL))
}

pub async fn websocket(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.allowed_origins) {
        return super::graphql::reject(
            StatusCode::FORBIDDEN,
            code::FORBIDDEN,
            "this origin may not open the WebSocket",
        );
    }
    if !offers_protocol(&headers) {
        return super::graphql::reject(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "offer the graphql-transport-ws subprotocol (Sec-WebSocket-Protocol: graphql-transport-ws)",
        );
    }
    let request_id = super::graphql::request_id(&headers);
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    upgrade
        .protocols([PROTOCOL])
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| session(state, socket, request_id, address))
        .into_response()
}

/// The `Authorization` value a `connection_init` payload carries, normalised to `Bearer <token>`.
/// The payload is absent, `null` or an object; the token is under the key `Authorization` (in
/// any case, as HTTP header names are) as `Bearer <token>`. Other keys are ignored (the
/// playground passes every header it has), unless they look like a credential: a key naming
/// one (`token`, `authToken`, `apiKey`, `headers` with an `Authorization`, ...) or a value that is
/// a bearer token or a hub token, at any depth. Such a payload is refused rather than served as
/// the public, so a client that put its token in the wrong place learns it at once.
fn authorization_of(payload: Option<&serde_json::Value>) -> Result<Option<String>, Close> {
    let fields = match payload {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Object(fields)) => fields,
        Some(_) => return Err(PAYLOAD_NOT_OBJECT),
    };
    let mut authorization = None;
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("authorization") {
            let token = value.as_str().and_then(crate::auth::authenticator::bearer).ok_or(NOT_BEARER)?;
            if authorization.replace(format!("Bearer {token}")).is_some() {
                return Err(MISPLACED_CREDENTIAL);
            }
        } else if looks_like_a_credential(key, value) {
            return Err(MISPLACED_CREDENTIAL);
        }
    }
    Ok(authorization)
}

/// Whether a payload entry (other than the top-level `Authorization`) carries a credential.
fn looks_like_a_credential(key: &str, value: &serde_json::Value) -> bool {
    // Parts of a key that name a credential ("author" is not one: `auth` counts only as a word).
    const NAMES: [&str; 11] = [
        "authoriz",
        "authtoken",
        "authkey",
        "token",
        "bearer",
        "jwt",
        "apikey",
        "secret",
        "password",
        "credential",
        "cookie",
    ];
    let name: String = key.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    if name == "auth" || NAMES.iter().any(|n| name.contains(n)) {
        return true;
    }
    match value {
        serde_json::Value::String(text) => {
            let text = text.trim_start();
            crate::auth::authenticator::bearer(text).is_some()
                || text.starts_with(crate::domain::token::PREFIX)
        }
        serde_json::Value::Object(fields) => fields.iter().any(|(k, v)| looks_like_a_credential(k, v)),
        serde_json::Value::Array(items) => items.iter().any(|v| looks_like_a_credential("", v)),
        _ => false,
    }
}

/// A message from the client.
#[derive(serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
    Subscribe {
        id: String,
        payload: Box<async_graphql::Request>,
    },
    Complete {
        id: String,
    },
    // Their payloads, if any, are ignored.
    Ping {},
    Pong {},
}

/// Counts a session in `/metrics` while it lives.
struct Counted(Arc<super::health::Metrics>);

impl Counted {
    fn new(metrics: Arc<super::health::Metrics>) -> Self {
        metrics.websocket_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(metrics)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.websocket_connections.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What the connection was authenticated with, to check again while it stays open.
struct Credentials {
    authorization: Option<String>,
    viewer: Viewer,
}

/// The session's side that reads: the protocol's state, and the subscriptions by id.
struct Session<'a> {
    state: &'a AppState,
    request_id: RequestId,
    /// The client's address: the public pays from its budget.
    address: Option<IpAddr>,
    outbox: Sender<Message>,
    stop: watch::Sender<Option<Close>>,
    /// Whether `connection_init` arrived, and, once it was accepted, what it carried.
    init_received: bool,
    credentials: Option<Credentials>,
    subscriptions: HashMap<String, Subscription>,
}

impl Session<'_> {
    /// Queues a message of the session's own (acknowledgement, pong).
    async fn send(&mut self, text: &'static str) {
        let _ = self.outbox.send(Message::Text(text.into())).await;
    }

    /// Handles one text message; an error is the reason to close.
    async fn receive(&mut self, text: &str) -> Result<(), Close> {
        let message = serde_json::from_str::<ClientMessage>(text).map_err(|_| BAD_REQUEST)?;
        match message {
            ClientMessage::ConnectionInit { payload } => {
                if self.init_received {
                    return Err(TOO_MANY_INITS);
                }
                self.init_received = true;
                // Boxed: authentication is a large future that an idle session should not carry.
                Box::pin(self.init(payload)).await?;
                self.send(r#"{"type":"connection_ack"}"#).await;
            }
            ClientMessage::Subscribe { id, payload } => self.subscribe(id, *payload)?,
            ClientMessage::Complete { id } => {
                self.subscriptions.remove(&id);
            }
            ClientMessage::Ping { .. } => self.send(r#"{"type":"pong"}"#).await,
            ClientMessage::Pong { .. } => {}
        }
        Ok(())
    }

    /// Authenticates the connection: the token comes in the `connection_init` payload, as
    /// `{"Authorization": "Bearer ..."}` (see [`authorization_of`]); an invalid one closes the
    /// connection (4403), a misplaced or malformed one too (4400), instead of falling back to the
    /// public.
    async fn init(&mut self, payload: Option<serde_json::Value>) -> Result<(), Close> {
        let authorization = match authorization_of(payload.as_ref()) {
            Ok(authorization) => authorization,
            Err(PAYLOAD_NOT_OBJECT) => return Err(PAYLOAD_NOT_OBJECT),
            // A credential in the wrong place is a refused token: it pays and is audited.
            Err(refused) => {
                let refusal =
                    if refused == NOT_BEARER { Refusal::not_bearer() } else { Refusal::misplaced() };
                return Err(self.refuse(refusal, refused).await);
            }
        };
        match self.state.authenticator.viewer(authorization.as_deref()).await {
            Ok(viewer) => {
                self.credentials = Some(Credentials { authorization, viewer });
                Ok(())
            }
            Err(Denied::Failed(AppError::Unavailable(_))) => Err(UNAVAILABLE),
            Err(Denied::Failed(_)) => Err(FORBIDDEN),
            Err(Denied::Refused(refusal)) => Err(self.refuse(refusal, FORBIDDEN).await),
        }
    }

    /// A refused token pays from the address's budget, as over HTTP, and is audited; the socket
    /// closes with `close`, or with 4429 once the address's budget is spent.
    async fn refuse(&self, refusal: Refusal, close: Close) -> Close {
        match super::graphql::refuse_token(self.state, self.request_id.clone(), self.address, refusal).await {
            Ok(()) => close,
            Err(_) => TOO_MANY_REFUSALS,
        }
    }

    fn subscribe(&mut self, id: String, mut request: async_graphql::Request) -> Result<(), Close> {
        let Some(credentials) = &self.credentials else {
            return Err(UNAUTHORIZED);
        };
        // A document named by hash, or refused as not trusted, is settled before it may share an
        // execution: equal texts share, however they were sent.
        let public = credentials.viewer.person_id().is_none();
        if let Err(refusal) = self.state.persisted.resolve(&mut request, public) {
            if self.subscriptions.get(&id).is_some_and(Subscription::is_active) {
                return Err(DUPLICATE_ID);
            }
            Member::new(&id, self.outbox.clone(), self.stop.clone()).refuse(refusal.error());
            return Ok(());
        }
        // Completed subscriptions (a query's single answer, a stream that ended) are forgotten.
        self.subscriptions.retain(|_, subscription| subscription.is_active());
        if self.subscriptions.contains_key(&id) {
            return Err(DUPLICATE_ID);
        }
        if self.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(TOO_MANY);
        }
        let member = Member::new(&id, self.outbox.clone(), self.stop.clone());
        // Each operation pays from the caller's budget, as over HTTP (see `fanout`).
        let payment = Payment::of(&self.state.rate_limiter, &credentials.viewer, self.address);
        let asker = Asker {
            state: self.state,
            viewer: &credentials.viewer,
            request_id: &self.request_id,
            address: self.address,
            payment,
        };
        let subscription = self.state.fanout.subscribe(asker, request, member);
        self.subscriptions.insert(id, subscription);
        Ok(())
    }

    /// At every keep-alive tick: a ping, and the token checked again (through the
    /// authenticator's short cache). A revoked or expired token, or changed memberships, close
    /// the socket, so nobody keeps receiving what they may no longer see.
    async fn keep_alive(&mut self) -> Result<(), Close> {
        // A full queue means the client is not reading: the writer's timeout deals with it.
        let _ = self.outbox.try_send(Message::Ping(Default::default()));
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let now = self.state.authenticator.viewer(credentials.authorization.as_deref()).await;
        match now {
            Ok(viewer) if viewer.identity() == credentials.viewer.identity() => Ok(()),
            // The database being away for a moment is no reason to drop the connection.
            Err(Denied::Failed(AppError::Unavailable(_))) => Ok(()),
            _ => Err(ACCESS_CHANGED),
        }
    }

    /// Reads until the client leaves or a reason to close; returns why it stopped, if it did.
    async fn run(mut self, mut incoming: futures_util::stream::SplitStream<WebSocket>) -> Option<Close> {
        let timing = self.state.websocket;
        let deadline = tokio::time::sleep(timing.init_timeout);
        let mut deadline = std::pin::pin!(deadline);
        let mut ticks = tokio::time::interval(timing.ping_interval);
        ticks.tick().await;
        loop {
            let outcome = tokio::select! {
                frame = incoming.next() => match frame {
                    Some(Ok(Message::Text(text))) => self.receive(text.as_str()).await,
                    Some(Ok(Message::Binary(_))) => Err(BAD_REQUEST),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                },
                () = &mut deadline, if !self.init_received => Err(INIT_TIMEOUT),
                _ = ticks.tick() => Box::pin(self.keep_alive()).await,
            };
            if let Err(reason) = outcome {
                return Some(reason);
            }
        }
    }
}

async fn session(state: AppState, socket: WebSocket, request_id: RequestId, address: Option<IpAddr>) {
    let _counted = Counted::new(state.metrics.clone());
    let timing = state.websocket;
    let (mut out, incoming) = socket.split();
    // A queue that allocates per queued message, so an idle connection holds no buffer.
    let (outbox, mut queued) = futures_channel::mpsc::channel::<Message>(OUTBOX);
    let (stop, mut stopped) = watch::channel::<Option<Close>>(None);
    let reader = Session {
        state: &state,
        request_id,
        address,
        outbox,
        stop: stop.clone(),
        init_received: false,
        credentials: None,
        subscriptions: HashMap::new(),
    };
    let reading = async {
        if let Some(reason) = reader.run(incoming).await {
            close_with(&stop, reason);
        }
    };
    // Writes what is queued: whatever else waits in the queue goes out in the same write, so a
    // busy connection costs fewer system calls. A message the client leaves unread too long makes
    // it a slow consumer, dropped rather than holding memory and a worker for everyone else. Most
    // writes complete at once and arm no timer.
    let writer = {
        let stop = stop.clone();
        let out = &mut out;
        async move {
            while let Some(first) = queued.next().await {
                let batch = async {
                    out.feed(first).await?;
                    while let Ok(more) = queued.try_recv() {
                        out.feed(more).await?;
                    }
                    out.flush().await
                };
                let mut batch = std::pin::pin!(batch);
                let written = match batch.as_mut().now_or_never() {
                    Some(written) => Ok(written),
                    None => tokio::time::timeout(timing.send_timeout, batch).await,
                };
                match written {
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
    let mut shutdown = state.shutdown.clone();
    let going_away = async {
        let _ = shutdown.wait_for(|down| *down).await;
        close_with(&stop, GOING_AWAY);
    };
    let mut reason = stopped.clone();
    tokio::select! {
        () = reading => {}
        () = writer => {}
        _ = reason.wait_for(Option::is_some) => {}
        () = going_away => {}
    }
    let reason = *stopped.borrow_and_update();
    if let Some((code, reason)) = reason {
        let frame = Message::Close(Some(CloseFrame { code, reason: reason.into() }));
        let _ = tokio::time::timeout(CLOSE_GRACE, out.send(frame)).await;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, out.close()).await;
}
