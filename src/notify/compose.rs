//! What a notification says, decided when it is sent, not when it was queued: the recipient's
//! rights now (a need that became a draft is not mailed to those who may no longer see it; a
//! person who left an institution no longer hears of its commissions), their choice now (a kind
//! turned off since is not sent), their language now. A mail carries titles, statuses, dates and
//! the comment of a return, which whoever may see the need sees in its history; no one's name or
//! address.
//!
//! A webhook's payload (`{"type", "timestamp", "data"}`, as the Standard Webhooks specification
//! shapes it) carries what a member of the endpoint's organisation may see.

use std::{collections::HashMap, sync::Arc};

use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event, delivery,
    enums::{
        Cadence, CommissionEventKind, DeliveryTopic, NotificationKind, Role, RoundStatus, WebhookEventKind,
    },
    need, need_event, person, webhook_endpoint,
};
use serde_json::{Value, json};

use crate::{
    auth::{
        Action, Viewer,
        authenticator::grant,
        viewer::{Grant, Identity},
    },
    db::{
        Db,
        identity::grants_of,
        notify::{
            audience, memo, preferences,
            subjects::{self, organisation_name, partnership_name},
        },
        organisations::read::partnerships_serving,
    },
    domain::{
        nodes::NodeType,
        notify::{Due, deadline_near, default_for},
    },
    error::AppError,
    graphql::ids::GlobalId,
    notify::{
        Notifier,
        templates::{self, Content, Mail, Rendered},
    },
};

/// Why a notification is not sent.
pub type Skip = &'static str;

/// A person to mail, with their rights now.
pub struct Recipient {
    pub person: person::Model,
    pub viewer: Viewer,
}

/// What a batch of deliveries reads, each thing once: a worker takes up to 64 deliveries and
/// composes them within milliseconds, so a read shared by the batch is as fresh as one per
/// delivery, and a queue of an event's mails to many people (or of many events' mails to a few)
/// reads each person, event and name once rather than once a mail (bench N1).
pub struct Reads<'a> {
    db: &'a Db,
    recipients: HashMap<i32, Arc<Recipient>>,
    stored: HashMap<(i32, NotificationKind), Cadence>,
    endpoints: HashMap<i32, Arc<(webhook_endpoint::Model, Vec<String>)>>,
    need_events: HashMap<i32, (need_event::Model, need::Model)>,
    commission_events: HashMap<i32, (commission_event::Model, commission::Model)>,
    organisation_names: HashMap<Option<i32>, String>,
    partnership_names: HashMap<i32, String>,
    above: HashMap<i32, Vec<i32>>,
    members: HashMap<i32, Viewer>,
}

impl<'a> Reads<'a> {
    /// The reads of `batch`, starting with its recipients (each person, with their rights now,
    /// every membership they hold: a mail is bound by no token; and what they chose for the
    /// batch's kinds) and its endpoints (enabled, with the secrets that sign now): five
    /// statements, however many deliveries; then the events they tell of with their needs and
    /// commissions, two statements each.
    pub async fn of_batch(db: &'a Db, batch: &[delivery::Model]) -> Result<Self, AppError> {
        let mut people: Vec<i32> = batch.iter().filter_map(|d| d.person_id).collect();
        people.sort_unstable();
        people.dedup();
        let mut kinds: Vec<NotificationKind> = batch.iter().filter_map(|d| d.notification_kind).collect();
        kinds.sort_unstable_by_key(|k| *k as i32);
        kinds.dedup();
        let endpoints: Vec<i32> = batch.iter().filter_map(|d| d.endpoint_id).collect();
        let of = |topic: DeliveryTopic| -> Vec<i32> {
            batch.iter().filter(|d| d.topic == topic).map(|d| d.subject_id).collect()
        };
        let need_events = subjects::need_events(db.conn(), &of(DeliveryTopic::Need)).await?;
        let commission_events =
            subjects::commission_events(db.conn(), &of(DeliveryTopic::Commission)).await?;
        let mut grants = grants_of(db.conn(), &people).await?;
        let recipients = subjects::people(db.conn(), &people)
            .await?
            .into_iter()
            .map(|person| {
                let grants = grants.remove(&person.id).unwrap_or_default();
                let identity = Identity {
                    person_id: person.id,
                    // Not a token's: the person's own rights, as a mail is sent on no one's request.
                    token_id: 0,
                    minted_by: None,
                    bound: None,
                    bound_by: None,
                    grants: grants.iter().map(grant).collect(),
                };
                let viewer = Viewer::authenticated(Arc::new(identity));
                (person.id, Arc::new(Recipient { person, viewer }))
            })
            .collect();
        let stored = preferences::stored(db.conn(), &people, &kinds)
            .await?
            .into_iter()
            .map(|(person, kind, cadence)| ((person, kind), cadence))
            .collect();
        let endpoints = crate::db::notify::webhooks::deliverable(db.conn(), &endpoints, Utc::now())
            .await?
            .into_iter()
            .map(|(id, found)| (id, Arc::new(found)))
            .collect();
        Ok(Self {
            db,
            recipients,
            stored,
            endpoints,
            need_events,
            commission_events,
            organisation_names: HashMap::new(),
            partnership_names: HashMap::new(),
            above: HashMap::new(),
            members: HashMap::new(),
        })
    }

