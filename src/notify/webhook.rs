//! Webhooks as the Standard Webhooks specification (1.0) has them: an HTTP POST of a JSON body
//! with `webhook-id` (the message's id, the same on every retry, so the receiver can drop
//! repeats), `webhook-timestamp` (this attempt's time, Unix seconds, so the receiver can refuse
//! replays) and `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`
//! under each secret the endpoint has now, space-separated (two while a rotation overlaps). A
//! secret is `whsec_` and the base64 of 32 random bytes; the receiver decodes it to the HMAC key.
//!
//! A delivery is one attempt: it never follows a redirect (the specification counts a 3xx as a
//! failure), waits at most [`TIMEOUT`], and connects only to addresses the SSRF guard allows
//! (`addresses.rs`), checked again at delivery. Its outcome is an [`Attempt`]; whether and when
//! to try again is `domain::webhooks`; the queue's worker (`notify::worker`) records each attempt with
//! its delivery's outcome and applies the schedule.

use std::time::{Duration, Instant};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::AppError;

mod addresses;

pub use addresses::{
    Guard, GuardedResolver, Internal, MAX_URL_CHARS, REFUSED_ADDRESS, REFUSED_SCHEME, Refusal, UNRESOLVED,
    classify,
};

/// Every secret starts with this, as the specification serialises symmetric secrets.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret we make (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;
/// The key lengths a secret may decode to.
const KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
/// How long a delivery waits for the receiver's answer (the specification suggests 15 to 30 s).
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// A new secret, shown once to whoever registered the endpoint or rotated its secret.
pub fn generate_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness for a secret: {e}")))?;
    Ok(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The HMAC key of a `whsec_` secret, if it is one.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    let key = STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()?;
    KEY_BYTES.contains(&key.len()).then_some(key)
}

/// Whether `id` may be a message id: printable ASCII without `.`, which separates the signed
/// parts (the specification warns that a dot would let two messages sign alike).
pub fn is_valid_message_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_graphic() && b != b'.')
}

/// One signature, `v1,<base64>`, of a message under a key.
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    // HMAC takes a key of any length; `new_from_slice` only refuses for fixed-size MACs.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: a signature under each secret, space-separated; `None` when
/// no secret is usable.
pub fn signature_header(secrets: &[String], message_id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let signatures: Vec<String> = secrets
        .iter()
        .filter_map(|secret| secret_key(secret))
        .filter_map(|key| sign(&key, message_id, timestamp, body))
        .collect();
    (!signatures.is_empty()).then(|| signatures.join(" "))
}

/// Where a delivery goes and what signs it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: String,
    /// The secrets that sign now: the current one, and during a rotation's overlap the one
    /// before it.
    pub secrets: Vec<String>,
}

/// What one delivery did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's answer; none when it gave none (refused, unreachable, timed out).
    pub status_code: Option<u16>,
    pub duration: Duration,
    /// Why it failed; none for a 2xx answer.
    pub error: Option<String>,
}

impl Attempt {
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    fn failed(started: Instant, status_code: Option<u16>, error: impl Into<String>) -> Self {
        Self { status_code, duration: started.elapsed(), error: Some(error.into()) }
    }
}

/// Delivers webhooks: one HTTP client (its connections kept between deliveries), resolving
/// through the guard.
#[derive(Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    guard: Guard,
}

