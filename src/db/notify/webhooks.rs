//! Webhook endpoints, their secrets and their delivery attempts.
//!
//! Each change is one transaction with its `webhook.<change>` audit event (never the secret nor
//! the URL's path and query, which may carry a receiver's own token: the host only). Secrets are
//! kept in clear because the hub signs with them (see ARCHITECTURE.md). A rotation gives the
//! current secret an expiry [`ROTATION_OVERLAP`] away and expires any older one at once, so at
//! most two sign at a time.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use entity::{delivery_attempt, enums::WebhookEventKind, webhook_endpoint, webhook_secret};
use sea_orm::{
    ActiveEnum, ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel,
    Iterable, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor},
        notify::deliveries::Attempted,
        organisations::write::By,
        pages::KeyWindow,
    },
    domain::webhooks::{MAX_ENDPOINTS, ROTATION_OVERLAP},
};

/// An endpoint to register.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub organisation_id: i32,
    /// Checked by the caller (`notify::webhook::Guard::check`).
    pub url: String,
    /// At least one, each once.
    pub events: Vec<WebhookEventKind>,
    pub description: Option<String>,
}

/// One attempt's outcome, as recorded.
#[derive(Clone, Debug)]
pub struct NewAttempt {
    pub status_code: Option<u16>,
    pub duration_ms: i64,
    pub error: Option<String>,
}

/// The kinds as stored: their words, comma-separated, in the enum's order.
pub fn kinds_text(kinds: &[WebhookEventKind]) -> String {
    let mut kinds = kinds.to_vec();
    kinds.sort();
    kinds.dedup();
    kinds.iter().map(|k| k.to_value()).collect::<Vec<_>>().join(",")
}

/// The kinds an endpoint subscribes to (a word no kind has is skipped).
pub fn kinds_of(text: &str) -> Vec<WebhookEventKind> {
    text.split(',').filter_map(|word| WebhookEventKind::iter().find(|k| k.to_value() == word)).collect()
}

/// The host of a URL, for the audit log.
fn host_of(url: &str) -> String {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default())
        .unwrap_or_default()
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn record(
    txn: &DatabaseTransaction,
    actor: Actor,
    partnership_id: Option<i32>,
    change: &str,
    endpoint: &webhook_endpoint::Model,
) -> Result<(), DbErr> {
    let action = format!("webhook.{change}");
    let detail = json!({
        "organisation": endpoint.organisation_id,
        "host": host_of(&endpoint.url),
        "events": endpoint.event_kinds,
    });
    let event = audit::Event {
        action: &action,
        target_type: NodeType::WebhookEndpoint,
        target_id: endpoint.id,
        partnership_id,
        detail: Some(detail),
    };
    audit::record(txn, actor, event).await
}

async fn find_in(txn: &DatabaseTransaction, id: i32) -> Result<webhook_endpoint::Model, WriteError> {
    webhook_endpoint::Entity::find_by_id(id).one(txn).await?.ok_or(WriteError::NotFound { field: "webhook" })
}

