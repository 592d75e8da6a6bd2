//! The WebSocket endpoint: the Origin is checked before the upgrade; then a graphql-transport-ws
//! session that closes with a clear code when the client does not initialise in time (4408),
//! opens too many subscriptions (4429), or the server shuts down (1001, going away); the server
//! pings every so often to keep the connection alive through proxies.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
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
use tokio::sync::{mpsc, watch};

use super::AppState;
use crate::error::code;

/// Subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS: usize = 50;
/// Outgoing messages queued for a connection; a client that does not read stalls only itself.
const OUTBOX: usize = 64;

/// Close codes of the session (4408 and 1001 as graphql-transport-ws and RFC 6455 define them).
const INIT_TIMEOUT: (u16, &str) = (4408, "Connection initialisation timeout");
const TOO_MANY: (u16, &str) = (4429, "Too many subscriptions on one connection");
const GOING_AWAY: (u16, &str) = (1001, "The server is going away");

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
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| session(state, protocol, socket))
        .into_response()
}

/// The ids of the subscriptions a connection holds, from the messages in both directions.
fn track(active: &Mutex<HashSet<String>>, text: &str, incoming: bool) -> usize {
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
        return active.lock().map(|a| a.len()).unwrap_or(0);
    };
    let id = message["id"].as_str().map(str::to_owned);
    let Ok(mut active) = active.lock() else {
        return 0;
    };
    match (message["type"].as_str(), id) {
        (Some("subscribe" | "start"), Some(id)) if incoming => {
            active.insert(id);
        }
        (Some("complete" | "stop" | "error"), Some(id)) => {
            active.remove(&id);
        }
        _ => {}
    }
    active.len()
}

async fn session(state: AppState, protocol: GraphQLProtocol, socket: WebSocket) {
    let (mut out, incoming) = socket.split();
    let (queue, mut queued) = mpsc::channel::<Message>(OUTBOX);
    let (stop, stopped) = watch::channel::<Option<(u16, &'static str)>>(None);
    let active = Arc::new(Mutex::new(HashSet::new()));
    let initialised = Arc::new(AtomicBool::new(false));

    // Keep-alive: a WebSocket ping now and then, through a weak handle on the queue so that it
    // never keeps a finished session open.
    let pinger = queue.downgrade();
    let ping_every = state.ws_ping_interval;
    let pings = async move {
        let mut ticks = tokio::time::interval(ping_every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(queue) = pinger.upgrade() else { break };
            if queue.send(Message::Ping(Default::default())).await.is_err() {
                break;
            }
        }
        std::future::pending::<()>().await;
    };
    // Outgoing: through a queue, so this function keeps the socket to send the close frame.
    let outgoing_active = active.clone();
    let outgoing = sink::unfold(queue, move |queue, message: Message| {
        if let Message::Text(text) = &message {
            track(&outgoing_active, text.as_str(), false);
        }
        async move {
            queue.send(message).await.map_err(|_| axum::Error::new("the connection is closed"))?;
            Ok::<_, axum::Error>(queue)
        }
    });
    // Incoming: until a reason to stop, counting subscriptions.
    let mut until_stopped = stopped.clone();
    let incoming_stop = stop.clone();
    let incoming_active = active.clone();
    let incoming = incoming
        .take_until(async move {
            let _ = until_stopped.wait_for(Option::is_some).await;
        })
        .filter(move |frame| {
            let over = match frame {
                Ok(Message::Text(text)) => track(&incoming_active, text.as_str(), true) > MAX_SUBSCRIPTIONS,
                _ => false,
            };
            if over {
                incoming_stop.send_replace(Some(TOO_MANY));
            }
            std::future::ready(!over)
        });

    let mut data = Data::default();
    data.insert(state.per_request.loader());
    let authenticator = state.authenticator.clone();
    let init_seen = initialised.clone();
    let serve = GraphQLWebSocket::new_with_pair(outgoing, incoming, state.schema.clone(), protocol)
        .with_data(data)
        .on_connection_init(move |payload| async move {
            init_seen.store(true, Ordering::Relaxed);
            // The token comes in the `connection_init` payload, as `Authorization: Bearer ...`;
            // an invalid one closes the connection instead of falling back to the public.
            let authorization = ["Authorization", "authorization"]
                .iter()
                .find_map(|key| payload.get(key).and_then(|v| v.as_str()));
            let viewer = authenticator
                .viewer(authorization)
                .await
                .map_err(|err| async_graphql::ErrorExtensions::extend(&err))?;
            let mut data = Data::default();
            data.insert(viewer);
            Ok(data)
        })
        .serve();
    let writer = async {
        while let Some(message) = queued.recv().await {
            if out.send(message).await.is_err() {
                break;
            }
        }
    };
    let deadline = {
        let stop = stop.clone();
        let timeout = state.ws_init_timeout;
        async move {
            tokio::time::sleep(timeout).await;
            if !initialised.load(Ordering::Relaxed) {
                stop.send_replace(Some(INIT_TIMEOUT));
            }
            std::future::pending::<()>().await;
        }
    };
    let mut shutdown = state.shutdown.clone();
    let going_away = async move {
        let _ = shutdown.wait_for(|down| *down).await;
        stop.send_replace(Some(GOING_AWAY));
        std::future::pending::<()>().await;
    };
    tokio::select! {
        _ = async { tokio::join!(serve, writer) } => {}
        () = deadline => {}
        () = going_away => {}
        () = pings => {}
    }
    let reason = *stopped.borrow();
    if let Some((code, reason)) = reason {
        let _ = out.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
    }
    let _ = out.close().await;
}