    /// The person `id` with their rights now; `None` when they are gone.
    pub fn recipient(&self, id: i32) -> Option<Arc<Recipient>> {
        self.recipients.get(&id).cloned()
    }

    /// The enabled endpoint `id` with the secrets that sign now; `None` when it is disabled or
    /// gone.
    pub fn endpoint(&self, id: i32) -> Option<Arc<(webhook_endpoint::Model, Vec<String>)>> {
        self.endpoints.get(&id).cloned()
    }

    /// How `to` hears of `kind` now: as they chose, else as their roles have it.
    fn cadence(&self, to: &Recipient, kind: NotificationKind) -> Cadence {
        self.stored.get(&(to.person.id, kind)).copied().unwrap_or_else(|| {
            let roles: Vec<Role> = to.viewer.grants().iter().map(|g| g.role.current()).collect();
            default_for(kind, &roles)
        })
    }

    /// A need's history event (one of the batch's) with the need as it is now.
    fn need_event(&self, id: i32) -> Option<(need_event::Model, need::Model)> {
        self.need_events.get(&id).cloned()
    }

    /// A commission's history event (one of the batch's) with the commission as it is now.
    fn commission_event(&self, id: i32) -> Option<(commission_event::Model, commission::Model)> {
        self.commission_events.get(&id).cloned()
    }

    async fn organisation_name(&mut self, id: Option<i32>) -> Result<String, AppError> {
        Ok(memo(&mut self.organisation_names, id, organisation_name(self.db.conn(), id)).await?)
    }

    async fn partnership_name(&mut self, id: i32) -> Result<String, AppError> {
        Ok(memo(&mut self.partnership_names, id, partnership_name(self.db.conn(), id)).await?)
    }

    async fn organisations_above(&mut self, id: i32) -> Result<Vec<i32>, AppError> {
        Ok(memo(&mut self.above, id, audience::organisations_above(self.db.conn(), id)).await?)
    }

    /// What a member of `organisation` may see: a unit's member, or an institution's when it is
    /// one.
    async fn organisation_member(&mut self, organisation: i32) -> Result<Viewer, AppError> {
        if let Some(viewer) = self.members.get(&organisation) {
            return Ok(viewer.clone());
        }
        let db = self.db.conn();
        let institution = subjects::institution_of_organisation(db, organisation).await?;
        let grant = Grant {
            membership_id: 0,
            role: if institution.is_some() { Role::InstitutionMember } else { Role::UnitMember },
            partnership_id: None,
            organisation_id: Some(organisation),
            institution_id: institution.map(|i| i.id),
            ancestors: self.organisations_above(organisation).await?,
            // The partnerships serving it, whose rounds its members see.
            partnerships: partnerships_serving(db, &[organisation])
                .await?
                .remove(&organisation)
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.id)
                .collect(),
            managed_by: Vec::new(),
            national: false,
        };
        let identity = Identity {
            person_id: 0,
            token_id: 0,
            minted_by: None,
            bound: None,
            bound_by: None,
            grants: vec![grant],
        };
        let viewer = Viewer::authenticated(Arc::new(identity));
        self.members.insert(organisation, viewer.clone());
        Ok(viewer)
    }
}

