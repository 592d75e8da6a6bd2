//! The GraphQL endpoint `POST /graphql`: one JSON request per HTTP request (the WebSocket endpoint
//! is in `websocket.rs`). `GET /graphql` with `extensions.persistedQuery` in the URL runs a query
//! the same way (never a mutation), so that an APQ client's request by hash can be cached by
//! the browser or a proxy; a browser asking for HTML gets the playground.

use std::{
    any::Any,
    collections::HashMap,
    net::{IpAddr, SocketAddr},
};

use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, Query, State},
    http::{Extensions, HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::AppState;
use crate::{
    auth::authenticator::{Denied, Reason, Refusal},
    db::audit::Attempt,
    error::{AppError, code},
    graphql::{
        audit::{ClientAddress, RequestId},
        ids::NodeType,
        limits::ReadOnly,
        persisted::{Persisted, Refusal as PersistedRefusal},
    },
    rate_limit::{Caller, Exhausted, Payment, REFUSED_TOKEN_COST, Spent},
};

/// A token was sent but is not valid: never silently treated as the public.
const INVALID_TOKEN: &str = "the token is not valid: malformed, unknown, expired or revoked";
/// An `Authorization` header of another scheme than Bearer (a bare token, most often).
pub(super) const NOT_BEARER: &str = "send the token as the header `Authorization: Bearer <token>`";

pub(super) fn unauthenticated(reason: Reason) -> Response {
    let message = match reason {
        Reason::NotBearer => NOT_BEARER,
        _ => INVALID_TOKEN,
    };
    with_header(
        reject(StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, message),
        header::WWW_AUTHENTICATE,
        "Bearer",
    )
}

fn with_header(mut response: Response, name: header::HeaderName, value: &'static str) -> Response {
    response.headers_mut().insert(name, header::HeaderValue::from_static(value));
    response
}

pub(super) fn request_id(headers: &HeaderMap) -> RequestId {
    RequestId::new(headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-"))
}

/// A refused token pays from its address's budget and is recorded in the audit log (without
/// the token), then answered with 401; or with 429 once the address's budget is spent.
async fn refused_token(
    state: &AppState,
    headers: &HeaderMap,
    address: Option<IpAddr>,
    refusal: Refusal,
) -> Response {
    match refuse_token(state, request_id(headers), address, refusal).await {
        Ok(()) => unauthenticated(refusal.reason),
        Err(exhausted) => exhausted_response(
            reject(
                StatusCode::TOO_MANY_REQUESTS,
                code::RATE_LIMITED,
                "the rate limit is spent: wait for the time in Retry-After",
            ),
            exhausted,
        ),
    }
}

/// What a refused token (over HTTP or at a WebSocket's `connection_init`) costs: it pays from
/// its address's budget, then is audited; `Err` when the budget could not pay (nothing audited).
pub(super) async fn refuse_token(
    state: &AppState,
    request_id: RequestId,
    address: Option<IpAddr>,
    refusal: Refusal,
) -> Result<(), Exhausted> {
    if let Some(address) = address {
        state.rate_limiter.spend(Caller::Address(address), REFUSED_TOKEN_COST)?;
    }
    audit_refused_token(state, request_id, address, refusal).await;
    Ok(())
}

/// Records a token that was refused (over HTTP or at a WebSocket's `connection_init`): in the
/// log of the region of the token's owner for a real (revoked or expired) token, otherwise in the
/// operators' log with the address; repeats are counted on one event (`db::refusals`).
async fn audit_refused_token(
    state: &AppState,
    request_id: RequestId,
    address: Option<IpAddr>,
    refusal: Refusal,
) {
    let detail = json!({ "reason": refusal.reason.as_str() });
    let attempt = Attempt {
        action: "authenticate".to_owned(),
        outcome: code::UNAUTHENTICATED.to_owned(),
        target: refusal.token_id.map(|id| (NodeType::ApiToken, id)),
        partnership_id: refusal.partnership_id,
        detail: Some(detail),
        request_id: Some(request_id.0),
        ..Attempt::default()
    };
    state.refusals.record(attempt, address).await;
}

/// `response` as a 429 for a caller whose budget cannot pay: status, `Retry-After` and the
/// `x-ratelimit-*` headers.
pub(super) fn exhausted_response(mut response: Response, exhausted: Exhausted) -> Response {
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, exhausted.retry_after.as_secs().into());
    headers.insert("x-ratelimit-limit", exhausted.limit.into());
    headers.insert("x-ratelimit-remaining", 0u32.into());
    response
}

/// What a request paid and what is left, in its response's `x-ratelimit-*` headers.
pub(super) fn spent_headers(response: &mut Response, spent: Spent) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", spent.limit.into());
    headers.insert("x-ratelimit-remaining", spent.remaining.into());
    headers.insert("x-ratelimit-cost", spent.cost.into());
}

