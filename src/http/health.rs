//! `/healthz` (the process answers), `/readyz` (and so does its database) and `/metrics`
//! (counters in the Prometheus text format, for monitoring and for the benchmark suite).

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::AppState;

pub async fn alive() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({ "status": "ready" }))),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check: database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "database unavailable" })))
        }
    }
}

/// Counters of the process, read by `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub graphql_requests: std::sync::atomic::AtomicU64,
    pub websocket_connections: std::sync::atomic::AtomicI64,
    pub notifications: crate::notify::worker::Counters,
}

pub async fn metrics(State(state): State<AppState>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    use std::sync::atomic::Ordering::Relaxed;
    let body = format!(
        "# HELP hub_graphql_requests_total GraphQL requests over HTTP.\n\
         # TYPE hub_graphql_requests_total counter\n\
         hub_graphql_requests_total {}\n\
         # HELP hub_sql_statements_total SQL statements run for requests (background work excluded).\n\
         # TYPE hub_sql_statements_total counter\n\
         hub_sql_statements_total {}\n\
         # HELP hub_websocket_connections Open WebSocket connections.\n\
         # TYPE hub_websocket_connections gauge\n\
         hub_websocket_connections {}\n\
         # HELP hub_subscription_executions Subscription executions running, each shared by the subscriptions that receive the same messages.\n\
         # TYPE hub_subscription_executions gauge\n\
         hub_subscription_executions {}\n\
         # HELP hub_db_connections Connections to the database open, in use or idle.\n\
         # TYPE hub_db_connections gauge\n\
         hub_db_connections {}\n",
        state.metrics.graphql_requests.load(Relaxed),
        state.db.statements_executed(),
        state.metrics.websocket_connections.load(Relaxed),
        state.fanout.executions(),
        state.db.connections_open(),
    );
    let body = body + &state.metrics.notifications.prometheus();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
