//! Deliveries: one notification to one recipient. The fan-out writes them (`enqueue`, in its
//! transaction with the events it clears); delivery workers take the due ones under a lease
//! (`claim_due`), send outside any transaction, and record the outcome (`sent`, `failed`,
//! `skipped`). A worker that dies between sending and recording leaves its lease to run out; the
//! delivery is then taken again and sent once more with the same `message_id`, which is how a
//! receiver tells the repeat.

use chrono::{DateTime, Duration, Utc};
use entity::{
    delivery,
    enums::{DeliveryChannel, DeliveryStatus, DeliveryTopic, NotificationKind, WebhookEventKind},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict},
};

use crate::db::Db;

/// A delivery to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    pub message_id: String,
    pub channel: DeliveryChannel,
    pub person_id: Option<i32>,
    pub endpoint_id: Option<i32>,
    pub topic: DeliveryTopic,
    pub subject_id: i32,
    pub notification_kind: Option<NotificationKind>,
    pub webhook_kind: Option<WebhookEventKind>,
    pub digest: bool,
    pub due_at: DateTime<Utc>,
}

/// Writes `new` deliveries, but none whose `message_id` is there already (a fan-out run again
/// after a crash writes nothing twice); returns how many were written.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn enqueue(txn: &impl ConnectionTrait, new: &[NewDelivery]) -> Result<u64, DbErr> {
    if new.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let rows = new.iter().map(|d| delivery::ActiveModel {
        message_id: Set(d.message_id.clone()),
        channel: Set(d.channel),
        person_id: Set(d.person_id),
        endpoint_id: Set(d.endpoint_id),
        topic: Set(d.topic),
        subject_id: Set(d.subject_id),
        notification_kind: Set(d.notification_kind),
        webhook_kind: Set(d.webhook_kind),
        digest: Set(d.digest),
        status: Set(DeliveryStatus::Queued),
        attempts: Set(0),
        due_at: Set(d.due_at),
        claimed_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
        ..Default::default()
    });
    let written = delivery::Entity::insert_many(rows)
        .on_conflict(OnConflict::column(delivery::Column::MessageId).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
    Ok(written)
}

/// What a worker takes: the deliveries of a channel sent one by one, or digests (e-mail
/// collected into one mail per person and day, so taken a person's all at once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    Single(DeliveryChannel),
    Digests,
}

/// The deliveries `take` names that are due at `now` and held by nobody.
fn due(take: Take, now: DateTime<Utc>) -> sea_orm::Select<delivery::Entity> {
    let (channel, digest) = match take {
        Take::Single(channel) => (channel, false),
        Take::Digests => (DeliveryChannel::Email, true),
    };
    delivery::Entity::find()
        .filter(delivery::Column::Status.eq(DeliveryStatus::Queued))
        .filter(delivery::Column::Channel.eq(channel))
        .filter(delivery::Column::Digest.eq(digest))
        .filter(delivery::Column::DueAt.lte(now))
        .filter(
            Condition::any()
                .add(delivery::Column::ClaimedUntil.is_null())
                .add(delivery::Column::ClaimedUntil.lt(now)),
        )
}

/// Whether any delivery `take` names is due, read without taking the writer.
pub async fn any_due(db: &impl ConnectionTrait, take: Take, now: DateTime<Utc>) -> Result<bool, DbErr> {
    let first: Option<i32> =
        due(take, now).select_only().column(delivery::Column::Id).limit(1).into_tuple().one(db).await?;
    Ok(first.is_some())
}

/// Takes up to `limit` deliveries that `take` names, due at `now` and held by nobody (or whose
/// holder's lease ran out), oldest due first, and holds them for `lease`: one short write
/// transaction, so the sending holds no lock. On PostgreSQL instances skip what another is
/// taking at the same moment. Digests are taken whole: every due digest delivery of up to
/// `limit` people, so that a person's day is one mail.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn claim_due(
    db: &Db,
    take: Take,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Vec<delivery::Model>, DbErr> {
    if !any_due(db.conn(), take, now).await? {
        return Ok(Vec::new());
    }
    let txn = db.begin_write().await?;
    let mut due = match take {
        Take::Single(_) => due(take, now)
            .order_by_asc(delivery::Column::DueAt)
            .order_by_asc(delivery::Column::Id)
            .limit(limit),
        Take::Digests => {
            let people: Vec<Option<i32>> = due(take, now)
                .select_only()
                .column(delivery::Column::PersonId)
                .distinct()
                .limit(limit)
                .into_tuple()
                .all(&txn)
                .await?;
            due(take, now)
                .filter(delivery::Column::PersonId.is_in(people.into_iter().flatten()))
                .order_by_asc(delivery::Column::PersonId)
                .order_by_asc(delivery::Column::Id)
        }
    };
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        QuerySelect::query(&mut due).lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let mut claimed = due.all(&txn).await?;
    if !claimed.is_empty() {
        let until = now + lease;
        delivery::Entity::update_many()
            .col_expr(delivery::Column::ClaimedUntil, Expr::value(until))
            .filter(delivery::Column::Id.is_in(claimed.iter().map(|d| d.id)))
            .exec(&txn)
            .await?;
        for d in &mut claimed {
            d.claimed_until = Some(until);
        }
    }
    txn.commit().await?;
    Ok(claimed)
}

/// Records that delivery `id` was sent at `at`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sent(db: &Db, id: i32, at: DateTime<Utc>) -> Result<(), DbErr> {
    settle(db, id, DeliveryStatus::Sent, None, Some(at), None).await
}

/// Records a failed attempt at delivery `id`: due again at `retry_at`, or given up (DEAD) when
/// there is none.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn failed(db: &Db, id: i32, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<(), DbErr> {
    let status = if retry_at.is_some() { DeliveryStatus::Queued } else { DeliveryStatus::Dead };
    settle(db, id, status, Some(error), None, retry_at).await
}

/// Records that delivery `id` is not sent, and why (its recipient may no longer see what it tells
/// of, or no longer wants it).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn skipped(db: &Db, id: i32, why: &str) -> Result<(), DbErr> {
    settle(db, id, DeliveryStatus::Skipped, Some(why), None, None).await
}

/// Ends the holder's lease on delivery `id` with an outcome, counting the attempt.
async fn settle(
    db: &Db,
    id: i32,
    status: DeliveryStatus,
    error: Option<&str>,
    sent_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
) -> Result<(), DbErr> {
    let mut update = delivery::Entity::update_many()
        .col_expr(delivery::Column::Status, Expr::value(status))
        .col_expr(delivery::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
        .col_expr(delivery::Column::LastError, Expr::value(error.map(str::to_owned)))
        .filter(delivery::Column::Id.eq(id));
    if let Some(at) = sent_at {
        update = update.col_expr(delivery::Column::SentAt, Expr::value(at));
    }
    if let Some(at) = due_at {
        update = update.col_expr(delivery::Column::DueAt, Expr::value(at));
    }
    let txn = db.begin_write().await?;
    update.exec(&txn).await?;
    txn.commit().await
}
