//! The fan-out: turns the history events waiting for notification into deliveries, one per
//! recipient and channel, in one write transaction that also marks the events done (so a crash
//! before its commit leaves them waiting, and one after it has written every delivery once).
//!
//! For each event, `domain::notify` says who hears of it ([`Audience`]) and under which kinds;
//! each person is told once, under the first kind they have not turned off, now or in the next
//! morning's digest; the person who acted is not told. The webhook endpoints of the
//! organisations concerned that subscribe to the event's kind get it too. Nothing here decides
//! what a recipient may see: that is checked when it is sent (`notify::compose`). The workers
//! (`notify::worker`) run it.
//!
//! A pass reads what its events share once: the webhook endpoints above every unit its needs were
//! raised in, in one statement, and the people (and their preferences) of events of needs raised
//! in the same unit and pool, the bulk of a batch, once each (`Shared`).
//!
//! Turning people and kinds into deliveries (`email_people`, `webhook_endpoints`) is shared with
//! the scheduled notices (`notify::schedule`), so both choose alike.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event,
    enums::{Cadence, DeliveryChannel, DeliveryTopic, NotificationKind, WebhookEventKind},
    need, need_event,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use crate::{
    db::{
        Db,
        notify::{
            audience,
            deliveries::{self, NewDelivery},
            memo,
            pending::{self, Pending},
            preferences,
        },
        outbox::Topic,
    },
    domain::{
        notify::{Audience, Notices, chosen, commission_notices, need_notices},
        time::next_norwegian_hour,
    },
};

/// Events taken per topic in one pass.
pub const BATCH: u64 = 200;

/// The hour (Norwegian time) the daily digest is sent at.
pub const DIGEST_HOUR: u32 = 7;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fanned {
    /// Events taken (and marked done).
    pub events: usize,
    pub emails: u64,
    pub webhooks: u64,
}

/// One pass: takes up to [`BATCH`] waiting events of each topic and writes their deliveries.
/// E-mail deliveries are written only when `email` is on (with e-mail off, a person's mail would
/// wait for ever).
pub async fn pass(db: &Db, email: bool, now: DateTime<Utc>) -> Result<Fanned, DbErr> {
    if !pending::any(db.conn()).await? {
        return Ok(Fanned::default());
    }
    let txn = db.begin_write().await?;
    let claimed = pending::claim(&txn, BATCH).await?;
    if claimed.is_empty() {
        txn.commit().await?;
        return Ok(Fanned::default());
    }
    let mut planned = Vec::new();
    let ids = |topic| claimed.iter().filter(move |p: &&Pending| p.topic == topic).map(|p| p.event_id);
    let need_events =
        need_event::Entity::find().filter(need_event::Column::Id.is_in(ids(Topic::Need))).all(&txn).await?;
    let needs: HashMap<i32, need::Model> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_events.iter().map(|e| e.need_id)))
        .all(&txn)
        .await?
        .into_iter()
        .map(|n| (n.id, n))
        .collect();
    let noticed: Vec<(&need_event::Model, &need::Model, Notices)> = need_events
        .iter()
        .filter_map(|event| {
            let need = needs.get(&event.need_id)?;
            let notices =
                need_notices(event.kind, event.from_status, event.to_status, event.reason.is_some());
            Some((event, need, notices))
        })
        .collect();
    // The webhook endpoints above every unit that raised one of the needs, read once.
    let units: Vec<i32> = noticed
        .iter()
        .filter(|(_, _, notices)| notices.webhook.is_some())
        .filter_map(|(_, need, _)| need.organisation_id)
        .collect::<HashSet<i32>>()
        .into_iter()
        .collect();
    let above = audience::endpoints_above(&txn, &units).await?;
    let mut shared = Shared::default();
    for (event, need, notices) in &noticed {
        let about =
            About { topic: DeliveryTopic::Need, event_id: event.id, actor: event.actor_person_id, now };
        plan(&txn, &mut shared, &about, notices, Subject::Need(need, &above), email, &mut planned).await?;
    }
    let commission_events = commission_event::Entity::find()
        .filter(commission_event::Column::Id.is_in(ids(Topic::Commission)))
        .all(&txn)
        .await?;
    let commissions: HashMap<i32, commission::Model> = commission::Entity::find()
        .filter(commission::Column::Id.is_in(commission_events.iter().map(|e| e.commission_id)))
        .all(&txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    for event in &commission_events {
        let Some(commission) = commissions.get(&event.commission_id) else { continue };
        let notices = commission_notices(event.kind, event.to_status);
        let about =
            About { topic: DeliveryTopic::Commission, event_id: event.id, actor: event.actor_person_id, now };
        plan(&txn, &mut shared, &about, &notices, Subject::Commission(commission), email, &mut planned)
            .await?;
    }
    let emails = planned.iter().filter(|d| d.channel == DeliveryChannel::Email).count() as u64;
    let webhooks = planned.len() as u64 - emails;
    deliveries::enqueue(&txn, &planned).await?;
    pending::done(&txn, &claimed).await?;
    txn.commit().await?;
    Ok(Fanned { events: claimed.len(), emails, webhooks })
}

