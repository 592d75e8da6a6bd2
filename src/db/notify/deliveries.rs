//! Deliveries: one notification to one recipient. The fan-out writes them (`enqueue`, in its
//! transaction with the events it clears); delivery workers take the due ones under a lease
//! (`claim_due`), send outside any transaction, and record the outcome (`sent`, `failed`,
//! `skipped`). A worker that dies between sending and recording leaves its lease to run out; the
//! delivery is then taken again and sent once more with the same `message_id`, which is how a
//! receiver tells the repeat.

use std::collections::BTreeMap;

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

use crate::db::{
    Db,
    notify::webhooks::{self, NewAttempt},
};

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

/// What became of a delivery a worker took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    Sent,
    /// Not sent, and why (its recipient may no longer see what it tells of, or no longer wants
    /// it).
    Skipped(String),
    /// The attempt failed; due again at `at`.
    Again {
        error: String,
        at: DateTime<Utc>,
    },
    /// The attempt failed and there will be no other (DEAD).
    Dead {
        error: String,
    },
}

/// A delivery's outcome, with the webhook attempt it made if it made one.
#[derive(Clone, Debug)]
pub struct Settlement {
    pub id: i32,
    pub settled: Settled,
    pub attempt: Option<Attempted>,
}

/// A webhook attempt to record beside its delivery's outcome.
#[derive(Clone, Debug)]
pub struct Attempted {
    pub endpoint_id: i32,
    pub message_id: String,
    pub at: DateTime<Utc>,
    pub outcome: NewAttempt,
}

/// An endpoint the hub disables because a message's backoff schedule is spent.
#[derive(Clone, Debug)]
pub struct Disabling {
    pub endpoint_id: i32,
    pub reason: String,
    /// Whether to queue a mail to whoever registered it (e-mail is on).
    pub mail_owner: bool,
}

/// Records what became of a batch of deliveries in one write transaction: the leases end, the
/// attempts are counted, the webhook attempts are recorded with each endpoint's run of failures,
/// and the endpoints in `disabling` are disabled (with their audit event and the mail to their
/// owner, queued). One transaction a batch rather than one a delivery: while a queue drains the
/// mutations share SQLite's one writer with it (bench N1). Returns the mails queued.
#[tracing::instrument(level = "debug", skip_all, fields(deliveries = done.len()))]
pub async fn settle(
    db: &Db,
    done: &[Settlement],
    disabling: &[Disabling],
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    if done.is_empty() && disabling.is_empty() {
        return Ok(0);
    }
    let txn = db.begin_write().await?;
    let ended = |status: DeliveryStatus, error: Option<&str>| {
        delivery::Entity::update_many()
            .col_expr(delivery::Column::Status, Expr::value(status))
            .col_expr(delivery::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(delivery::Column::Attempts, Expr::col(delivery::Column::Attempts).add(1))
            .col_expr(delivery::Column::LastError, Expr::value(error.map(str::to_owned)))
    };
    // The sent in one statement, the skipped in one per reason; failures are few, one each.
    let sent: Vec<i32> = done.iter().filter(|s| s.settled == Settled::Sent).map(|s| s.id).collect();
    if !sent.is_empty() {
        ended(DeliveryStatus::Sent, None)
            .col_expr(delivery::Column::SentAt, Expr::value(now))
            .filter(delivery::Column::Id.is_in(sent))
            .exec(&txn)
            .await?;
    }
    let mut skipped: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for s in done {
        match &s.settled {
            Settled::Sent => {}
            Settled::Skipped(why) => skipped.entry(why).or_default().push(s.id),
            Settled::Again { error, at } => {
                ended(DeliveryStatus::Queued, Some(error))
                    .col_expr(delivery::Column::DueAt, Expr::value(*at))
                    .filter(delivery::Column::Id.eq(s.id))
                    .exec(&txn)
                    .await?;
            }
            Settled::Dead { error } => {
                ended(DeliveryStatus::Dead, Some(error))
                    .filter(delivery::Column::Id.eq(s.id))
                    .exec(&txn)
                    .await?;
            }
        }
    }
    for (why, ids) in skipped {
        ended(DeliveryStatus::Skipped, Some(why)).filter(delivery::Column::Id.is_in(ids)).exec(&txn).await?;
    }
    let attempts: Vec<&Attempted> = done.iter().filter_map(|s| s.attempt.as_ref()).collect();
    webhooks::record_attempts(&txn, &attempts).await?;
    let mut mails = Vec::new();
    for d in disabling {
        let Some(endpoint) = webhooks::disable_in(&txn, d.endpoint_id, &d.reason, now).await? else {
            continue;
        };
        if let (true, Some(owner)) = (d.mail_owner, endpoint.created_by_person_id) {
            mails.push(NewDelivery {
                // One mail per disabling: the endpoint may be enabled and fail again.
                message_id: format!("email:{owner}:endpoint:{}:{}", endpoint.id, now.timestamp()),
                channel: DeliveryChannel::Email,
                person_id: Some(owner),
                endpoint_id: None,
                topic: DeliveryTopic::Endpoint,
                subject_id: endpoint.id,
                notification_kind: None,
                webhook_kind: None,
                digest: false,
                due_at: now,
            });
        }
    }
    let queued = enqueue(&txn, &mails).await?;
    txn.commit().await?;
    Ok(queued)
}
