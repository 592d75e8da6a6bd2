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
use entity::{delivery, enums::DeliveryChannel};
use futures_util::StreamExt;
use tokio::sync::{Notify, broadcast, watch};

use crate::{
    db::{
        Db,
        notify::{
            deliveries::{self, Attempted, Disabling, Settled, Settlement, Take},
            fanout,
            webhooks::NewAttempt,
        },
    },
    domain::{
        time::norway_offset_hours,
        webhooks::{Retry, after_failure},
    },
    events::EventBus,
    notify::{
        Notifier,
        compose::{self, Composed, Reads, Recipient},
        mail::{Mailer, OutgoingMail, SMTP_TIMEOUT},
        schedule,
        templates::{Digest, DigestItem, Mail},
        webhook::{self, Deliverer, Endpoint, jitter},
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

    /// SQL statements these workers have executed.
    pub fn statements_executed(&self) -> u64 {
        self.db.statements_executed()
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

    /// Sends every delivery of `channel` that is due, batch by batch: a batch is read at once
    /// (`compose::Reads`), composed, sent (several at once), and what became of it is recorded
    /// in one write transaction.
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
            let done = match take {
                Take::Single(DeliveryChannel::Webhook) => self.send_webhooks(batch).await,
                Take::Single(DeliveryChannel::Email) => self.send_emails(batch).await,
                Take::Digests => self.send_digests(batch).await,
            };
            self.record(channel, done).await;
        }
    }

    /// What `batch` reads; `None` when it cannot be read now, and every delivery is then failed
    /// for now (tried again later).
    async fn reads(&self, batch: &[delivery::Model], done: &mut Done) -> Option<Reads<'_>> {
        match Reads::of_batch(&self.db, batch).await {
            Ok(reads) => Some(reads),
            Err(err) => {
                done.all(batch, Outcome::Failed { error: err.to_string(), permanent: false });
                None
            }
        }
    }

    /// The mailer and what `batch` reads; `None` when e-mail is off or the batch cannot be read.
    async fn mail_reads(&self, batch: &[delivery::Model], done: &mut Done) -> Option<(&Mailer, Reads<'_>)> {
        let Some(mailer) = &self.notifier.mailer else {
            done.all(batch, Outcome::Failed { error: "e-mail is off".into(), permanent: false });
            return None;
        };
        Some((mailer, self.reads(batch, done).await?))
    }

    async fn send_emails(&self, batch: Vec<delivery::Model>) -> Done {
        let mut done = Done::default();
        let Some((mailer, mut reads)) = self.mail_reads(&batch, &mut done).await else { return done };
        let mut mails = Vec::new();
        for d in batch {
            match self.compose(&mut reads, &d).await {
                Ok(Ok((to, composed))) => {
                    let mail = OutgoingMail {
                        id: d.message_id.clone(),
                        to: to.person.email.clone(),
                        to_name: Some(to.person.name.clone()),
                        content: composed.rendered,
                        unsubscribe: composed.unsubscribe,
                    };
                    mails.push((d, mail));
                }
                Ok(Err(skip)) => done.push(&d, Outcome::Skipped(skip)),
                Err(error) => done.push(&d, Outcome::Failed { error, permanent: false }),
            }
        }
        let sends = mails.into_iter().map(|(d, mail)| async move {
            if !still_held(&d, SMTP_TIMEOUT, self.timing.lease) {
                return None;
            }
            let outcome = mailed(mailer, &mail).await;
            Some((d, outcome))
        });
        for (d, outcome) in concurrently(sends).await {
            done.push(&d, outcome);
        }
        done
    }

    /// The recipient and the mail; or why it is not sent.
    async fn compose(
        &self,
        reads: &mut Reads<'_>,
        d: &delivery::Model,
    ) -> Result<Result<(Arc<Recipient>, Composed), compose::Skip>, String> {
        let Some(to) = reads.recipient(d.person_id.unwrap_or_default()) else {
            return Ok(Err("the recipient is gone"));
        };
        let composed = compose::email(reads, &self.notifier, &to, d).await.map_err(|e| e.to_string())?;
        Ok(composed.map(|c| (to, c)))
    }

    /// One mail per person and Norwegian day (a digest is due at 07:00 of it) with the day's
    /// digest deliveries: each item is what its own mail's subject would say, checked as its own
    /// mail would be; its `Message-ID` is the person's and the day's, the same if it is sent
    /// again.
    async fn send_digests(&self, batch: Vec<delivery::Model>) -> Done {
        let mut done = Done::default();
        let Some((mailer, mut reads)) = self.mail_reads(&batch, &mut done).await else { return done };
        let mut days: BTreeMap<(i32, NaiveDate), Vec<delivery::Model>> = BTreeMap::new();
        for d in batch {
            let day = (d.due_at + chrono::Duration::hours(norway_offset_hours(d.due_at))).date_naive();
            days.entry((d.person_id.unwrap_or_default(), day)).or_default().push(d);
        }
        let mut mails = Vec::new();
        for ((person, day), items) in days {
            let mut kept = Vec::new();
            let mut lines = Vec::new();
            let mut recipient = None;
            for d in items {
                match self.compose(&mut reads, &d).await {
                    Ok(Ok((to, composed))) => {
                        lines.push(DigestItem { subject: composed.rendered.subject, link: composed.link });
                        recipient = Some(to);
                        kept.push(d);
                    }
                    Ok(Err(skip)) => done.push(&d, Outcome::Skipped(skip)),
                    Err(error) => done.push(&d, Outcome::Failed { error, permanent: false }),
                }
            }
            let Some(to) = recipient else { continue };
            let unsubscribe = self.notifier.unsubscribe_link(person, None);
            let mail = Mail {
                recipient: to.person.name.clone(),
                link: self.notifier.links.base().to_owned(),
                unsubscribe: unsubscribe.clone(),
                content: Digest { day, items: lines },
            };
            match mail.render(to.person.language) {
                Ok(rendered) => mails.push((
                    kept,
                    OutgoingMail {
                        id: format!("digest:{person}:{day}"),
                        to: to.person.email.clone(),
                        to_name: Some(to.person.name.clone()),
                        content: rendered,
                        unsubscribe,
                    },
                )),
                Err(err) => done.all(&kept, Outcome::Failed { error: err.to_string(), permanent: true }),
            }
        }
        let sends = mails.into_iter().map(|(kept, mail)| async move {
            if !kept.iter().all(|d| still_held(d, SMTP_TIMEOUT, self.timing.lease)) {
                return None;
            }
            let outcome = mailed(mailer, &mail).await;
            Some((kept, outcome))
        });
        for (kept, outcome) in concurrently(sends).await {
            done.all(&kept, outcome);
        }
        done
    }

    async fn send_webhooks(&self, batch: Vec<delivery::Model>) -> Done {
        let mut done = Done::default();
        let Some(mut reads) = self.reads(&batch, &mut done).await else { return done };
        let mut hooks = Vec::new();
        for d in batch {
            let Some(found) = reads.endpoint(d.endpoint_id.unwrap_or_default()) else {
                done.push(&d, Outcome::Skipped("the endpoint is disabled or gone"));
                continue;
            };
            match compose::webhook(&mut reads, &found.0, &d).await {
                Ok(Ok(body)) => {
                    let endpoint = Endpoint { url: found.0.url.clone(), secrets: found.1.clone() };
                    hooks.push((d, endpoint, body));
                }
                Ok(Err(skip)) => done.push(&d, Outcome::Skipped(skip)),
                Err(err) => done.push(&d, Outcome::Failed { error: err.to_string(), permanent: false }),
            }
        }
        drop(reads);
        let sends = hooks.into_iter().map(|(d, endpoint, body)| async move {
            if !still_held(&d, webhook::TIMEOUT, self.timing.lease) {
                return None;
            }
            let at = Utc::now();
            let attempt = self.deliverer.deliver(&endpoint, &d.message_id, &body).await;
            Some((d, at, attempt))
        });
        let mail_owner = self.notifier.mailer.is_some();
        for (d, at, attempt) in concurrently(sends).await {
            let endpoint_id = d.endpoint_id.unwrap_or_default();
            let outcome = match &attempt.error {
                None => Outcome::Sent,
                // The delivery's earlier attempts all failed: a success ends it.
                Some(error) => match after_failure(attempts_with(&d), jitter()) {
                    Retry::After(after) => Outcome::Retry { error: error.clone(), after },
                    Retry::GiveUp => {
                        done.disabling.push(Disabling {
                            endpoint_id,
                            reason: format!(
                                "disabled by the hub after {} failed attempts to deliver {}",
                                attempts_with(&d),
                                d.message_id
                            ),
                            mail_owner,
                        });
                        Outcome::Failed { error: error.clone(), permanent: true }
                    }
                },
            };
            let attempted = Attempted {
                endpoint_id,
                message_id: d.message_id.clone(),
                at,
                outcome: NewAttempt {
                    status_code: attempt.status_code,
                    duration_ms: i64::try_from(attempt.duration.as_millis()).unwrap_or(i64::MAX),
                    error: attempt.error,
                },
            };
            done.settled.push(Settlement { attempt: Some(attempted), ..settlement(&d, outcome) });
        }
        done
    }

    /// Records what became of a batch (one write transaction), and counts it. If it cannot be
    /// recorded the leases run out and the deliveries are taken again: at most one more send
    /// each, with the same message id.
    async fn record(&self, channel: DeliveryChannel, done: Done) {
        match deliveries::settle(&self.db, &done.settled, &done.disabling, Utc::now()).await {
            Ok(mails) => {
                let counters = self.counters();
                Counters::add(&counters.queued, DeliveryChannel::Email, mails);
                for s in &done.settled {
                    let counter = match s.settled {
                        Settled::Sent => &counters.sent,
                        Settled::Skipped(_) => &counters.skipped,
                        Settled::Again { .. } => &counters.retried,
                        Settled::Dead { .. } => &counters.failed,
                    };
                    Counters::add(counter, channel, 1);
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, deliveries = done.settled.len(), "cannot record the deliveries' outcome");
            }
        }
    }
}

