//! The mails' templates (minijinja, bundled into the binary): one per kind of mail and language
//! in `templates/{nb,nn,en}/{kind}.jinja`, each with three blocks, `subject`, `text` and `html`,
//! framed by the language's `_layout.jinja` (greeting, footer, unsubscribe link).
//!
//! Each template is registered twice, as `{lang}/{kind}.txt` and `.html`: the subject and text
//! are rendered from the first (no escaping), the HTML from the second, which minijinja
//! auto-escapes by its name, so a need titled `<script>` reaches the HTML part as text. An
//! undefined variable is an error (`UndefinedBehavior::Strict`), never an empty string, and the
//! tests render every kind in every language.
//!
//! A mail's context is [`Mail`]: who it is for, the link to the object, the unsubscribe link, and
//! the content of its kind (one struct per kind, below). Filters put the API's values into words
//! in the mail's language (`need_status`, `commission_status`, `commission_event`, `moment`,
//! `day`; see `words`).

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{CommissionEventKind, CommissionStatus, Language, NeedStatus};
use minijinja::{Environment, State, UndefinedBehavior, Value, syntax::SyntaxConfig, value::Serde};
use serde::{Serialize, de::DeserializeOwned};

use crate::notify::words;

/// The kinds of mail, each a template in every language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A need moved to another state, with the comment (the reason) if it was returned or
    /// rejected with one.
    NeedStatusChanged,
    NeedCosigned,
    /// A need was raised in a unit or partnership of the recipient's.
    NewNeed,
    /// A commission opened that matches the recipient's institution.
    CommissionOpened,
    /// A commission the recipient is party to changed.
    CommissionChanged,
    RoundOpened,
    RoundClosingSoon,
    DeadlineApproaching,
    /// A day's notifications in one mail.
    Digest,
    /// A webhook endpoint was disabled after failing (to its owner).
    WebhookDisabled,
}

impl MailKind {
    /// The template's file name, without the language and extension.
    pub const fn name(self) -> &'static str {
        match self {
            Self::NeedStatusChanged => "need_status_changed",
            Self::NeedCosigned => "need_cosigned",
            Self::NewNeed => "new_need",
            Self::CommissionOpened => "commission_opened",
            Self::CommissionChanged => "commission_changed",
            Self::RoundOpened => "round_opened",
            Self::RoundClosingSoon => "round_closing_soon",
            Self::DeadlineApproaching => "deadline_approaching",
            Self::Digest => "digest",
            Self::WebhookDisabled => "webhook_disabled",
        }
    }
}

/// A mail's context: who it is for, its links, and what its kind says.
#[derive(Clone, Debug, Serialize)]
pub struct Mail<T> {
    /// The recipient's name, for the greeting.
    pub recipient: String,
    /// The object the mail is about (`Links::object`), or the hub (a digest).
    pub link: String,
    /// The unsubscribe link (`Links::unsubscribe`), in the footer and the `List-Unsubscribe` header.
    pub unsubscribe: String,
    #[serde(flatten)]
    pub content: T,
}

/// The content of one kind of mail.
pub trait Content: Serialize {
    const KIND: MailKind;
}

impl<T: Content> Mail<T> {
    /// This mail in `language`.
    pub fn render(&self, language: Language) -> Result<Rendered, RenderError> {
        render(T::KIND, language, self)
    }
}

/// A need moved to another state; `comment` is the reason given with a return or a rejection.
#[derive(Clone, Debug, Serialize)]
pub struct NeedStatusChanged {
    /// The need's title.
    pub need: String,
    pub from: NeedStatus,
    pub to: NeedStatus,
    pub comment: Option<String>,
}

/// Another unit co-signed a need.
#[derive(Clone, Debug, Serialize)]
pub struct NeedCosigned {
    pub need: String,
    /// The unit that co-signed.
    pub cosigner: String,
}

/// A need was raised in a unit or partnership of the recipient's.
#[derive(Clone, Debug, Serialize)]
pub struct NewNeed {
    pub need: String,
    /// The unit that raised it.
    pub raised_in: String,
    /// The recipient's unit or partnership it is in.
    pub unit: String,
}