impl Deliverer {
    pub fn new(guard: Guard, timeout: Duration) -> Result<Self, AppError> {
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver::shared(guard))
            // A proxy would resolve the name itself, past the guard.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .user_agent(concat!("knowledge-hub-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AppError::Internal(format!("cannot build the webhook client: {e}")))?;
        Ok(Self { client, guard })
    }

    /// Delivers `payload` (JSON) to `endpoint` once, signed, as message `message_id`. The URL is
    /// checked again here: its scheme and an IP literal host before sending, a host name by the
    /// client's resolver, whose addresses are the ones connected to.
    pub async fn deliver(&self, endpoint: &Endpoint, message_id: &str, payload: &[u8]) -> Attempt {
        let started = Instant::now();
        if !is_valid_message_id(message_id) {
            return Attempt::failed(started, None, "the message id is not valid");
        }
        let url = match self.guard.parse(&endpoint.url) {
            Ok(url) => url,
            Err(refusal) => return Attempt::failed(started, None, format!("refused: {refusal}")),
        };
        let timestamp = chrono::Utc::now().timestamp();
        let Some(signature) = signature_header(&endpoint.secrets, message_id, timestamp, payload) else {
            return Attempt::failed(started, None, "the endpoint has no usable secret");
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(payload.to_vec())
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status();
                // The body is not read: the status is the whole answer, and a large body must not
                // hold the delivery.
                drop(response);
                if status.is_success() {
                    Attempt { status_code: Some(status.as_u16()), duration: started.elapsed(), error: None }
                } else {
                    Attempt::failed(started, Some(status.as_u16()), format!("the endpoint answered {status}"))
                }
            }
            Err(err) => Attempt::failed(started, None, describe(&err)),
        }
    }
}

/// A failed request in a line: the guard's refusal when it was that, else what reqwest says with
/// its causes.
fn describe(err: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut chain = Vec::new();
    while let Some(cause) = source {
        if let Some(refusal) = cause.downcast_ref::<Refusal>() {
            return format!("refused: {refusal}");
        }
        chain.push(cause.to_string());
        source = cause.source();
    }
    if err.is_timeout() {
        return "timed out waiting for the endpoint".into();
    }
    chain.dedup();
    chain.join(": ")
}

/// A random draw in `[0, 1)` for the backoff's jitter (the middle if randomness fails: jitter
/// spreads load, it guards nothing).
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example, as its reference libraries test it.
    #[test]
    fn signs_the_specifications_example_as_its_reference_libraries_do() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let key = secret_key(secret).expect("a valid secret");
        let body = br#"{"test": 2432232314}"#;
        let signature = sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).expect("signed");
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_random_prefixed_and_decode_to_their_key() {
        let a = generate_secret().expect("random");
        let b = generate_secret().expect("random");
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(secret_key(&a).map(|k| k.len()), Some(SECRET_BYTES));
        for bad in ["", "whsec_", "whsec_!!!", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ="] {
            assert_eq!(secret_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_rotation_signs_with_every_secret_that_signs_now() {
        let (old, new) = (generate_secret().expect("random"), generate_secret().expect("random"));
        let header =
            signature_header(&[new.clone(), old.clone()], "msg_1", 1_700_000_000, b"{}").expect("signed");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        let key = secret_key(&old).expect("a key");
        assert_eq!(parts[1], sign(&key, "msg_1", 1_700_000_000, b"{}").expect("signed"));
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_eq!(signature_header(&["nonsense".into()], "msg_1", 1, b"{}"), None);
    }

    #[test]
    fn message_ids_carry_no_dot() {
        assert!(is_valid_message_id("webhook:3:need:17"));
        for bad in ["", "a.b", "with space", "ünicode", &"x".repeat(256)] {
            assert!(!is_valid_message_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_delivery_refused_by_the_guard_sends_nothing() {
        let deliverer = Deliverer::new(Guard { allow_private: false }, TIMEOUT).expect("a client");
        let secrets = vec![generate_secret().expect("random")];
        for url in ["https://127.0.0.1:9/", "https://localhost:9/", "http://8.8.8.8/", "https://[::1]:9/"] {
            let attempt = deliverer
                .deliver(&Endpoint { url: url.into(), secrets: secrets.clone() }, "msg_1", b"{}")
                .await;
            assert_eq!(attempt.status_code, None, "{url}");
            let error = attempt.error.expect("refused");
            assert!(error.starts_with("refused: "), "{url}: {error}");
        }
    }
}
