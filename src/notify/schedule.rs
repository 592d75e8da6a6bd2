//! The notices no history event triggers, written by a scheduled scan: a round opened (to those
//! who score in it, and the webhooks of the organisations it is open to), closes within a day (to
//! the same people), closed (to the same webhooks); a commission's deadline or a milestone's due
//! date is three days away (to those doing and following the work). When each is due is
//! `domain::notify`'s rule (`round_opened`, `round_closing_soon`, `round_closed`,
//! `deadline_near`); who hears of it, and how, is decided as the fan-out decides it, by its
//! code (`fanout::email_people`, `fanout::webhook_endpoints`).
//!
//! Each notice is marked on its row once told (`round.opened_notified_at`,
//! `closing_notified_at`, `closed_notified_at`, `commission.due_notified_at`,
//! `milestone.due_notified_at`), or once found moot (the round closed before its opening was
//! told, the deadline passed, the work was delivered), so a pass reads only the few unmarked rows
//! whose moment has come (partial indexes), without a transaction; it takes the writer only when
//! it has something to write. Every instance scans: a notice's deliveries have fixed message ids
//! and are written once however many passes or instances plan them (`deliveries::enqueue`), and
//! a mark is only ever set where none is.
//!
//! Whether a recipient may still see what a notice tells of, and whether it is still true (the
//! round still open, the work not yet delivered), is checked again when it is sent
//! (`compose::email`, `compose::webhook`).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use entity::{
    commission,
    enums::{DeliveryChannel, DeliveryTopic, NotificationKind, RoundStatus, WebhookEventKind},
    round,
};

use crate::{
    db::{
        Db,
        notify::{
            audience,
            deliveries::NewDelivery,
            fanout::{Target, email_people, webhook_endpoints},
            scheduled::{self, Marks},
        },
    },
    domain::notify::{
        Audience, DEADLINE_NOTICE, Due, ROUND_CLOSING_NOTICE, RoundTimes, deadline_near, round_closed,
        round_closing_soon, round_opened,
    },
    error::AppError,
};

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scheduled {
    /// Notices marked (told, or found moot).
    pub marked: usize,
    pub emails: u64,
    pub webhooks: u64,
}

/// One pass at `now`: tells what has fallen due and marks it. E-mail deliveries are written only
/// when `email` is on (as the fan-out does; the notices are marked all the same).
pub async fn pass(db: &Db, email: bool, now: DateTime<Utc>) -> Result<Scheduled, AppError> {
    let waiting = scheduled::waiting(db.conn(), now, ROUND_CLOSING_NOTICE, DEADLINE_NOTICE).await?;
    if waiting.is_empty() {
        return Ok(Scheduled::default());
    }
    let mut planned = Vec::new();
    let mut marks = Marks::default();
    for r in &waiting.rounds {
        plan_round(db, r, email, now, &mut planned, &mut marks).await?;
    }
    for c in &waiting.commissions {
        match deadline_near(c.status, c.deadline, now) {
            Due::NotYet => continue,
            Due::Never => {}
            Due::Now => {
                let target = Target { topic: DeliveryTopic::CommissionDue, subject_id: c.id, now };
                tell_deadline(db, Audience::CommissionParties, c, target, email, &mut planned).await?;
            }
        }
        marks.commissions.push(c.id);
    }
    for (m, parent) in &waiting.milestones {
        let due = parent.as_ref().map_or(Due::Never, |p| deadline_near(p.status, m.due_at, now));
        match (due, parent) {
            (Due::NotYet, _) => continue,
            (Due::Now, Some(parent)) => {
                let target = Target { topic: DeliveryTopic::MilestoneDue, subject_id: m.id, now };
                tell_deadline(db, Audience::AwardedParties, parent, target, email, &mut planned).await?;
            }
            _ => {}
        }
        marks.milestones.push(m.id);
    }
    if planned.is_empty() && marks.is_empty() {
        return Ok(Scheduled::default());
    }
    let emails = planned.iter().filter(|d| d.channel == DeliveryChannel::Email).count() as u64;
    let webhooks = planned.len() as u64 - emails;
    scheduled::write(db, &planned, &marks, now).await?;
    Ok(Scheduled { marked: marks.len(), emails, webhooks })
}

/// Plans a round's notices that are due and marks them (and those that never will be).
async fn plan_round(
    db: &Db,
    r: &round::Model,
    email: bool,
    now: DateTime<Utc>,
    planned: &mut Vec<NewDelivery>,
    marks: &mut Marks,
) -> Result<(), AppError> {
    let times =
        RoundTimes { open: r.status == RoundStatus::Open, opened_at: r.created_at, closes_at: r.closes_at };
    let mut scorers = None;
    let notices = [
        (r.opened_notified_at, round_opened(times, now), DeliveryTopic::RoundOpened),
        (r.closing_notified_at, round_closing_soon(times, now), DeliveryTopic::RoundClosing),
        (r.closed_notified_at, round_closed(times), DeliveryTopic::RoundClosed),
    ];
    for (notified, due, topic) in notices {
        if notified.is_some() || due == Due::NotYet {
            continue;
        }
        let target = Target { topic, subject_id: r.id, now };
        if due == Due::Now {
            let (kind, webhook) = match topic {
                DeliveryTopic::RoundOpened => {
                    (Some(NotificationKind::RoundOpened), Some(WebhookEventKind::RoundOpened))
                }
                DeliveryTopic::RoundClosing => (Some(NotificationKind::RoundClosingSoon), None),
                _ => (None, Some(WebhookEventKind::RoundClosed)),
            };
            if let (Some(kind), true) = (kind, email) {
                if scorers.is_none() {
                    scorers = Some(audience::round_scorers(db.conn(), r.partnership_id).await?);
                }
                let people = scorers.as_deref().unwrap_or_default();
                // The coordinator who opened it is not told it opened.
                let mut told: HashSet<i32> = (topic == DeliveryTopic::RoundOpened)
                    .then_some(r.created_by_person_id)
                    .into_iter()
                    .collect();
                email_people(db.conn(), people, &[kind], target, &mut told, planned).await?;
            }
            if let Some(webhook) = webhook {
                let endpoints = audience::endpoints_served_by(db.conn(), r.partnership_id, webhook).await?;
                webhook_endpoints(&endpoints, webhook, target, planned);
            }
        }
        match topic {
            DeliveryTopic::RoundOpened => marks.opened.push(r.id),
            DeliveryTopic::RoundClosing => marks.closing.push(r.id),
            _ => marks.closed.push(r.id),
        }
    }
    Ok(())
}

/// Plans the e-mails telling `audience` of `commission` that a deadline is near.
async fn tell_deadline(
    db: &Db,
    audience: Audience,
    commission: &commission::Model,
    target: Target,
    email: bool,
    planned: &mut Vec<NewDelivery>,
) -> Result<(), AppError> {
    if !email {
        return Ok(());
    }
    let people = audience::people(db.conn(), audience, None, Some(commission), &[]).await?;
    let kinds = [NotificationKind::DeadlineApproaching];
    Ok(email_people(db.conn(), &people, &kinds, target, &mut HashSet::new(), planned).await?)
}
