//! `GET /export/<link>`: the file of a signed export link (`export::Link`, made by the export
//! fields). In order: the link must be the hub's and unexpired (400 `EXPORT_LINK_INVALID`, 410
//! `EXPORT_LINK_EXPIRED`); its token must still be good (401, as for a request: revoked or
//! expired kills the link; a public link acts as the public); the export is counted and priced
//! by its items against the caller's budget before a byte is sent (429 with `Retry-After`);
//! one that holds personal data is audited (`export.<kind>`); then the file is streamed as its
//! pages are read, with a `Content-Disposition` file name.

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::{ConnectInfo, Path, State},
    http::{Extensions, HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde_json::json;

use super::{
    AppState,
    graphql::{exhausted_response, reject, request_id, spent_headers, unauthenticated, unavailable},
    serve::Busy,
};
use crate::{
    auth::{Viewer, authenticator::Denied},
    db::audit::{self, Attempt},
    error::{AppError, code},
    export::{
        Link, Refused,
        file::{self, Batch},
        pages::{ReadError, Reader},
    },
    rate_limit::{self, Payment},
};

/// Batches of rows waiting for the writer, and chunks of the file waiting for the client: small,
/// so a slow client holds up the reading rather than filling memory.
const QUEUED_BATCHES: usize = 2;
const QUEUED_CHUNKS: usize = 8;

pub async fn download(
    State(state): State<AppState>,
    extensions: Extensions,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Response {
    // Until the file's first byte (counting its items, and an XLSX file's first byte comes when
    // it is whole), the hub is the slow one: the connection's idle timeout waits; from then on it
    // runs again, for a client that stops reading.
    let preparing = extensions.get::<Busy>().map(Busy::hold);
    let link = match Link::verify(&token, &state.notifier.key, Utc::now()) {
        Ok(link) => link,
        Err(Refused::Invalid) => {
            tracing::warn!("an export link that the hub did not sign, or that was changed");
            return reject(StatusCode::BAD_REQUEST, code::EXPORT_LINK_INVALID, &Refused::Invalid.to_string());
        }
        Err(Refused::Expired) => {
            return reject(StatusCode::GONE, code::EXPORT_LINK_EXPIRED, &Refused::Expired.to_string());
        }
    };
    let viewer = match link.token_id {
        None => Viewer::public(),
        Some(token_id) => match state.authenticator.identity_of_token(token_id).await {
            Ok(identity) => Viewer::authenticated(identity),
            // The link was good; its token no longer is.
            Err(Denied::Refused(refusal)) => return unauthenticated(refusal.reason),
            Err(Denied::Failed(AppError::Unavailable(_))) => return unavailable(),
            Err(Denied::Failed(err)) => return failed(err),
        },
    };
    let reader = Reader::new(state.schema.clone(), state.per_request.clone(), viewer.clone());
    let items = match reader.count(&link).await {
        Ok(items) => items,
        Err(err) => return failed(err),
    };
    // Priced as reading the same items through the API would be, paid before anything is sent.
    let price = rate_limit::cost(items.saturating_mul(link.kind.shape().item_cost));
    let address = extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let payment = Payment::of(&state.rate_limiter, &viewer, address);
    let spent = match payment.map(|payment| payment.pay(price)) {
        Some(Err(exhausted)) => {
            let message = format!(
                "the rate limit of {} points per hour cannot pay for this export of {items} items ({price} points); retry in {} s",
                exhausted.limit,
                exhausted.retry_after.as_secs()
            );
            return exhausted_response(
                reject(StatusCode::TOO_MANY_REQUESTS, code::RATE_LIMITED, &message),
                exhausted,
            );
        }
        Some(Ok(spent)) => Some(spent),
        None => None,
    };
    // Personal data goes only into the files of callers with a token (the API shows it to no
    // one else), and such an export is recorded.
    let personal = link.kind.has_personal_data() && viewer.identity().is_some();
    if personal {
        let (person_id, token_id, partnership_id) = crate::graphql::audit::actor(Some(&viewer));
        let attempt = Attempt {
            person_id,
            token_id,
            action: format!("export.{}", link.kind.name()),
            target: None,
            partnership_id,
            outcome: audit::OK.to_owned(),
            detail: Some(json!({
                "format": link.format,
                "items": items,
                "arguments": link.arguments,
                "personalData": true,
            })),
            request_id: Some(request_id(&headers).0),
        };
        if let Err(err) = audit::attempt(state.db.background(), attempt).await {
            // An export of personal data that cannot be recorded is not made.
            return failed(err.into());
        }
    }
    let (batches_in, batches_out) = tokio::sync::mpsc::channel(QUEUED_BATCHES);
    let (chunks_in, chunks_out) = tokio::sync::mpsc::channel(QUEUED_CHUNKS);
    let format = link.format;
    let file_name = format!("{}-{}.{}", link.kind.name(), Utc::now().format("%Y-%m-%d"), format.extension());
    tokio::task::spawn_blocking(move || file::write(format, batches_out, chunks_in));
    tokio::spawn(async move {
        match reader.read(&link, personal, &batches_in).await {
            Ok(()) | Err(ReadError::Gone) => {}
            Err(ReadError::Failed(err)) => {
                tracing::warn!(?err, "an export's page could not be read");
                let _ = batches_in.send(Batch::Failed(err.to_string())).await;
            }
        }
    });
    let body = futures_util::stream::unfold((chunks_out, preparing), |(mut chunks, preparing)| async move {
        let chunk = chunks.recv().await;
        drop(preparing);
        chunk.map(|chunk| (chunk, (chunks, None)))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    // A file made for one caller's rights is not for a shared cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Some(spent) = spent {
        spent_headers(&mut response, spent);
    }
    response
}

/// An error before the file started: its status and code, as the API would answer it.
fn failed(err: AppError) -> Response {
    let (status, message) = match &err {
        AppError::NotFound => (StatusCode::NOT_FOUND, err.to_string()),
        AppError::BadUserInput(message) => (StatusCode::BAD_REQUEST, message.clone()),
        AppError::Unavailable(_) => return unavailable(),
        AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, err.to_string()),
        AppError::Forbidden(_) => (StatusCode::FORBIDDEN, err.to_string()),
        AppError::Conflict(_) => (StatusCode::CONFLICT, err.to_string()),
        AppError::Internal(detail) => {
            tracing::error!(%detail, "an export failed");
            (StatusCode::INTERNAL_SERVER_ERROR, err.to_string())
        }
    };
    reject(status, err.code(), &message)
}