/// A mail ready to send, with what a digest takes of it.
pub struct Composed {
    pub rendered: Rendered,
    /// The link to the object it tells of.
    pub link: String,
    /// The unsubscribe link (from this kind).
    pub unsubscribe: String,
}

/// One mail's content for `to`; or why it is not sent.
pub async fn email(
    reads: &mut Reads<'_>,
    notifier: &Notifier,
    to: &Recipient,
    d: &delivery::Model,
) -> Result<Result<Composed, Skip>, AppError> {
    // A mail about the recipient's own endpoint, which the hub disabled, is not of a kind they
    // choose; unsubscribing from it stops every kind.
    let kind = d.notification_kind;
    if let Some(kind) = kind {
        if reads.cadence(to, kind) == Cadence::Off {
            return Ok(Err("the recipient turned this kind off"));
        }
    } else if d.topic != DeliveryTopic::Endpoint {
        return Ok(Err("no kind of notification"));
    }
    let unsubscribe = notifier.unsubscribe_link(to.person.id, kind);
    let frame = Frame { recipient: &to.person.name, unsubscribe: &unsubscribe, language: to.person.language };
    let rendered = match d.topic {
        DeliveryTopic::Need => {
            let Some((event, need)) = reads.need_event(d.subject_id) else {
                return Ok(Err(GONE));
            };
            if !sees_need(&to.viewer, &need) {
                return Ok(Err(HIDDEN));
            }
            let link = notifier.links.object(NodeType::Need, need.id);
            match kind.unwrap_or(NotificationKind::NeedStatusChanged) {
                NotificationKind::NeedCosigned => {
                    let cosigner = reads.organisation_name(event.organisation_id).await?;
                    frame.render(link.clone(), templates::NeedCosigned { need: need.title.clone(), cosigner })
                }
                NotificationKind::NewNeedInMyUnits => {
                    let raised_in = reads.organisation_name(need.organisation_id).await?;
                    let unit = reviewing_unit(reads, &to.viewer, &need).await?;
                    frame.render(
                        link.clone(),
                        templates::NewNeed { need: need.title.clone(), raised_in, unit },
                    )
                }
                _ => {
                    let (Some(from), Some(to_status)) = (event.from_status, event.to_status) else {
                        return Ok(Err("the event is not a move"));
                    };
                    let content = templates::NeedStatusChanged {
                        need: need.title.clone(),
                        from,
                        to: to_status,
                        comment: event.reason.clone(),
                    };
                    frame.render(link.clone(), content)
                }
            }
            .map(|r| (r, link))
        }
        DeliveryTopic::Commission => {
            let Some((event, commission)) = reads.commission_event(d.subject_id) else {
                return Ok(Err(GONE));
            };
            if !to.viewer.can(Action::SeeCommission {
                status: commission.status,
                partnership_id: commission.partnership_id,
            }) {
                return Ok(Err(HIDDEN));
            }
            let link = notifier.links.object(NodeType::Commission, commission.id);
            if kind == Some(NotificationKind::CommissionOpenedMatching) {
                let Some(institution) = institution_of(reads.db, &to.viewer).await? else {
                    return Ok(Err("the recipient is no longer an institution's member"));
                };
                let content = templates::CommissionOpened {
                    commission: commission.question.clone(),
                    partnership: reads.partnership_name(commission.partnership_id).await?,
                    institution,
                    deadline: commission.deadline,
                };
                frame.render(link.clone(), content)
            } else {
                let content = templates::CommissionChanged {
                    commission: commission.question.clone(),
                    event: event.kind,
                    status: commission.status,
                    // A progress note or a milestone's title; an interest's proposal stays out.
                    note: if event.kind == CommissionEventKind::Interest { None } else { event.note.clone() },
                };
                frame.render(link.clone(), content)
            }
            .map(|r| (r, link))
        }
        DeliveryTopic::RoundOpened | DeliveryTopic::RoundClosing => {
            let Some(round) = subjects::round(reads.db.conn(), d.subject_id).await? else {
                return Ok(Err(GONE));
            };
            if !to.viewer.can(Action::SeeRound { partnership_id: round.partnership_id }) {
                return Ok(Err(HIDDEN));
            }
            if round.status != RoundStatus::Open {
                return Ok(Err("the round is closed"));
            }
            let link = notifier.links.object(NodeType::Round, round.id);
            let partnership = reads.partnership_name(round.partnership_id).await?;
            let (name, closes_at) = (round.name, round.closes_at);
            if d.topic == DeliveryTopic::RoundOpened {
                frame.render(link.clone(), templates::RoundOpened { round: name, partnership, closes_at })
            } else {
                frame
                    .render(link.clone(), templates::RoundClosingSoon { round: name, partnership, closes_at })
            }
            .map(|r| (r, link))
        }
        DeliveryTopic::CommissionDue | DeliveryTopic::MilestoneDue => {
            let Some(due) = subjects::deadline(reads.db.conn(), d.topic, d.subject_id).await? else {
                return Ok(Err(GONE));
            };
            let commission = due.commission;
            if !to.viewer.can(Action::SeeCommission {
                status: commission.status,
                partnership_id: commission.partnership_id,
            }) {
                return Ok(Err(HIDDEN));
            }
            if due.settled || deadline_near(commission.status, due.due, Utc::now()) == Due::Never {
                return Ok(Err("the work is done or its time has passed"));
            }
            let link = notifier.links.object(NodeType::Commission, commission.id);
            let content = templates::DeadlineApproaching {
                commission: commission.question,
                what: due.what,
                due: due.due,
            };
            frame.render(link.clone(), content).map(|r| (r, link))
        }
        DeliveryTopic::RoundClosed => return Ok(Err("not an e-mail's subject")),
        DeliveryTopic::Endpoint => {
            let Some(endpoint) = crate::db::notify::webhooks::find(reads.db.conn(), d.subject_id).await?
            else {
                return Ok(Err(GONE));
            };
            let link = notifier.links.object(NodeType::WebhookEndpoint, endpoint.id);
            let content = templates::WebhookDisabled {
                endpoint: endpoint.url.clone(),
                attempts: crate::domain::webhooks::MAX_ATTEMPTS,
                last_error: endpoint.disabled_reason.clone(),
            };
            frame.render(link.clone(), content).map(|r| (r, link))
        }
    };
    Ok(rendered.map(|(rendered, link)| Composed { rendered, link, unsubscribe }).map_err(|err| {
        tracing::error!(error = %err, "a mail's template failed");
        "its template failed"
    }))
}