/// What became of a batch, to record at once.
#[derive(Default)]
struct Done {
    settled: Vec<Settlement>,
    disabling: Vec<Disabling>,
}

impl Done {
    fn push(&mut self, d: &delivery::Model, outcome: Outcome) {
        self.settled.push(settlement(d, outcome));
    }

    fn all(&mut self, items: &[delivery::Model], outcome: Outcome) {
        for d in items {
            self.push(d, outcome.clone());
        }
    }
}

/// A delivery's outcome as recorded: a failure for a passing reason is tried again on the
/// webhooks' schedule (for a webhook, only a receiver's failures count toward disabling its
/// endpoint).
fn settlement(d: &delivery::Model, outcome: Outcome) -> Settlement {
    let at = |pause: Duration| {
        Utc::now() + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::hours(1))
    };
    let settled = match outcome {
        Outcome::Sent => Settled::Sent,
        Outcome::Skipped(why) => Settled::Skipped(why.to_owned()),
        Outcome::Retry { error, after } => Settled::Again { error, at: at(after) },
        Outcome::Failed { error, permanent: true } => Settled::Dead { error },
        Outcome::Failed { error, permanent: false } => match after_failure(attempts_with(d), jitter()) {
            Retry::After(pause) => Settled::Again { error, at: at(pause) },
            Retry::GiveUp => Settled::Dead { error },
        },
    };
    Settlement { id: d.id, settled, attempt: None }
}

