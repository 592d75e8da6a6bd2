//! The notification workers, off the request path, on every instance: the fan-out (history
//! events to deliveries), the scan for scheduled notices (rounds' and deadlines' dates), the
//! e-mail worker (one mail per delivery, a day's digest deliveries
//! in one mail) and the webhook worker. Each wakes when there is work (a change committed on
//! any instance reaches the fan-out through the relay; the fan-out wakes the senders) and every
//! `--notify-poll-ms` for work that falls due (retries, the morning's digests).
//!
//! Sending holds no transaction and no lock: a delivery is taken under a lease
//! (`deliveries::claim_due`), sent, then marked. A worker that dies in between leaves its lease to
//! run out and the delivery is sent again, once, with the same message id; a slow SMTP server or
//! endpoint holds up only its own deliveries (several are sent at once), never a mutation.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use chrono::{NaiveDate, Utc};
use entity::{
    delivery,
    enums::{DeliveryChannel, DeliveryTopic},
    webhook_endpoint,
};
use futures_util::StreamExt;
use tokio::sync::{Notify, broadcast, watch};

use crate::{
    db::{
        Db,
        notify::{
            deliveries::{self, NewDelivery, Take},
            fanout,
        },
    },
    domain::{
        time::norway_offset_hours,
        webhooks::{Retry, after_failure},
    },
    events::EventBus,
    notify::{
        Notifier,
        compose::{self, Composed},
        mail::OutgoingMail,
        schedule,
        templates::{Digest, DigestItem, Mail},
        webhook::{self, Deliverer, Sent, jitter},
    },
};

/// Deliveries one worker takes at a time.
const CLAIM: u64 = 64;
/// Deliveries of one channel sent at once.
const CONCURRENCY: usize = 16;
/// The fan-out passes at most once in this long, so that under a run of mutations one pass (one
/// write transaction) takes the events of many: at 200 writes/s a pass per event held SQLite's
/// writer 200 more times a second and raised the mutations' p99 from about 20 ms to over 600 ms
/// (bench N1). A change after a quiet while is fanned out at once.
const GATHER: Duration = Duration::from_millis(50);

/// Counters per channel (e-mail, webhook) for `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    /// Deliveries written by the fan-out.
    pub queued: [AtomicU64; 2],
    pub sent: [AtomicU64; 2],
    /// Deliveries given up (every attempt failed, or the failure is permanent).
    pub failed: [AtomicU64; 2],
    /// Failed attempts that will be tried again.
    pub retried: [AtomicU64; 2],
    /// Deliveries not sent because at sending time their recipient may no longer see what they
    /// tell of, or no longer wants them.
    pub skipped: [AtomicU64; 2],
}

fn slot(channel: DeliveryChannel) -> usize {
    match channel {
        DeliveryChannel::Email => 0,
        DeliveryChannel::Webhook => 1,
    }
}

impl Counters {
    fn add(counter: &[AtomicU64; 2], channel: DeliveryChannel, n: u64) {
        counter[slot(channel)].fetch_add(n, Relaxed);
    }

    /// The counters in the Prometheus text format.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        for (name, help, counter) in [
            ("queued", "Notifications queued for delivery.", &self.queued),
            ("sent", "Notifications delivered.", &self.sent),
            ("failed", "Notifications given up after their last attempt failed.", &self.failed),
            ("retried", "Failed delivery attempts that will be tried again.", &self.retried),
            (
                "skipped",
                "Notifications not sent: the recipient may no longer see them or turned them off.",
                &self.skipped,
            ),
        ] {
            out.push_str(&format!(
                "# HELP hub_notifications_{name}_total {help}\n# TYPE hub_notifications_{name}_total counter\n"
            ));
            for channel in [DeliveryChannel::Email, DeliveryChannel::Webhook] {
                let label = if channel == DeliveryChannel::Email { "email" } else { "webhook" };
                out.push_str(&format!(
                    "hub_notifications_{name}_total{{channel=\"{label}\"}} {}\n",
                    counter[slot(channel)].load(Relaxed)
                ));
            }
        }
        out
    }
}