const GONE: Skip = "what it tells of is gone";
const HIDDEN: Skip = "the recipient may no longer see what it tells of";

/// What every mail to one recipient shares.
struct Frame<'a> {
    recipient: &'a str,
    unsubscribe: &'a str,
    language: entity::enums::Language,
}

impl Frame<'_> {
    fn render<T: Content>(&self, link: String, content: T) -> Result<Rendered, templates::RenderError> {
        let mail = Mail {
            recipient: self.recipient.to_owned(),
            link,
            unsubscribe: self.unsubscribe.to_owned(),
            content,
        };
        mail.render(self.language)
    }
}

fn sees_need(viewer: &Viewer, need: &need::Model) -> bool {
    need.organisation_id
        .is_some_and(|organisation_id| viewer.can(Action::SeeNeed { status: need.status, organisation_id }))
}

/// The partnership (its pool) or the unit above the need through which the recipient reviews it.
async fn reviewing_unit(
    reads: &mut Reads<'_>,
    viewer: &Viewer,
    need: &need::Model,
) -> Result<String, AppError> {
    if let Some(pool) = need.partnership_id.filter(|p| viewer.is_coordinator_of(*p)) {
        return reads.partnership_name(pool).await;
    }
    let above = match need.organisation_id {
        Some(unit) => reads.organisations_above(unit).await?,
        None => Vec::new(),
    };
    let theirs = viewer
        .grants()
        .iter()
        .filter(|g: &&Grant| matches!(g.role.current(), Role::UnitCoordinator))
        .find_map(|g| g.organisation_id.filter(|o| above.contains(o)));
    match theirs {
        Some(unit) => reads.organisation_name(Some(unit)).await,
        None => Ok(String::new()),
    }
}

/// The name of an institution the recipient is a member of.
async fn institution_of(db: &Db, viewer: &Viewer) -> Result<Option<String>, AppError> {
    let Some(id) = viewer.member_institutions().first().copied() else { return Ok(None) };
    Ok(subjects::institution_name(db.conn(), id).await?)
}

