//! The web layer: routes, middleware (request id, tracing, limits, panics), and handlers.

mod assets;
mod dashboard;
mod export;
mod graphql;
mod health;

pub use health::Metrics;
mod playground;
pub mod serve;
mod unsubscribe;
pub mod websocket;

use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, Request, StatusCode},
    routing::{get, post},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use crate::{
    auth::Authenticator,
    db::Db,
    graphql::schema::{HubSchema, PerRequest},
};

/// The largest request body the hub reads; a larger one gets 413.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A request that takes longer is answered 408 and its work dropped.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub schema: HubSchema,
    /// The schema that runs known documents without validating them again (see `Schemas`).
    pub known_schema: HubSchema,
    /// Known documents, those learned from clients, and whether the public is restricted to the
    /// known (see `graphql::persisted`).
    pub persisted: std::sync::Arc<crate::graphql::persisted::Persisted>,
    pub db: Db,
    pub per_request: PerRequest,
    pub authenticator: Authenticator,
    /// Origins allowed to open the WebSocket besides the hub's own (lower-case, no trailing slash).
    pub allowed_origins: std::sync::Arc<Vec<String>>,
    /// The WebSocket session's timeouts and keep-alive.
    pub websocket: websocket::Timing,
    /// Turns true when the server shuts down, so open WebSockets close with "going away".
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Counters for `/metrics`.
    pub metrics: std::sync::Arc<health::Metrics>,
    /// The budgets of callers (see `rate_limit`).
    pub rate_limiter: std::sync::Arc<crate::rate_limit::RateLimiter>,
    /// The running subscription executions, shared by the subscriptions that receive the same.
    pub fanout: std::sync::Arc<websocket::fanout::Fanout>,
    /// Refusals for the audit log, with their repeats counted (see `db::refusals`).
    pub refusals: crate::db::refusals::RefusalLog,
    /// The largest response body sent over HTTP (see `graphql::execute`).
    pub max_response_bytes: usize,
    /// The signing key that unsubscribe links are checked with, and the mailer.
    pub notifier: crate::notify::Notifier,
}

impl AppState {
    /// The schema to run `request` on: the one that skips validation when `Persisted::resolve`
    /// marked its document as known, or as kept and validated before.
    pub fn schema_for(&self, request: &async_graphql::Request) -> &HubSchema {
        if crate::graphql::persisted::Persisted::skips_validation(request) {
            &self.known_schema
        } else {
            &self.schema
        }
    }
}

/// Request ids: a per-process random prefix and a counter, unique across restarts and cheap.
#[derive(Clone)]
struct RequestIds {
    prefix: String,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let prefix = format!("{:08x}", (nanos as u64 ^ u64::from(std::process::id())) as u32);
        Self { prefix, next: Default::default() }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{}-{n}", self.prefix).parse().ok().map(RequestId::new)
    }
}

pub fn router(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let request_id = request.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
            // An export link is a capability for as long as it lives: it stays out of the logs.
            let path = request.uri().path();
            let path = if path.starts_with("/export/") { "/export/<link>" } else { path };
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %path,
                request_id = %request_id,
            )
        })
        .on_response(DefaultOnResponse::new().level(Level::INFO));
    let middleware = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), RequestIds::new()))
        .layer(trace)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(CatchPanicLayer::custom(graphql::panic_response))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES));
    Router::new()
        .route("/", get(playground::page))
        .route("/playground/{file}", get(playground::asset))
        .route("/schema.graphql", get(playground::schema_sdl))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/{file}", get(dashboard::asset))
        .route("/graphql", post(graphql::execute).get(graphql::get))
        .route("/graphql/ws", get(websocket::websocket))
        .route("/healthz", get(health::alive))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(health::metrics))
        .route("/unsubscribe", get(unsubscribe::page).post(unsubscribe::confirm))
        .route("/export/{link}", get(export::download))
        .with_state(state)
        .layer(middleware)
}