/// A commission opened that matches the recipient's institution's themes and product types.
#[derive(Clone, Debug, Serialize)]
pub struct CommissionOpened {
    /// The commission's question.
    pub commission: String,
    /// The partnership that opened it.
    pub partnership: String,
    pub institution: String,
    pub deadline: DateTime<Utc>,
}

/// A commission the recipient is party to changed.
#[derive(Clone, Debug, Serialize)]
pub struct CommissionChanged {
    pub commission: String,
    pub event: CommissionEventKind,
    /// Its status now.
    pub status: CommissionStatus,
    /// The progress note or milestone that came with it, if any.
    pub note: Option<String>,
}

/// A round the recipient scores in opened.
#[derive(Clone, Debug, Serialize)]
pub struct RoundOpened {
    pub round: String,
    pub partnership: String,
    pub closes_at: DateTime<Utc>,
}

/// A round the recipient scores in closes soon.
#[derive(Clone, Debug, Serialize)]
pub struct RoundClosingSoon {
    pub round: String,
    pub partnership: String,
    pub closes_at: DateTime<Utc>,
}

/// A milestone (`what`) or the delivery (`what` is `None`) of a commission is due soon.
#[derive(Clone, Debug, Serialize)]
pub struct DeadlineApproaching {
    pub commission: String,
    pub what: Option<String>,
    pub due: DateTime<Utc>,
}

/// A day's notifications: each one's subject (as its own mail would have it) and link.
#[derive(Clone, Debug, Serialize)]
pub struct Digest {
    pub day: NaiveDate,
    pub items: Vec<DigestItem>,
}

#[derive(Clone, Debug, Serialize)]
pub struct DigestItem {
    pub subject: String,
    pub link: String,
}

/// A webhook endpoint was disabled after failing `attempts` times.
#[derive(Clone, Debug, Serialize)]
pub struct WebhookDisabled {
    /// The endpoint's URL.
    pub endpoint: String,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// Each kind's content is the struct of its name; the kinds in one list.
macro_rules! content {
    ($($ty:ident),* $(,)?) => {
        $(
            impl Content for $ty {
                const KIND: MailKind = MailKind::$ty;
            }
        )*
        impl MailKind {
            pub const ALL: &[Self] = &[$(Self::$ty),*];
        }
    };
}

content!(
    NeedStatusChanged,
    NeedCosigned,
    NewNeed,
    CommissionOpened,
    CommissionChanged,
    RoundOpened,
    RoundClosingSoon,
    DeadlineApproaching,
    Digest,
    WebhookDisabled,
);

/// A mail in one language, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// One line.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A template that failed: a fault of ours (a variable the context lacks, say), never of the
/// recipient's. The tests render every template, so it does not happen in a release.
#[derive(Debug, thiserror::Error)]
#[error("cannot render the {template} mail: {detail}")]
pub struct RenderError {
    pub template: String,
    pub detail: String,
}

/// Renders the mail of `kind` in `language` with `context` (a [`Mail`] of that kind's content).
pub fn render(kind: MailKind, language: Language, context: &impl Serialize) -> Result<Rendered, RenderError> {
    let name = format!("{}/{}", code(language), kind.name());
    let failed = |err: minijinja::Error| RenderError { template: name.clone(), detail: format!("{err:#}") };
    let env = ENVIRONMENT.as_ref().map_err(|err| failed(built(err)))?;
    let context = Value::from(Serde(context));
    let language_value = Value::from(code(language));
    let context = minijinja::context! { language => language_value, ..context };
    let subject_and_text =
        blocks(env, &format!("{name}.txt"), &context, &["subject", "text"]).map_err(failed)?;
    let [subject, text] = <[String; 2]>::try_from(subject_and_text).map_err(|_| failed(unexpected()))?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let html = blocks(env, &format!("{name}.html"), &context, &["html"]).map_err(failed)?.concat();
    let layout = format!("{}/_layout", code(language));
    let framed = |extension: &str, body: Value| {
        let context = minijinja::context! { body => body, subject => subject.clone(), ..context.clone() };
        blocks(
            env,
            &format!("{layout}.{extension}"),
            &context,
            &[if extension == "txt" { "text" } else { "html" }],
        )
        .map(|parts| parts.concat())
    };
    Ok(Rendered {
        text: framed("txt", Value::from(text.trim())).map_err(failed)?,
        html: framed("html", Value::from_safe_string(html.trim().to_owned())).map_err(failed)?,
        subject,
    })
}

fn unexpected() -> minijinja::Error {
    minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "a block is missing")
}