async fn add_secret(
    txn: &DatabaseTransaction,
    endpoint_id: i32,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    webhook_secret::ActiveModel {
        endpoint_id: Set(endpoint_id),
        secret: Set(secret.to_owned()),
        created_at: Set(now),
        expires_at: Set(None),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// An endpoint by id.
pub async fn find(db: &impl ConnectionTrait, id: i32) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find_by_id(id).one(db).await
}

/// Registers an endpoint with its first secret. An organisation has at most [`MAX_ENDPOINTS`].
#[tracing::instrument(level = "debug", skip_all)]
pub async fn register(
    db: &Db,
    by: By,
    new: NewEndpoint,
    secret: &str,
) -> Result<webhook_endpoint::Model, WriteError> {
    let txn = db.begin_write().await?;
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganisationId.eq(new.organisation_id))
        .count(&txn)
        .await?;
    if usize::try_from(existing).unwrap_or(usize::MAX) >= MAX_ENDPOINTS {
        return Err(WriteError::Conflict {
            field: "organisation",
            message: format!("an organisation has at most {MAX_ENDPOINTS} webhook endpoints"),
        });
    }
    let now = Utc::now();
    let made = webhook_endpoint::ActiveModel {
        organisation_id: Set(new.organisation_id),
        url: Set(new.url),
        event_kinds: Set(kinds_text(&new.events)),
        description: Set(new.description),
        created_by_person_id: Set(match by.actor {
            Actor::Person { person_id, .. } => Some(person_id),
            _ => None,
        }),
        disabled_at: Set(None),
        disabled_reason: Set(None),
        consecutive_failures: Set(0),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    add_secret(&txn, made.id, secret, now).await?;
    record(&txn, by.actor, by.partnership_id, "register", &made).await?;
    db.commit(txn, Effect::Created(NodeType::WebhookEndpoint, made.id)).await?;
    Ok(made)
}

/// Makes `secret` the endpoint's current one; the one it replaces signs beside it until the
/// returned time, and any older one stops now.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rotate(
    db: &Db,
    by: By,
    endpoint_id: i32,
    secret: &str,
) -> Result<(webhook_endpoint::Model, DateTime<Utc>), WriteError> {
    let txn = db.begin_write().await?;
    let found = find_in(&txn, endpoint_id).await?;
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(ROTATION_OVERLAP).unwrap_or(chrono::Duration::zero());
    let of_endpoint = webhook_secret::Column::EndpointId.eq(endpoint_id);
    webhook_secret::Entity::delete_many()
        .filter(of_endpoint.clone())
        .filter(webhook_secret::Column::ExpiresAt.is_not_null())
        .exec(&txn)
        .await?;
    webhook_secret::Entity::update_many()
        .col_expr(webhook_secret::Column::ExpiresAt, Expr::value(until))
        .filter(of_endpoint)
        .exec(&txn)
        .await?;
    add_secret(&txn, endpoint_id, secret, now).await?;
    record(&txn, by.actor, by.partnership_id, "rotate_secret", &found).await?;
    db.commit(txn, Effect::Changed(NodeType::WebhookEndpoint, endpoint_id)).await?;
    Ok((found, until))
}

/// Disables an endpoint with `reason`, or (`None`) enables it again with a clean run of failures.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_disabled(
    db: &Db,
    by: By,
    endpoint_id: i32,
    reason: Option<String>,
) -> Result<webhook_endpoint::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = find_in(&txn, endpoint_id).await?;
    let change = if reason.is_some() { "disable" } else { "enable" };
    let mut model = found.into_active_model();
    model.disabled_at = Set(reason.as_ref().map(|_| Utc::now()));
    if reason.is_none() {
        model.consecutive_failures = Set(0);
    }
    model.disabled_reason = Set(reason);
    let updated = model.update(&txn).await?;
    record(&txn, by.actor, by.partnership_id, change, &updated).await?;
    db.commit(txn, Effect::Changed(NodeType::WebhookEndpoint, endpoint_id)).await?;
    Ok(updated)
}

