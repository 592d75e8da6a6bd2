//! E-mail over SMTP: a [`Mailer`] built from the settings (lettre's async tokio transport, over
//! rustls with the bundled Mozilla roots) that sends an [`OutgoingMail`] with a plain-text and an
//! HTML part, the `Message-ID` its caller gives (so a mail sent again after a crash is known as
//! the same mail), and the one-click unsubscribe headers of RFC 8058.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        header::{HeaderName, HeaderValue},
    },
    transport::smtp::authentication::Credentials,
};

use crate::{
    config::{MailSettings, SmtpSecurity},
    notify::{links::percent_encoded, templates::Rendered},
};

/// How long one SMTP command may take before the send fails (and is retried later).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// A mail to send.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    /// The same for every attempt at the same mail, e.g. `email:12:need:34`: the `Message-ID` is
    /// `<{id}@{host of the public URL}>` (characters a `Message-ID` cannot hold are
    /// percent-encoded).
    pub id: String,
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, shown beside the address.
    pub to_name: Option<String>,
    pub content: Rendered,
    /// The unsubscribe link: `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058).
    pub unsubscribe: String,
}

/// Why a mail was not sent. Never an API answer: whoever sends records it and, unless
/// `permanent`, tries again later.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The server refused the mail for good (a 5xx reply), or it cannot be built (an address
    /// that is not one): trying again will not help.
    pub permanent: bool,
    pub message: String,
}

impl SendError {
    fn permanent(message: impl Into<String>) -> Self {
        Self { permanent: true, message: message.into() }
    }
}

/// Sends mail through the configured SMTP server, over a small pool of connections.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The right-hand side of the `Message-ID`s.
    id_host: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("id_host", &self.id_host)
            .finish()
    }
}

impl Mailer {
    /// The mailer the settings describe, or `None` when no SMTP host is set (e-mail is off).
    /// `id_host` is the host of the public URL. An unusable setting (a sender that is not an
    /// address) is an error at start-up rather than at the first mail.
    pub fn from_settings(settings: &MailSettings, id_host: &str) -> Result<Option<Self>, String> {
        let Some(host) = settings.smtp_host.as_deref().map(str::trim).filter(|h| !h.is_empty()) else {
            return Ok(None);
        };
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| format!("--mail-from `{}` is not an e-mail address: {e}", settings.mail_from))?;
        let tls =
            |e: lettre::transport::smtp::Error| format!("cannot set up TLS to the SMTP server {host}: {e}");
        let builder = match settings.smtp_security {
            SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(25),
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(tls)?
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(tls)?,
        };
        let mut builder = builder.timeout(Some(SMTP_TIMEOUT));
        if let Some(port) = settings.smtp_port {
            builder = builder.port(port);
        }
        if let Some(user) = &settings.smtp_username {
            let password = settings.smtp_password.get().unwrap_or_default();
            builder = builder.credentials(Credentials::new(user.clone(), password.to_owned()));
        }
        Ok(Some(Self { transport: builder.build(), from, id_host: id_host.to_owned() }))
    }

    /// The `Message-ID` of the mail with `id`.
    pub fn message_id(&self, id: &str) -> String {
        format!("<{}@{}>", id_left(id), self.id_host)
    }

    /// Sends `mail`; answers once the SMTP server accepted it.
    #[tracing::instrument(level = "debug", skip_all, fields(id = %mail.id))]
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), SendError> {
        let message = self.message(mail)?;
        self.transport.send(message).await.map(drop).map_err(|err| SendError {
            permanent: err.is_permanent(),
            message: format!("the SMTP server did not take the mail: {err}"),
        })
    }

    fn message(&self, mail: &OutgoingMail) -> Result<Message, SendError> {
        let address = mail
            .to
            .parse()
            .map_err(|e| SendError::permanent(format!("`{}` is not an e-mail address: {e}", mail.to)))?;
        let to = Mailbox::new(mail.to_name.clone(), address);
        // One line each, whatever the template made of it: no header can be injected.
        let subject = mail.content.subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let unsubscribe = mail.unsubscribe.split_whitespace().collect::<String>();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(self.message_id(&mail.id)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{unsubscribe}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .multipart(MultiPart::alternative_plain_html(
                mail.content.text.clone(),
                mail.content.html.clone(),
            ))
            .map_err(|e| SendError::permanent(format!("cannot build the mail: {e}")))
    }
}

/// `id` as the left-hand side of a `Message-ID` (RFC 5322 `dot-atom-text`): characters outside
/// `atext` (and `%` and `.`) percent-encoded, so different ids stay different.
fn id_left(id: &str) -> String {
    const ATEXT: &[u8] = b"!#$&'*+-/=?^_`{|}~";
    percent_encoded(id, |byte| byte.is_ascii_alphanumeric() || ATEXT.contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_well_formed_and_keep_ids_apart() {
        assert_eq!(id_left("email:12:need:34"), "email%3A12%3Aneed%3A34");
        assert_eq!(id_left("digest.1.2026-11-30"), "digest%2E1%2E2026-11-30");
        assert_ne!(id_left("a:b"), id_left("a%3Ab"));
        assert_ne!(id_left("a b"), id_left("a_b"));
    }

    #[test]
    fn the_smtp_password_is_never_shown() {
        let settings = MailSettings {
            smtp_password: crate::config::SmtpPassword::new(Some("hemmelig-passord".into())),
            ..MailSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hemmelig") && shown.contains("SmtpPassword(set)"), "{shown}");
    }

    // The pool spawns its keeper on the runtime.
    #[tokio::test]
    async fn no_smtp_host_is_no_mailer_and_a_bad_sender_is_refused() {
        let mut settings = MailSettings::default();
        assert!(matches!(Mailer::from_settings(&settings, "hub.example.no"), Ok(None)));
        settings.smtp_host = Some("smtp.example.no".into());
        assert!(matches!(Mailer::from_settings(&settings, "hub.example.no"), Ok(Some(_))));
        settings.mail_from = "not an address".into();
        assert!(Mailer::from_settings(&settings, "hub.example.no").is_err());
    }
}