/// How often the workers look for work they were not woken for, and how long a delivery is
/// held while it is sent.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub poll: Duration,
    pub lease: Duration,
}

/// The workers of one instance.
#[derive(Clone)]
pub struct Workers {
    db: Db,
    notifier: Notifier,
    deliverer: Deliverer,
    counters: Arc<crate::http::Metrics>,
    timing: Timing,
}

impl Workers {
    pub fn new(
        db: &Db,
        notifier: Notifier,
        deliverer: Deliverer,
        counters: Arc<crate::http::Metrics>,
        timing: Timing,
    ) -> Self {
        Self { db: db.for_background_work(), notifier, deliverer, counters, timing }
    }

    fn counters(&self) -> &Counters {
        &self.counters.notifications
    }

    /// Starts the fan-out, the scan for scheduled notices and both senders; they stop when the hub
    /// starts shutting down.
    pub fn spawn(self, bus: &EventBus, shutting_down: watch::Receiver<bool>) {
        let wake_email = Arc::new(Notify::new());
        let wake_webhooks = Arc::new(Notify::new());
        let (needs, commissions) = (bus.needs.subscribe(), bus.commissions.subscribe());
        let fan = self.clone();
        let (email, webhooks) = (wake_email.clone(), wake_webhooks.clone());
        let down = shutting_down.clone();
        tokio::spawn(async move { fan.fan_out(needs, commissions, email, webhooks, down).await });
        let scan = self.clone();
        let (email, webhooks) = (wake_email.clone(), wake_webhooks.clone());
        let down = shutting_down.clone();
        tokio::spawn(async move { scan.schedule(email, webhooks, down).await });
        for (channel, wake) in
            [(DeliveryChannel::Email, wake_email), (DeliveryChannel::Webhook, wake_webhooks)]
        {
            let worker = self.clone();
            let down = shutting_down.clone();
            tokio::spawn(async move { worker.send_loop(channel, wake, down).await });
        }
    }

    async fn fan_out<A: Clone, B: Clone>(
        self,
        mut needs: broadcast::Receiver<A>,
        mut commissions: broadcast::Receiver<B>,
        email: Arc<Notify>,
        webhooks: Arc<Notify>,
        mut shutting_down: watch::Receiver<bool>,
    ) {
        let mut ticks = tokio::time::interval(self.timing.poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.fan_out_pass(&email, &webhooks).await;
            let passed = tokio::time::Instant::now();
            tokio::select! {
                _ = ticks.tick() => {}
                _ = changed(&mut needs) => {}
                _ = changed(&mut commissions) => {}
                _ = shutting_down.wait_for(|down| *down) => return,
            }
            tokio::time::sleep_until(passed + GATHER).await;
            skip_announced(&mut needs);
            skip_announced(&mut commissions);
        }
    }

