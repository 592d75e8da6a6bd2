//! The GraphQL endpoint `POST /graphql`: one JSON request per HTTP request (the WebSocket endpoint
//! is in `websocket.rs`).

use std::{any::Any, net::SocketAddr};

use axum::{
    Json,
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{Extensions, HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::AppState;
use crate::{
    db::audit::{self, Attempt},
    error::{AppError, code},
    graphql::audit::RequestId,
    rate_limit::Payment,
};

/// A token was sent but is not valid: never silently treated as the public.
const INVALID_TOKEN: &str = "the token is not valid: malformed, unknown, expired or revoked";
/// An `Authorization` header of another scheme than Bearer (a bare token, most often).
pub(super) const NOT_BEARER: &str = "send the token as the header `Authorization: Bearer <token>`";

fn unauthenticated(message: &'static str) -> Response {
    with_header(
        reject(StatusCode::UNAUTHORIZED, code::UNAUTHENTICATED, message),
        header::WWW_AUTHENTICATE,
        "Bearer",
    )
}

/// The token of an `Authorization` value in the Bearer scheme (the scheme in any case), or
/// `None` for any other value.
pub(super) fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn with_header(mut response: Response, name: header::HeaderName, value: &'static str) -> Response {
    response.headers_mut().insert(name, header::HeaderValue::from_static(value));
    response
}

pub(super) fn request_id(headers: &HeaderMap) -> RequestId {
    RequestId::new(headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-"))
}

/// A refused token is recorded in the audit log (without the token), then answered with 401.
async fn refused_token(state: &AppState, headers: &HeaderMap, message: &'static str) -> Response {
    audit_refused_token(state, request_id(headers)).await;
    unauthenticated(message)
}

/// Records a token that was refused (over HTTP or at a WebSocket's `connection_init`).
pub(super) async fn audit_refused_token(state: &AppState, request_id: RequestId) {
    let attempt = Attempt {
        action: "authenticate".to_owned(),
        outcome: code::UNAUTHENTICATED.to_owned(),
        request_id: Some(request_id.0),
        ..Attempt::default()
    };
    if let Err(err) = audit::attempt(state.db.background(), attempt).await {
        tracing::error!(error = %err, "could not write an audit event");
    }
}

/// The database cannot be reached to check the token: 503, retry shortly.
fn unavailable() -> Response {
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
    let request = match serde_json::from_value::<async_graphql::Request>(value) {
        Ok(request) if !request.query.trim().is_empty() => request,
        _ => {
            return reject(
                StatusCode::BAD_REQUEST,
                code::BAD_REQUEST,
                "the body must be a GraphQL request: {\"query\": ..., \"variables\": {...}, \"operationName\": ...}",
            );
        }
    };
    let authorization = match headers.get(header::AUTHORIZATION).map(|v| v.to_str()) {
        None => None,
        Some(Ok(value)) => match bearer(value) {
            Some(token) => Some(format!("Bearer {token}")),
            None => return refused_token(&state, &headers, NOT_BEARER).await,
        },
        Some(Err(_)) => return refused_token(&state, &headers, INVALID_TOKEN).await,
    };
    let viewer = match state.authenticator.viewer(authorization.as_deref()).await {
        Ok(viewer) => viewer,
        Err(AppError::Unauthenticated) => return refused_token(&state, &headers, INVALID_TOKEN).await,
        Err(AppError::Unavailable(_)) => return unavailable(),
        Err(_) => return reject(StatusCode::INTERNAL_SERVER_ERROR, code::INTERNAL, "internal error"),
    };
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let payment = Payment::of(&state.rate_limiter, &viewer, address);
    let (request, batcher) = state.per_request.prepare(request, viewer);
    let mut request = request.data(request_id(&headers));
    if let Some(payment) = &payment {
        request = request.data(payment.clone());
    }
    let mut response = batcher.drive(state.schema.execute(request)).await;
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
    let unreachable = response.errors.iter().any(|e| {
        e.extensions.as_ref().and_then(|x| x.get("code"))
            == Some(&async_graphql::Value::from(code::DATABASE_UNAVAILABLE))
    });
    let mut http = Json(response).into_response();
    if unreachable {
        // Nothing was changed; the same request may be sent again.
        *http.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        http.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    match outcome {
        Some(Err(exhausted)) => {
            *http.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            let headers = http.headers_mut();
            headers.insert(header::RETRY_AFTER, exhausted.retry_after.as_secs().into());
            headers.insert("x-ratelimit-limit", exhausted.limit.into());
            headers.insert("x-ratelimit-remaining", 0u32.into());
        }
        Some(Ok(spent)) => {
            let headers = http.headers_mut();
            headers.insert("x-ratelimit-limit", spent.limit.into());
            headers.insert("x-ratelimit-remaining", spent.remaining.into());
            headers.insert("x-ratelimit-cost", spent.cost.into());
        }
        None => {}
    }
    http
}

/// `GET /graphql`: a browser (asking for HTML) gets the playground; anything else a 405 that says
/// how to send a request.
pub async fn get(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/html"));
    if wants_html {
        return super::playground::page().await.into_response();
    }
    with_header(
        reject(
            StatusCode::METHOD_NOT_ALLOWED,
            code::BAD_REQUEST,
            "send GraphQL requests with POST /graphql, Content-Type: application/json and a body \
             {\"query\": ..., \"variables\": {...}}; subscriptions go over the WebSocket at /graphql/ws, \
             the playground is at /",
        ),
        header::ALLOW,
        "POST",
    )
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