/// The delivery's attempts, this one included.
fn attempts_with(d: &delivery::Model) -> u32 {
    u32::try_from(d.attempts).unwrap_or(0).saturating_add(1)
}

/// What sending `mail` came to.
async fn mailed(mailer: &Mailer, mail: &OutgoingMail) -> Outcome {
    match mailer.send(mail).await {
        Ok(()) => Outcome::Sent,
        Err(err) => Outcome::Failed { error: err.message, permanent: err.permanent },
    }
}

/// Whether this worker still holds `d` for as long as a send may take (or half its `lease`, if
/// that is shorter): a batch whose sends ran slow leaves the rest to be taken again when their
/// lease runs out, rather than sending what another instance may be taking.
fn still_held(d: &delivery::Model, send_takes: Duration, lease: Duration) -> bool {
    let margin =
        chrono::Duration::from_std(send_takes.min(lease / 2)).unwrap_or(chrono::Duration::minutes(1));
    d.claimed_until.is_some_and(|until| Utc::now() + margin < until)
}

/// Runs `sends` [`CONCURRENCY`] at a time; what each did, as they end.
async fn concurrently<T>(sends: impl Iterator<Item = impl Future<Output = Option<T>>>) -> Vec<T> {
    futures_util::stream::iter(sends)
        .buffer_unordered(CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await
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