    async fn schedule(
        self,
        email: Arc<Notify>,
        webhooks: Arc<Notify>,
        mut shutting_down: watch::Receiver<bool>,
    ) {
        let mut ticks = tokio::time::interval(self.timing.poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = shutting_down.wait_for(|down| *down) => return,
            }
            self.schedule_pass(&email, &webhooks).await;
        }
    }

    /// Writes the scheduled notices that have fallen due (`notify::schedule`).
    pub async fn schedule_pass(&self, email: &Notify, webhooks: &Notify) {
        match schedule::pass(&self.db, self.notifier.mailer.is_some(), Utc::now()).await {
            Ok(done) => self.queued(done.emails, done.webhooks, email, webhooks),
            Err(err) => tracing::warn!(error = %err, "cannot write the scheduled notices now"),
        }
    }

    /// Counts deliveries just queued and wakes the senders that have some.
    fn queued(&self, emails: u64, hooks: u64, email: &Notify, webhooks: &Notify) {
        Counters::add(&self.counters().queued, DeliveryChannel::Email, emails);
        Counters::add(&self.counters().queued, DeliveryChannel::Webhook, hooks);
        if emails > 0 {
            email.notify_one();
        }
        if hooks > 0 {
            webhooks.notify_one();
        }
    }

    /// Fans out every waiting event, batch by batch.
    pub async fn fan_out_pass(&self, email: &Notify, webhooks: &Notify) {
        loop {
            match fanout::pass(&self.db, self.notifier.mailer.is_some(), Utc::now()).await {
                Ok(fanned) => {
                    self.queued(fanned.emails, fanned.webhooks, email, webhooks);
                    if fanned.events == 0 {
                        return;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot fan out notifications now");
                    return;
                }
            }
        }
    }

    async fn send_loop(
        self,
        channel: DeliveryChannel,
        wake: Arc<Notify>,
        mut shutting_down: watch::Receiver<bool>,
    ) {
        let mut ticks = tokio::time::interval(self.timing.poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.send_due(channel).await;
            tokio::select! {
                _ = ticks.tick() => {}
                _ = wake.notified() => {}
                _ = shutting_down.wait_for(|down| *down) => return,
            }
        }
    }

    /// Sends every delivery of `channel` that is due, batch by batch.
    pub async fn send_due(&self, channel: DeliveryChannel) {
        // E-mail: the single mails first, then the digests.
        let mut digests = false;
        loop {
            let lease = chrono::Duration::from_std(self.timing.lease).unwrap_or(chrono::Duration::minutes(2));
            let take = match channel {
                DeliveryChannel::Email if digests => Take::Digests,
                channel => Take::Single(channel),
            };
            let batch = match deliveries::claim_due(&self.db, take, Utc::now(), lease, CLAIM).await {
                Ok(batch) if batch.is_empty() && take == Take::Single(DeliveryChannel::Email) => {
                    digests = true;
                    continue;
                }
                Ok(batch) if batch.is_empty() => return,
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(error = %err, ?channel, "cannot take deliveries now");
                    return;
                }
            };
            match take {
                Take::Single(DeliveryChannel::Webhook) => {
                    let sends = batch.into_iter().map(|d| self.send_webhook(d));
                    futures_util::stream::iter(sends)
                        .buffer_unordered(CONCURRENCY)
                        .collect::<Vec<()>>()
                        .await;
                }
                Take::Single(DeliveryChannel::Email) => {
                    let sends = batch.into_iter().map(|d| self.send_email(d));
                    futures_util::stream::iter(sends)
                        .buffer_unordered(CONCURRENCY)
                        .collect::<Vec<()>>()
                        .await;
                }
                Take::Digests => {
                    // One mail per person and Norwegian day (a digest is due at 07:00 of it).
                    let mut days: BTreeMap<(i32, NaiveDate), Vec<delivery::Model>> = BTreeMap::new();
                    for d in batch {
                        let day =
                            (d.due_at + chrono::Duration::hours(norway_offset_hours(d.due_at))).date_naive();
                        days.entry((d.person_id.unwrap_or_default(), day)).or_default().push(d);
                    }
                    let sends =
                        days.into_iter().map(|((person, day), items)| self.send_digest(person, day, items));
                    futures_util::stream::iter(sends)
                        .buffer_unordered(CONCURRENCY)
                        .collect::<Vec<()>>()
                        .await;
                }
            }
        }
    }

    async fn send_email(&self, d: delivery::Model) {
        let Some(mailer) = &self.notifier.mailer else {
            return self
                .settle(&d, Outcome::Failed { error: "e-mail is off".into(), permanent: false })
                .await;
        };
        let composed = match self.compose(&d).await {
            Ok(Ok(composed)) => composed,
            Ok(Err(skip)) => return self.settle(&d, Outcome::Skipped(skip)).await,
            Err(error) => return self.settle(&d, Outcome::Failed { error, permanent: false }).await,
        };
        let (to, to_name) = composed.0;
        let mail = OutgoingMail {
            id: d.message_id.clone(),
            to,
            to_name: Some(to_name),
            content: composed.1.rendered,
            unsubscribe: composed.1.unsubscribe,
        };
        let outcome = match mailer.send(&mail).await {
            Ok(()) => Outcome::Sent,
            Err(err) => Outcome::Failed { error: err.message, permanent: err.permanent },
        };
        self.settle(&d, outcome).await
    }

    /// The recipient's address and name, and the mail; or why it is not sent.
    async fn compose(
        &self,
        d: &delivery::Model,
    ) -> Result<Result<((String, String), Composed), compose::Skip>, String> {
        let person = d.person_id.unwrap_or_default();
        let Some(to) = compose::recipient(&self.db, person).await.map_err(|e| e.to_string())? else {
            return Ok(Err("the recipient is gone"));
        };
        let composed = compose::email(&self.db, &self.notifier, &to, d).await.map_err(|e| e.to_string())?;
        Ok(composed.map(|c| ((to.person.email.clone(), to.person.name.clone()), c)))
    }

    /// One mail with a day's digest deliveries of one person: each item is what its own mail's
    /// subject would say, checked as its own mail would be; its `Message-ID` is the person's and
    /// the day's, the same if it is sent again.
    async fn send_digest(&self, person: i32, day: NaiveDate, items: Vec<delivery::Model>) {
        let Some(mailer) = &self.notifier.mailer else {
            for d in &items {
                self.settle(d, Outcome::Failed { error: "e-mail is off".into(), permanent: false }).await;
            }
            return;
        };
        let mut kept = Vec::new();
        let mut lines = Vec::new();
        let mut recipient = None;
        for d in items {
            match self.compose(&d).await {
                Ok(Ok((to, composed))) => {
                    lines.push(DigestItem { subject: composed.rendered.subject, link: composed.link });
                    recipient = Some(to);
                    kept.push(d);
                }
                Ok(Err(skip)) => self.settle(&d, Outcome::Skipped(skip)).await,
                Err(error) => self.settle(&d, Outcome::Failed { error, permanent: false }).await,
            }
        }
        let Some((to, to_name)) = recipient else { return };
        let Ok(Some(language)) = crate::db::notify::preferences::language_of(self.db.conn(), person).await
        else {
            return self
                .settle_all(
                    &kept,
                    Outcome::Failed { error: "cannot read the language".into(), permanent: false },
                )
                .await;
        };
        let unsubscribe = self.notifier.unsubscribe_link(person, None);
        let mail = Mail {
            recipient: to_name.clone(),
            link: self.notifier.links.base().to_owned(),
            unsubscribe: unsubscribe.clone(),
            content: Digest { day, items: lines },
        };
        let rendered = match mail.render(language) {
            Ok(rendered) => rendered,
            Err(err) => {
                return self
                    .settle_all(&kept, Outcome::Failed { error: err.to_string(), permanent: true })
                    .await;
            }
        };
        let outgoing = OutgoingMail {
            id: format!("digest:{person}:{day}"),
            to,
            to_name: Some(to_name),
            content: rendered,
            unsubscribe,
        };
        let outcome = match mailer.send(&outgoing).await {
            Ok(()) => Outcome::Sent,
            Err(err) => Outcome::Failed { error: err.message, permanent: err.permanent },
        };
        self.settle_all(&kept, outcome).await
    }

    async fn send_webhook(&self, d: delivery::Model) {
        let endpoint_id = d.endpoint_id.unwrap_or_default();
        let endpoint = match crate::db::notify::webhooks::find(self.db.conn(), endpoint_id).await {
            Ok(Some(endpoint)) if endpoint.disabled_at.is_none() => endpoint,
            Ok(_) => return self.settle(&d, Outcome::Skipped("the endpoint is disabled or gone")).await,
            Err(err) => {
                return self.settle(&d, Outcome::Failed { error: err.to_string(), permanent: false }).await;
            }
        };
        let body = match compose::webhook(&self.db, &endpoint, &d).await {
            Ok(Ok(body)) => body,
            Ok(Err(skip)) => return self.settle(&d, Outcome::Skipped(skip)).await,
            Err(err) => {
                return self.settle(&d, Outcome::Failed { error: err.to_string(), permanent: false }).await;
            }
        };
        let outcome = match webhook::send(&self.db, &self.deliverer, endpoint_id, &d.message_id, &body).await
        {
            Ok(Sent::Skipped) => Outcome::Skipped("the endpoint is disabled or gone"),
            Ok(Sent::Attempted { retry: None, .. }) => Outcome::Sent,
            Ok(Sent::Attempted { attempt, retry: Some(Retry::After(pause)) }) => {
                Outcome::Retry { error: attempt.error.unwrap_or_default(), after: pause }
            }
            Ok(Sent::Attempted { attempt, retry: Some(Retry::GiveUp) }) => {
                self.tell_owner_of_disabled(&endpoint).await;
                Outcome::Failed { error: attempt.error.unwrap_or_default(), permanent: true }
            }
            Err(err) => Outcome::Failed { error: err.to_string(), permanent: false },
        };
        self.settle(&d, outcome).await
    }

    /// Queues a mail to whoever registered `endpoint`, which the hub has just disabled.
    async fn tell_owner_of_disabled(&self, endpoint: &webhook_endpoint::Model) {
        let Some(owner) = endpoint.created_by_person_id else { return };
        if self.notifier.mailer.is_none() {
            return;
        }
        let now = Utc::now();
        let queued = NewDelivery {
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
        };
        let written = async {
            let txn = self.db.begin_write().await?;
            deliveries::enqueue(&txn, &[queued]).await?;
            txn.commit().await
        };
        match written.await {
            Ok(()) => Counters::add(&self.counters().queued, DeliveryChannel::Email, 1),
            Err(err) => {
                tracing::warn!(error = %err, endpoint = endpoint.id, "cannot queue the mail to a disabled endpoint's owner")
            }
        }
    }

    async fn settle_all(&self, items: &[delivery::Model], outcome: Outcome) {
        for d in items {
            self.settle(d, outcome.clone()).await;
        }
    }

    /// Records what became of a delivery, and counts it.
    async fn settle(&self, d: &delivery::Model, outcome: Outcome) {
        let counters = self.counters();
        let written = match &outcome {
            Outcome::Sent => {
                Counters::add(&counters.sent, d.channel, 1);
                deliveries::sent(&self.db, d.id, Utc::now()).await
            }
            Outcome::Skipped(why) => {
                Counters::add(&counters.skipped, d.channel, 1);
                deliveries::skipped(&self.db, d.id, why).await
            }
            Outcome::Retry { error, after } => {
                Counters::add(&counters.retried, d.channel, 1);
                let at =
                    Utc::now() + chrono::Duration::from_std(*after).unwrap_or(chrono::Duration::hours(1));
                deliveries::failed(&self.db, d.id, error, Some(at)).await
            }
            Outcome::Failed { error, permanent } => {
                // An e-mail that failed for a passing reason follows the webhooks' schedule.
                let retry = match (*permanent, d.channel) {
                    (false, DeliveryChannel::Email) => {
                        after_failure(u32::try_from(d.attempts + 1).unwrap_or(u32::MAX), jitter())
                    }
                    _ => Retry::GiveUp,
                };
                match retry {
                    Retry::After(pause) => {
                        Counters::add(&counters.retried, d.channel, 1);
                        let at = Utc::now()
                            + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::hours(1));
                        deliveries::failed(&self.db, d.id, error, Some(at)).await
                    }
                    Retry::GiveUp => {
                        Counters::add(&counters.failed, d.channel, 1);
                        deliveries::failed(&self.db, d.id, error, None).await
                    }
                }
            }
        };
        if let Err(err) = written {
            // The lease runs out and the delivery is taken again: at most one more send.
            tracing::warn!(error = %err, delivery = d.id, "cannot record a delivery's outcome");
        }
    }
}

#[derive(Clone, Debug)]
enum Outcome {
    Sent,
    Skipped(compose::Skip),
    Retry { error: String, after: Duration },
    Failed { error: String, permanent: bool },
}

/// Takes every change already announced: the pass that follows fans them all out.
fn skip_announced<T: Clone>(receiver: &mut broadcast::Receiver<T>) {
    while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = receiver.try_recv() {}
}

/// Returns when a change arrives (or some were missed); never, once the channel is closed.
async fn changed<T: Clone>(receiver: &mut broadcast::Receiver<T>) {
    loop {
        match receiver.recv().await {
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}