/// The hub disables an endpoint whose backoff schedule is spent, in the caller's transaction
/// (`deliveries::settle`), with its audit event; `None` if it is gone or disabled already.
pub(crate) async fn disable_in(
    txn: &DatabaseTransaction,
    endpoint_id: i32,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<webhook_endpoint::Model>, DbErr> {
    let Some(found) = webhook_endpoint::Entity::find_by_id(endpoint_id).one(txn).await? else {
        return Ok(None);
    };
    if found.disabled_at.is_some() {
        return Ok(None);
    }
    let mut model = found.into_active_model();
    model.disabled_at = Set(Some(now));
    model.disabled_reason = Set(Some(reason.to_owned()));
    let updated = model.update(txn).await?;
    record(txn, Actor::Hub, None, "disable", &updated).await?;
    Ok(Some(updated))
}

/// Deletes an endpoint with its secrets and attempts.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(db: &Db, by: By, endpoint_id: i32) -> Result<webhook_endpoint::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = find_in(&txn, endpoint_id).await?;
    delivery_attempt::Entity::delete_many()
        .filter(delivery_attempt::Column::EndpointId.eq(endpoint_id))
        .exec(&txn)
        .await?;
    webhook_secret::Entity::delete_many()
        .filter(webhook_secret::Column::EndpointId.eq(endpoint_id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(endpoint_id).exec(&txn).await?;
    record(&txn, by.actor, by.partnership_id, "delete", &found).await?;
    db.commit(txn, Effect::Changed(NodeType::WebhookEndpoint, endpoint_id)).await?;
    Ok(found)
}

/// The enabled endpoints among `ids` with the secrets that sign now (newest first): two
/// statements for a worker's batch. An endpoint gone or disabled is left out.
pub async fn deliverable(
    db: &impl ConnectionTrait,
    ids: &[i32],
    now: DateTime<Utc>,
) -> Result<HashMap<i32, (webhook_endpoint::Model, Vec<String>)>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Id.is_in(ids.iter().copied()))
        .filter(webhook_endpoint::Column::DisabledAt.is_null())
        .all(db)
        .await?;
    let secrets = webhook_secret::Entity::find()
        .filter(webhook_secret::Column::EndpointId.is_in(endpoints.iter().map(|e| e.id)))
        .filter(
            Condition::any()
                .add(webhook_secret::Column::ExpiresAt.is_null())
                .add(webhook_secret::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(webhook_secret::Column::Id)
        .all(db)
        .await?;
    let mut found: HashMap<i32, (webhook_endpoint::Model, Vec<String>)> =
        endpoints.into_iter().map(|e| (e.id, (e, Vec::new()))).collect();
    for secret in secrets {
        if let Some((_, theirs)) = found.get_mut(&secret.endpoint_id) {
            theirs.push(secret.secret);
        }
    }
    Ok(found)
}

/// Records webhook attempts, in the order they ended, and keeps each endpoint's run of failures
/// (reset by a success): one insert, and one update per endpoint.
pub(crate) async fn record_attempts(txn: &DatabaseTransaction, attempts: &[&Attempted]) -> Result<(), DbErr> {
    if attempts.is_empty() {
        return Ok(());
    }
    delivery_attempt::Entity::insert_many(attempts.iter().map(|a| delivery_attempt::ActiveModel {
        endpoint_id: Set(a.endpoint_id),
        message_id: Set(a.message_id.clone()),
        attempted_at: Set(a.at),
        status_code: Set(a.outcome.status_code.map(i32::from)),
        duration_ms: Set(a.outcome.duration_ms),
        error: Set(a.outcome.error.clone()),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await?;
    // Per endpoint: the failures since its last success in this batch, or, without one, its run
    // so far and this batch's failures.
    let mut runs: BTreeMap<i32, (bool, i32)> = BTreeMap::new();
    for a in attempts {
        let (reset, failures) = runs.entry(a.endpoint_id).or_default();
        if a.outcome.error.is_some() {
            *failures += 1;
        } else {
            (*reset, *failures) = (true, 0);
        }
    }
    for (endpoint_id, (reset, failures)) in runs {
        let run = if reset {
            Expr::value(failures)
        } else {
            Expr::col(webhook_endpoint::Column::ConsecutiveFailures).add(failures)
        };
        webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::ConsecutiveFailures, run)
            .filter(webhook_endpoint::Column::Id.eq(endpoint_id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// A page of an endpoint's attempts, newest first: keys are negated ids, and `window` is in
/// those keys. Up to `window.size + 1` rows, in the window's direction of travel.
pub async fn attempts(
    db: &impl ConnectionTrait,
    endpoint_id: i32,
    window: KeyWindow,
) -> Result<Vec<delivery_attempt::Model>, DbErr> {
    let id = |key: i64| i32::try_from(-key).unwrap_or(i32::MAX);
    let mut query =
        delivery_attempt::Entity::find().filter(delivery_attempt::Column::EndpointId.eq(endpoint_id));
    if let Some(after) = window.after {
        query = query.filter(delivery_attempt::Column::Id.lt(id(after)));
    }
    if let Some(before) = window.before {
        query = query.filter(delivery_attempt::Column::Id.gt(id(before)));
    }
    query = if window.from_end {
        query.order_by_asc(delivery_attempt::Column::Id)
    } else {
        query.order_by_desc(delivery_attempt::Column::Id)
    };
    query.limit(window.size as u64 + 1).all(db).await
}

/// How many attempts an endpoint has.
pub async fn count_attempts(db: &impl ConnectionTrait, endpoint_id: i32) -> Result<u64, DbErr> {
    delivery_attempt::Entity::find()
        .filter(delivery_attempt::Column::EndpointId.eq(endpoint_id))
        .count(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stored_once_each_in_order_and_read_back() {
        use WebhookEventKind::*;
        let text = kinds_text(&[RoundClosed, NeedCreated, RoundClosed]);
        assert_eq!(text, "NEED_CREATED,ROUND_CLOSED");
        assert_eq!(kinds_of(&text), [NeedCreated, RoundClosed]);
        assert_eq!(kinds_of("NEED_CREATED,NONSENSE"), [NeedCreated]);
    }

    #[test]
    fn the_audit_log_names_the_host_only() {
        assert_eq!(host_of("https://hooks.example.no/in?token=abc"), "hooks.example.no");
        assert_eq!(host_of("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
        assert_eq!(host_of("nonsense"), "");
    }
}