/// The blocks `names` of the template `name` rendered with `context`.
fn blocks(
    env: &Environment<'static>,
    name: &str,
    context: &Value,
    names: &[&str],
) -> Result<Vec<String>, minijinja::Error> {
    let mut captured = env.get_template(name)?.render_captured(context.clone())?;
    names.iter().map(|block| captured.with_state_mut(|state| state.render_block(block))).collect()
}

/// The page an unsubscribe link opens (see `templates/pages/unsubscribe.html`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PageState {
    /// A valid link, opened: the button to confirm.
    Confirm,
    /// Unsubscribed.
    Done,
    /// A forged or altered link: nothing was done.
    Invalid,
}

/// The unsubscribe page in `language`; `action` is where its button posts, `kind_all` whether the
/// link is for every kind.
pub fn unsubscribe_page(
    language: Language,
    state: PageState,
    action: &str,
    kind_all: bool,
) -> Result<String, RenderError> {
    let failed = |err: minijinja::Error| RenderError {
        template: "unsubscribe page".into(),
        detail: format!("{err:#}"),
    };
    let env = ENVIRONMENT.as_ref().map_err(|err| failed(built(err)))?;
    let context = minijinja::context! { language => code(language), state => Value::from(Serde(state)), action => action, kind_all => kind_all };
    env.get_template(PAGE).and_then(|t| t.render(context)).map_err(failed)
}

fn code(language: Language) -> &'static str {
    match language {
        Language::Nb => "nb",
        Language::Nn => "nn",
        Language::En => "en",
    }
}

const PAGE: &str = "pages/unsubscribe.html";

/// Every template's name (without extension) and source.
macro_rules! sources {
    ($($kind:literal),* $(,)?) => {
        [$(
            (concat!("nb/", $kind), include_str!(concat!("templates/nb/", $kind, ".jinja"))),
            (concat!("nn/", $kind), include_str!(concat!("templates/nn/", $kind, ".jinja"))),
            (concat!("en/", $kind), include_str!(concat!("templates/en/", $kind, ".jinja"))),
        )*]
    };
}

const SOURCES: [(&str, &str); 33] = sources!(
    "_layout",
    "need_status_changed",
    "need_cosigned",
    "new_need",
    "commission_opened",
    "commission_changed",
    "round_opened",
    "round_closing_soon",
    "deadline_approaching",
    "digest",
    "webhook_disabled",
);

/// The environment, built once; an error (a template that does not parse) is every render's.
static ENVIRONMENT: LazyLock<Result<Environment<'static>, String>> =
    LazyLock::new(|| environment().map_err(|err| format!("{err:#}")));

/// The error building the environment, for a render.
fn built(err: &str) -> minijinja::Error {
    minijinja::Error::new(
        minijinja::ErrorKind::InvalidOperation,
        format!("the templates do not build: {err}"),
    )
}

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Block tags on lines of their own leave no blank lines behind.
    env.set_syntax(SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build()?);
    for (name, source) in SOURCES {
        // By their names, `.html` is auto-escaped and `.txt` is not.
        env.add_template_owned(format!("{name}.txt"), source)?;
        env.add_template_owned(format!("{name}.html"), source)?;
    }
    env.add_template(PAGE, include_str!("templates/pages/unsubscribe.html"))?;
    env.add_filter("need_status", |state: &State, value: Value| {
        Ok(words::need_status(parse::<NeedStatus>(&value)?, language_of(state)?))
    });
    env.add_filter("commission_status", |state: &State, value: Value| {
        Ok(words::commission_status(parse::<CommissionStatus>(&value)?, language_of(state)?))
    });
    env.add_filter("commission_event", |state: &State, value: Value| {
        Ok(words::commission_event(parse::<CommissionEventKind>(&value)?, language_of(state)?))
    });
    env.add_filter("moment", |state: &State, value: Value| {
        Ok(words::moment(parse::<DateTime<Utc>>(&value)?, language_of(state)?))
    });
    env.add_filter("day", |state: &State, value: Value| {
        Ok(words::day(parse::<NaiveDate>(&value)?, language_of(state)?))
    });
    Ok(env)
}