/// The database cannot be reached to check the token: 503, retry shortly.
pub(super) fn unavailable() -> Response {
    with_header(
        reject(
            StatusCode::SERVICE_UNAVAILABLE,
            code::DATABASE_UNAVAILABLE,
            "the database is unavailable right now; nothing was changed, retry shortly",
        ),
        header::RETRY_AFTER,
        "1",
    )
}

/// A GraphQL-shaped error response for a request that never reached the executor.
pub(super) fn reject(status: StatusCode, error_code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": error_code } }] });
    (status, Json(body)).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v == "application/graphql-response+json")
}

pub async fn execute(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Only JSON bodies: a form or text/plain POST (which a browser sends cross-site without a
    // preflight) is refused, so a foreign page cannot make a visitor's browser call the API.
    state.metrics.graphql_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if !is_json(&headers) {
        return reject(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code::BAD_REQUEST,
            "send the request as JSON with Content-Type: application/json",
        );
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(_) => return reject(StatusCode::BAD_REQUEST, code::BAD_REQUEST, "the body is not valid JSON"),
    };
    if value.is_array() {
        return reject(
            StatusCode::BAD_REQUEST,
            code::BAD_REQUEST,
            "batched requests are not supported: send one operation per request",
        );
    }
    answer(&state, &extensions, &headers, value, false).await
}

/// `GET /graphql`: a browser (asking for HTML) gets the playground; a request naming its document
/// by hash (`extensions.persistedQuery`, with or without `query`; `variables` and `extensions` as
/// JSON text), as APQ clients send a query to be cacheable, runs as over POST, if it is a query (a
/// link or an image cannot change anything); anything else gets a 405 that says how to send a
/// request.
pub async fn get(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    Query(parameters): Query<HashMap<String, String>>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"));
    if wants_html {
        return super::playground::page().await.into_response();
    }
    state.metrics.graphql_requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if !parameters.contains_key("extensions") {
        return post_only();
    }
    let mut value = json!({});
    for (name, parsed) in
        [("query", false), ("operationName", false), ("variables", true), ("extensions", true)]
    {
        let Some(text) = parameters.get(name) else { continue };
        value[name] = if parsed {
            match serde_json::from_str(text) {
                Ok(parsed) => parsed,
                Err(_) => {
                    let message = format!("the URL's {name} is not valid JSON");
                    return reject(StatusCode::BAD_REQUEST, code::BAD_REQUEST, &message);
                }
            }
        } else {
            json!(text)
        };
    }
    answer(&state, &extensions, &headers, value, true).await
}

/// Runs one GraphQL request (the JSON of a POST body, or built from a GET's URL: `read_only`):
/// the token to a viewer, the document by hash or text (`graphql::persisted`), the caller's
/// budget, the capped response.
async fn answer(
    state: &AppState,
    extensions: &Extensions,
    headers: &HeaderMap,
    value: serde_json::Value,
    read_only: bool,
) -> Response {
    let request = match serde_json::from_value::<async_graphql::Request>(value) {
        Ok(request) if read_only && !Persisted::names_a_document(&request) => return post_only(),
        Ok(request) if !request.query.trim().is_empty() || Persisted::names_a_document(&request) => request,
        _ => {
            return reject(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                "the body must be a GraphQL request: {\"query\": ..., \"variables\": {...}, \"operationName\": ...}",
            );
        }
    };
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let authorization = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return refused_token(state, headers, address, Refusal::malformed()).await,
    };
    let viewer = match state.authenticator.viewer(authorization).await {
        Ok(viewer) => viewer,
        Err(Denied::Refused(refusal)) => return refused_token(state, headers, address, refusal).await,
        Err(Denied::Failed(AppError::Unavailable(_))) => return unavailable(),
        Err(Denied::Failed(_)) => {
            return reject(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error");
        }
    };
    let mut request = request;
    if let Err(refusal) = state.persisted.resolve(&mut request, viewer.person_id().is_none()) {
        return refused_document(refusal);
    }
    if read_only {
        request = request.data(ReadOnly);
    }
    let payment = Payment::of(&state.rate_limiter, &viewer, address);
    let (request, batcher) = state.per_request.prepare(request, viewer);
    let mut request = request.data(request_id(headers));
    if let Some(address) = address {
        request = request.data(ClientAddress(address));
    }
    if let Some(payment) = &payment {
        request = request.data(payment.clone());
    }
    let schema = state.schema_for(&request);
    let mut response = batcher.drive(schema.execute(request)).await;
    let outcome = payment.and_then(|p| p.outcome());
    if let Some(Ok(spent)) = outcome {
        response.extensions.insert(
            "rateLimit".to_owned(),
            async_graphql::Value::from_json(json!({
                "cost": spent.cost, "remaining": spent.remaining, "limit": spent.limit
            }))
            .unwrap_or_default(),
        );
    }
    let has_code = |wanted: &str| {
        response.errors.iter().any(|e| {
            e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&async_graphql::Value::from(wanted))
        })
    };
    let unreachable = has_code(code::DATABASE_UNAVAILABLE);
    let not_a_query = read_only && has_code(code::METHOD_NOT_ALLOWED);
    let mut http = capped_json(&response, state.max_response_bytes);
    if unreachable {
        // Nothing was changed; the same request may be sent again.
        *http.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        http.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    if not_a_query {
        *http.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        http.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    }
    match outcome {
        Some(Err(exhausted)) => return exhausted_response(http, exhausted),
        Some(Ok(spent)) => spent_headers(&mut http, spent),
        None => {}
    }
    http
}

/// The answer to a GET that is not a query by hash: 405, and how to send a request.
fn post_only() -> Response {
    with_header(
        reject(
            StatusCode::METHOD_NOT_ALLOWED,
            code::BAD_REQUEST,
            "send GraphQL requests with POST /graphql, Content-Type: application/json and a body \
             {\"query\": ..., \"variables\": {...}}; subscriptions go over the WebSocket at /graphql/ws, \
             the playground is at /; GET runs only queries sent by hash (extensions.persistedQuery)",
        ),
        header::ALLOW,
        "POST",
    )
}

/// A document refused before it ran (`Persisted::resolve`). `PersistedQueryNotFound` is a step of
/// the protocol, not a fault: 200, as Apollo Server answers it, and not to be cached (the client
/// registers the document next, and a proxy must not keep answering "not found").
fn refused_document(refusal: PersistedRefusal) -> Response {
    let status = match refusal {
        PersistedRefusal::NotFound => StatusCode::OK,
        PersistedRefusal::NotTrusted => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let response = reject(status, refusal.code(), refusal.message());
    with_header(response, header::CACHE_CONTROL, "private, no-cache, must-revalidate")
}

/// A writer that refuses to grow past `limit` bytes: serialising into it stops there, so a
/// response too large to send never takes more than about the limit as text.
struct Capped {
    bytes: Vec<u8>,
    limit: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    /// What the serialiser calls, some 6,000 times for a dashboard page: one check and one copy,
    /// not the default's loop over `write`.
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.bytes.len().saturating_add(data.len()) > self.limit {
            return Err(std::io::Error::other("the response is larger than the limit"));
        }
        self.bytes.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The response as a JSON body of at most `limit` bytes; a larger one is replaced by a
/// `RESPONSE_TOO_LARGE` error (with the response's extensions, so the cost is still reported).
fn capped_json(response: &async_graphql::Response, limit: usize) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], capped(response, limit)).into_response()
}

/// The response as JSON text of at most `limit` bytes, or the `RESPONSE_TOO_LARGE` error that
/// replaces it: what HTTP sends as the body and the WebSocket as a `next` payload.
pub(super) fn capped(response: &async_graphql::Response, limit: usize) -> Vec<u8> {
    let mut body = Capped { bytes: Vec::new(), limit };
    if serde_json::to_writer(&mut body, response).is_ok() {
        return body.bytes;
    }
    drop(body);
    let message = format!(
        "the response is larger than {limit} bytes and was not sent: ask for smaller pages or fewer fields"
    );
    let json = json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code::RESPONSE_TOO_LARGE } }],
        "extensions": response.extensions,
    });
    json.to_string().into_bytes()
}

/// A panic in a handler becomes a 500 with the request's code and no stack trace; the panic
/// itself is logged inside the request span (which carries the request id).
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    reject(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error")
}
