//! `/unsubscribe?token=`: the link in every mail, which works without logging in. `GET` shows a
//! small page with a button (it changes nothing: mail scanners open links); `POST` (the button,
//! or a mailbox provider's one-click `List-Unsubscribe=One-Click` of RFC 8058) turns the kind
//! off, audited as the person acting through the link, and answers 200. A token the hub did not
//! sign, or one changed since, is 400 and changes nothing.

use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use entity::enums::Language;
use serde::Deserialize;

use super::AppState;
use crate::{
    db::{WriteError, notify::preferences},
    error::AppError,
    notify::{
        templates::{PageState, unsubscribe_page},
        unsubscribe::Unsubscribe,
    },
};

#[derive(Deserialize)]
pub struct Params {
    token: Option<String>,
}

/// The page with the button, in the person's language.
pub async fn page(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let Some((token, what)) = checked(&state, params) else {
        return invalid();
    };
    match preferences::language_of(state.db.conn(), what.person_id).await {
        Ok(Some(language)) => html(StatusCode::OK, language, PageState::Confirm, &token, what),
        Ok(None) => invalid(),
        Err(err) => trouble(err),
    }
}

/// Unsubscribes: the button's POST and the one-click POST of RFC 8058 alike.
pub async fn confirm(State(state): State<AppState>, Query(params): Query<Params>) -> Response {
    let Some((token, what)) = checked(&state, params) else {
        return invalid();
    };
    match preferences::unsubscribe(&state.db, what.person_id, what.kind).await {
        Ok(()) => {
            tracing::info!(person_id = what.person_id, kind = ?what.kind, "unsubscribed through a mail's link");
            let language = preferences::language_of(state.db.conn(), what.person_id).await.ok().flatten();
            html(StatusCode::OK, language.unwrap_or_default(), PageState::Done, &token, what)
        }
        Err(WriteError::NotFound { .. }) => invalid(),
        Err(WriteError::Db(err)) => trouble(err),
        Err(err) => trouble(AppError::Internal(format!("{err:?}"))),
    }
}

/// The token and what it says, if the hub signed it.
fn checked(state: &AppState, params: Params) -> Option<(String, Unsubscribe)> {
    let token = params.token?;
    match Unsubscribe::verify(&token, &state.notifier.key) {
        Ok(what) => Some((token, what)),
        Err(_) => {
            tracing::warn!("an unsubscribe link that the hub did not sign, or that was changed");
            None
        }
    }
}

fn html(status: StatusCode, language: Language, page: PageState, token: &str, what: Unsubscribe) -> Response {
    // Relative, so the form posts back to this path behind any prefix.
    let action = format!("?token={token}");
    match unsubscribe_page(language, page, &action, what.kind.is_none()) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response(),
        Err(err) => {
            tracing::error!(%err, "rendering the unsubscribe page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// 400 with a page in all three languages: the link does not say whose it is.
fn invalid() -> Response {
    match unsubscribe_page(Language::Nb, PageState::Invalid, "", false) {
        Ok(body) => (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
            .into_response(),
        Err(err) => {
            tracing::error!(%err, "rendering the unsubscribe page");
            (StatusCode::BAD_REQUEST, "the link is not valid").into_response()
        }
    }
}

/// A database fault: 503 (retry) when it is unreachable, else 500; the detail is logged.
fn trouble(err: impl Into<AppError>) -> Response {
    match err.into() {
        AppError::Unavailable(detail) => {
            tracing::warn!(%detail, "unsubscribing: the database is unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "try again shortly")
                .into_response()
        }
        other => {
            tracing::error!(?other, "unsubscribing");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