/// A value of the context back as the Rust type it was serialised from.
fn parse<T: DeserializeOwned>(value: &Value) -> Result<T, minijinja::Error> {
    let text = value.as_str().ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            format!("expected a string, got {value}"),
        )
    })?;
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|err| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, format!("`{text}`: {err}"))
    })
}

/// The language the running template renders in (the context's `language`).
fn language_of(state: &State) -> Result<Language, minijinja::Error> {
    let value = state
        .lookup("language")
        .ok_or_else(|| minijinja::Error::new(minijinja::ErrorKind::UndefinedError, "no language"))?;
    parse::<Language>(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "https://hub.example.no/?query=%7B%20node%20%7D&x=1";
    const UNSUBSCRIBE: &str = "https://hub.example.no/unsubscribe?token=abc.def";
    const HOSTILE: &str = "<script>alert(\"x\")</script> & Co";

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    fn mail<T: Content>(content: T) -> (MailKind, serde_json::Value) {
        let mail = Mail {
            recipient: "Kari Nordmann".into(),
            link: LINK.into(),
            unsubscribe: UNSUBSCRIBE.into(),
            content,
        };
        (T::KIND, serde_json::to_value(mail).expect("serialisable"))
    }

    /// A mail of every kind, with every optional part present, and each again without them.
    fn samples(title: &str) -> Vec<(MailKind, serde_json::Value)> {
        let title = title.to_owned();
        let soon = at("2026-12-01T14:00:00Z");
        let mut all = Vec::new();
        for comment in [Some(format!("Skjerp spørsmålet: {title}")), None] {
            all.push(mail(NeedStatusChanged {
                need: title.clone(),
                from: NeedStatus::Submitted,
                to: NeedStatus::Returned,
                comment,
            }));
        }
        all.push(mail(NeedCosigned { need: title.clone(), cosigner: "Askøy kommune".into() }));
        all.push(mail(NewNeed {
            need: title.clone(),
            raised_in: "Bergen kommune".into(),
            unit: "RSO Vest".into(),
        }));
        all.push(mail(CommissionOpened {
            commission: title.clone(),
            partnership: "RSO Vest".into(),
            institution: "Universitetet i Bergen".into(),
            deadline: soon,
        }));
        for note in [Some("Første utkast er klart".to_owned()), None] {
            all.push(mail(CommissionChanged {
                commission: title.clone(),
                event: CommissionEventKind::Progress,
                status: CommissionStatus::InProgress,
                note,
            }));
        }
        all.push(mail(RoundOpened { round: title.clone(), partnership: "RSO Vest".into(), closes_at: soon }));
        all.push(mail(RoundClosingSoon {
            round: title.clone(),
            partnership: "RSO Vest".into(),
            closes_at: soon,
        }));
        for what in [Some("Utkast".to_owned()), None] {
            all.push(mail(DeadlineApproaching { commission: title.clone(), what, due: soon }));
        }
        all.push(mail(Digest {
            day: soon.date_naive(),
            items: vec![
                DigestItem { subject: title.clone(), link: LINK.into() },
                DigestItem { subject: "Et annet varsel".into(), link: LINK.into() },
            ],
        }));
        // What the endpoint answered is as hostile as anything a person wrote.
        for last_error in [Some(format!("HTTP 500: {title}")), None] {
            all.push(mail(WebhookDisabled {
                endpoint: "https://uib.example.no/hook".into(),
                attempts: 12,
                last_error,
            }));
        }
        all
    }

    #[test]
    fn every_kind_renders_in_every_language_with_its_links_and_no_missing_variable() {
        let samples = samples("Fallforebygging");
        for &kind in MailKind::ALL {
            assert!(samples.iter().any(|(k, _)| *k == kind), "no sample of {kind:?}");
        }
        for (kind, context) in &samples {
            for language in [Language::Nb, Language::Nn, Language::En] {
                let rendered = render(*kind, language, context)
                    .unwrap_or_else(|err| panic!("{kind:?} in {language:?}: {err}"));
                let what = format!("{kind:?} in {language:?}: {rendered:#?}");
                assert!(!rendered.subject.is_empty() && !rendered.subject.contains('\n'), "{what}");
                assert!(
                    rendered.text.contains("Kari Nordmann") && rendered.text.contains(UNSUBSCRIBE),
                    "{what}"
                );
                assert!(rendered.text.contains(LINK), "{what}");
                assert!(
                    rendered.html.starts_with("<!DOCTYPE html>") && rendered.html.contains("</html>"),
                    "{what}"
                );
                // Attributes are escaped too (`&` as `&amp;`, `/` as `&#x2f;`).
                assert!(rendered.html.contains("unsubscribe?token=abc.def"), "{what}");
                assert!(rendered.html.contains("&amp;x=1"), "{what}");
                assert!(!rendered.text.contains("{{") && !rendered.html.contains("{%"), "{what}");
                assert!(
                    !rendered.html.contains("http://") || !rendered.html.contains("src="),
                    "no external assets"
                );
            }
        }
    }

    #[test]
    fn the_languages_differ_and_a_return_with_a_comment_says_so() {
        let (kind, context) = &samples("Fallforebygging")[0];
        let nb = render(*kind, Language::Nb, context).expect("nb");
        let nn = render(*kind, Language::Nn, context).expect("nn");
        let en = render(*kind, Language::En, context).expect("en");
        assert_eq!(nb.subject, "«Fallforebygging» er sendt tilbake, med en kommentar");
        assert_eq!(nn.subject, "«Fallforebygging» er sendt attende, med ein kommentar");
        assert_eq!(en.subject, "\"Fallforebygging\" is returned, with a comment");
        assert!(nn.text.contains("gjekk frå sendt inn til sendt attende"), "{}", nn.text);
        assert!(nn.text.contains("Skjerp spørsmålet: Fallforebygging"), "{}", nn.text);
        assert!(nn.html.contains("<blockquote"), "{}", nn.html);
        let (kind, without) = &samples("Fallforebygging")[1];
        let plain = render(*kind, Language::Nb, without).expect("nb");
        assert_eq!(plain.subject, "«Fallforebygging» er sendt tilbake");
        assert!(!plain.html.contains("<blockquote"), "{}", plain.html);
    }

    #[test]
    fn html_escapes_what_people_wrote_and_text_keeps_it() {
        // Every sample but a webhook's without an error carries the hostile title.
        for (kind, context) in samples(HOSTILE).into_iter().filter(|(_, c)| c.to_string().contains("script"))
        {
            let rendered = render(kind, Language::Nb, &context).expect("renders");
            assert!(!rendered.html.contains("<script>"), "{kind:?}: {}", rendered.html);
            assert!(rendered.html.contains("&lt;script&gt;"), "{kind:?}: {}", rendered.html);
            assert!(rendered.text.contains(HOSTILE) || rendered.subject.contains(HOSTILE), "{kind:?}");
        }
    }

    #[test]
    fn a_context_that_lacks_a_variable_is_an_error_not_an_empty_string() {
        let (_, cosigned) = mail(NeedCosigned { need: "x".into(), cosigner: "y".into() });
        let err = render(MailKind::NeedStatusChanged, Language::Nb, &cosigned).expect_err("strict");
        assert!(err.detail.contains("undefined"), "{err}");
    }

    #[test]
    fn the_unsubscribe_page_renders_each_state_in_each_language() {
        for language in [Language::Nb, Language::Nn, Language::En] {
            for state in [PageState::Confirm, PageState::Done, PageState::Invalid] {
                let page =
                    unsubscribe_page(language, state, "/unsubscribe?token=a&b", false).expect("renders");
                assert!(page.starts_with("<!DOCTYPE html>") && !page.contains("src="), "{page}");
                assert_eq!(page.contains("<form method=\"post\""), state == PageState::Confirm, "{page}");
            }
        }
    }
}