/// The `type` of a webhook of `kind`, as the specification names events (`group.event`).
pub fn webhook_type(kind: WebhookEventKind) -> &'static str {
    match kind {
        WebhookEventKind::NeedCreated => "need.created",
        WebhookEventKind::NeedStatusChanged => "need.status_changed",
        WebhookEventKind::NeedCosigned => "need.cosigned",
        WebhookEventKind::CommissionOpened => "commission.opened",
        WebhookEventKind::CommissionChanged => "commission.changed",
        WebhookEventKind::RoundOpened => "round.opened",
        WebhookEventKind::RoundClosed => "round.closed",
    }
}

/// A webhook's body for `endpoint`; or why it is not sent (the endpoint no longer subscribes to
/// the kind, or a member of its organisation may not see what it tells of).
pub async fn webhook(
    reads: &mut Reads<'_>,
    endpoint: &webhook_endpoint::Model,
    d: &delivery::Model,
) -> Result<Result<Vec<u8>, Skip>, AppError> {
    let Some(kind) = d.webhook_kind else { return Ok(Err("no kind of event")) };
    if !crate::db::notify::webhooks::kinds_of(&endpoint.event_kinds).contains(&kind) {
        return Ok(Err("the endpoint no longer subscribes to this kind"));
    }
    let viewer = reads.organisation_member(endpoint.organisation_id).await?;
    let (occurred_at, data): (DateTime<Utc>, Value) = match d.topic {
        DeliveryTopic::Need => {
            let Some((event, need)) = reads.need_event(d.subject_id) else {
                return Ok(Err(GONE));
            };
            if !sees_need(&viewer, &need) {
                return Ok(Err(HIDDEN));
            }
            (
                event.occurred_at,
                json!({
                    "need": node(NodeType::Need, need.id),
                    "event": event.kind,
                    "title": need.title,
                    "status": need.status,
                    "from": event.from_status,
                    "to": event.to_status,
                    "reason": event.reason,
                    "organisation": need.organisation_id.map(|o| node(NodeType::Organisation, o)),
                    "partnership": need.partnership_id.map(|p| node(NodeType::Partnership, p)),
                }),
            )
        }
        DeliveryTopic::Commission => {
            let Some((event, commission)) = reads.commission_event(d.subject_id) else {
                return Ok(Err(GONE));
            };
            if !viewer.can(Action::SeeCommission {
                status: commission.status,
                partnership_id: commission.partnership_id,
            }) {
                return Ok(Err(HIDDEN));
            }
            (
                event.occurred_at,
                json!({
                    "commission": node(NodeType::Commission, commission.id),
                    "event": event.kind,
                    "question": commission.question,
                    "status": commission.status,
                    "deadline": commission.deadline,
                    "note": if event.kind == CommissionEventKind::Interest { None } else { event.note },
                    "partnership": node(NodeType::Partnership, commission.partnership_id),
                }),
            )
        }
        DeliveryTopic::RoundOpened | DeliveryTopic::RoundClosed => {
            let Some(round) = subjects::round(reads.db.conn(), d.subject_id).await? else {
                return Ok(Err(GONE));
            };
            if !viewer.can(Action::SeeRound { partnership_id: round.partnership_id }) {
                return Ok(Err(HIDDEN));
            }
            (
                if d.topic == DeliveryTopic::RoundOpened {
                    round.created_at
                } else {
                    round.closed_at.unwrap_or(round.closes_at)
                },
                json!({
                    "round": node(NodeType::Round, round.id),
                    "name": round.name,
                    "status": round.status,
                    "closes_at": round.closes_at,
                    "closed_at": round.closed_at,
                    "prioritise": round.prioritise_count,
                    "partnership": node(NodeType::Partnership, round.partnership_id),
                }),
            )
        }
        DeliveryTopic::Endpoint
        | DeliveryTopic::RoundClosing
        | DeliveryTopic::CommissionDue
        | DeliveryTopic::MilestoneDue => return Ok(Err("not a webhook's subject")),
    };
    let body = json!({ "type": webhook_type(kind), "timestamp": occurred_at, "data": data });
    Ok(Ok(body.to_string().into_bytes()))
}

fn node(node_type: NodeType, id: i32) -> String {
    GlobalId::new(node_type, id).encode().to_string()
}