/// The event being fanned out.
struct About {
    topic: DeliveryTopic,
    event_id: i32,
    actor: Option<i32>,
    now: DateTime<Utc>,
}

/// What the event is about: a need, with the webhook endpoints above the units of the pass's
/// needs, or a commission.
#[derive(Clone, Copy)]
enum Subject<'a> {
    Need(&'a need::Model, &'a audience::EndpointsAbove),
    Commission(&'a commission::Model),
}

/// The words of a topic in message ids.
pub fn topic_word(topic: DeliveryTopic) -> &'static str {
    match topic {
        DeliveryTopic::Need => "need",
        DeliveryTopic::Commission => "commission",
        DeliveryTopic::Endpoint => "endpoint",
        DeliveryTopic::RoundOpened => "round-opened",
        DeliveryTopic::RoundClosing => "round-closing",
        DeliveryTopic::RoundClosed => "round-closed",
        DeliveryTopic::CommissionDue => "commission-due",
        DeliveryTopic::MilestoneDue => "milestone-due",
    }
}

/// The message id of an e-mail to `person` about `subject_id` of `topic`: the same however
/// often the fan-out runs, so the queue holds it once and a resent mail keeps its `Message-ID`.
pub fn email_id(person: i32, topic: DeliveryTopic, subject_id: i32) -> String {
    format!("email:{person}:{}:{subject_id}", topic_word(topic))
}

/// The message id of a webhook to `endpoint`: its `webhook-id`, the same on every retry.
pub fn webhook_id(endpoint: i32, topic: DeliveryTopic, subject_id: i32) -> String {
    format!("webhook:{endpoint}:{}:{subject_id}", topic_word(topic))
}

/// What deliveries tell of: their topic and subject, and when they are planned.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub topic: DeliveryTopic,
    pub subject_id: i32,
    pub now: DateTime<Utc>,
}

/// Adds an e-mail to each of `people` not `told` yet (and marks them told), under the first of
/// `kinds` they have not turned off, now or in the next morning's digest as they chose; none to
/// whoever turned every one of them off.
pub async fn email_people(
    db: &impl ConnectionTrait,
    people: &[i32],
    kinds: &[NotificationKind],
    target: Target,
    told: &mut HashSet<i32>,
    planned: &mut Vec<NewDelivery>,
) -> Result<(), DbErr> {
    email_people_with(db, &mut Shared::default(), people, kinds, target, told, planned).await
}

/// What a pass has read of who hears: a batch's events are mostly of needs raised in a few
/// units, told to the same people, whose people and preferences are then read once a pass.
#[derive(Default)]
struct Shared {
    people: HashMap<NeedAudience, Vec<i32>>,
    cadences: HashMap<(NotificationKind, Vec<i32>), Cadences>,
}

/// The cadences of a kind for people, by the kind and the people (in the order asked).
type Cadences = Vec<(i32, Cadence)>;

/// What the people of an audience of a need depend on: the audience, the need's pool, the unit
/// it was raised in and its writer.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct NeedAudience {
    audience: Audience,
    pool: Option<i32>,
    unit: Option<i32>,
    writer: i32,
}

