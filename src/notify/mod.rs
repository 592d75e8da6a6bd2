//! Notifications: telling people and systems that are not connected of what happened, by e-mail
//! and signed webhooks. Above `db/`, beside `events.rs`: the relay tells connected clients, this
//! tells everyone else.
//!
//! - `mail`: the SMTP [`Mailer`](mail::Mailer) and the mail it sends.
//! - `templates`: every kind of mail in nb, nn and en, text and HTML; the unsubscribe page.
//! - `words`: statuses and dates in words, per language.
//! - `links`: the public URL, the link to an object, the unsubscribe link.
//! - `unsubscribe`: the signed unsubscribe token.
//! - `webhook`: Standard Webhooks signing, delivery and the SSRF guard.
//! - `fanout`, `schedule`, `compose`, `worker`: history events and scheduled notices (a round
//!   opened, closing soon, closed; a deadline near) to deliveries, what each says when it is
//!   sent, and the workers that send them.
//!
//! What the hub holds for it is a [`Notifier`], built at start-up.

pub mod compose;
pub mod links;
pub mod mail;
pub mod schedule;
pub mod templates;
pub mod unsubscribe;
pub mod webhook;
pub mod words;
pub mod worker;

use std::net::SocketAddr;

use chrono::Utc;
use entity::enums::NotificationKind;

use crate::{
    config::MailSettings,
    db::{Db, notify::keys},
    notify::{
        links::Links,
        mail::Mailer,
        unsubscribe::{SigningKey, Unsubscribe},
    },
};

/// What sending notifications needs: the links' base, the signing key and, when e-mail is on,
/// the mailer.
#[derive(Clone, Debug)]
pub struct Notifier {
    pub links: Links,
    pub key: SigningKey,
    /// `None` when e-mail is off (no `--smtp-host`).
    pub mailer: Option<Mailer>,
}

impl Notifier {
    /// Reads (or, on first start, makes) the signing key and builds the mailer. `bound` is the
    /// address the hub listens on, the public URL's default. Says once whether e-mail is on.
    pub async fn start(db: &Db, settings: &MailSettings, bound: SocketAddr) -> Result<Self, String> {
        let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{bound}"));
        let links = Links::new(&public_url).map_err(|e| format!("--public-url: {e}"))?;
        let key = SigningKey::new(
            keys::signing_key(db)
                .await
                .map_err(|e| format!("cannot read or make the hub's signing key: {e}"))?,
        );
        let mailer = Mailer::from_settings(settings, links.host())?;
        match (&mailer, &settings.smtp_host) {
            (Some(_), Some(host)) => tracing::info!(
                smtp_host = %host,
                smtp_security = ?settings.smtp_security,
                public_url = %links.base(),
                "e-mail is on"
            ),
            _ => tracing::info!("e-mail is off: no SMTP host is set (--smtp-host, HUB_SMTP_HOST)"),
        }
        Ok(Self { links, key, mailer })
    }

    /// The unsubscribe link for `person_id` from `kind` (every kind when `None`), issued today.
    pub fn unsubscribe_link(&self, person_id: i32, kind: Option<NotificationKind>) -> String {
        let what = Unsubscribe { person_id, kind, issued: Utc::now().date_naive() };
        self.links.unsubscribe(&what, &self.key)
    }
}