/// [`email_people`], reading each kind's cadences for the same people once a pass.
async fn email_people_with(
    db: &impl ConnectionTrait,
    shared: &mut Shared,
    people: &[i32],
    kinds: &[NotificationKind],
    target: Target,
    told: &mut HashSet<i32>,
    planned: &mut Vec<NewDelivery>,
) -> Result<(), DbErr> {
    let people: Vec<i32> = people.iter().copied().filter(|p| !told.contains(p)).collect();
    if people.is_empty() {
        return Ok(());
    }
    let mut cadences: HashMap<(i32, NotificationKind), Cadence> = HashMap::new();
    for kind in kinds {
        let read =
            memo(&mut shared.cadences, (*kind, people.clone()), preferences::cadences(db, &people, *kind))
                .await?;
        cadences.extend(read.into_iter().map(|(person, cadence)| ((person, *kind), cadence)));
    }
    for person in people {
        told.insert(person);
        let cadence_of = |kind| cadences.get(&(person, kind)).copied().unwrap_or(Cadence::Off);
        let Some((kind, cadence)) = chosen(kinds, cadence_of) else { continue };
        let digest = cadence == Cadence::Digest;
        planned.push(NewDelivery {
            message_id: email_id(person, target.topic, target.subject_id),
            channel: DeliveryChannel::Email,
            person_id: Some(person),
            endpoint_id: None,
            topic: target.topic,
            subject_id: target.subject_id,
            notification_kind: Some(kind),
            webhook_kind: None,
            digest,
            due_at: if digest { next_norwegian_hour(target.now, DIGEST_HOUR) } else { target.now },
        });
    }
    Ok(())
}

/// Adds a webhook of `kind` to each of `endpoints`, due now.
pub fn webhook_endpoints(
    endpoints: &[i32],
    kind: WebhookEventKind,
    target: Target,
    planned: &mut Vec<NewDelivery>,
) {
    planned.extend(endpoints.iter().map(|endpoint| NewDelivery {
        message_id: webhook_id(*endpoint, target.topic, target.subject_id),
        channel: DeliveryChannel::Webhook,
        person_id: None,
        endpoint_id: Some(*endpoint),
        topic: target.topic,
        subject_id: target.subject_id,
        notification_kind: None,
        webhook_kind: Some(kind),
        digest: false,
        due_at: target.now,
    }));
}

/// Adds the deliveries of one event to `planned`, reading what `shared` does not hold yet.
async fn plan(
    db: &impl ConnectionTrait,
    shared: &mut Shared,
    about: &About,
    notices: &Notices,
    subject: Subject<'_>,
    email: bool,
    planned: &mut Vec<NewDelivery>,
) -> Result<(), DbErr> {
    let (need, commission) = match subject {
        Subject::Need(n, _) => (Some(n), None),
        Subject::Commission(c) => (None, Some(c)),
    };
    let wants_matching = notices.people.iter().any(|n| n.audience == Audience::MatchingInstitutions)
        || notices.webhook == Some(WebhookEventKind::CommissionOpened);
    let matching = match commission {
        Some(c) if wants_matching => crate::db::institutions::matching_institutions(db, c.id).await?,
        _ => Vec::new(),
    };
    let target = Target { topic: about.topic, subject_id: about.event_id, now: about.now };
    if email {
        let mut told: HashSet<i32> = about.actor.into_iter().collect();
        for notice in &notices.people {
            let people = match need {
                Some(need) => {
                    let key = NeedAudience {
                        audience: notice.audience,
                        pool: need.partnership_id,
                        unit: need.organisation_id,
                        writer: need.created_by_person_id,
                    };
                    memo(
                        &mut shared.people,
                        key,
                        audience::people(db, notice.audience, Some(need), None, &[]),
                    )
                    .await?
                }
                None => audience::people(db, notice.audience, None, commission, &matching).await?,
            };
            email_people_with(db, shared, &people, notice.kinds, target, &mut told, planned).await?;
        }
    }
    let Some(kind) = notices.webhook else { return Ok(()) };
    let endpoints = match subject {
        Subject::Need(need, above) => {
            need.organisation_id.map(|unit| above.of(unit, kind)).unwrap_or_default()
        }
        Subject::Commission(_) if kind == WebhookEventKind::CommissionOpened => {
            let organisations = audience::organisations_of_institutions(db, &matching).await?;
            audience::endpoints(db, &organisations, kind).await?
        }
        Subject::Commission(c) => {
            let parties = audience::commission_institutions(db, c).await?;
            let organisations = audience::organisations_of_institutions(db, &parties).await?;
            audience::endpoints(db, &organisations, kind).await?
        }
    };
    webhook_endpoints(&endpoints, kind, target, planned);
    Ok(())
}
