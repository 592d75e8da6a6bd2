//! Unsubscribe tokens: a link in a mail that turns a kind of notification off without logging in,
//! and that no one can forge or alter. A token is `base64url(payload) . base64url(mac)`, where
//! the payload is `person.KIND.YYYYMMDD` (the kind, or `ALL`, and the day it was issued) and the
//! mac is HMAC-SHA256 under the hub's signing key (`db::notify::keys`) of the purpose and the
//! payload. The check is in constant time. A token does not expire: an unsubscribe link in an
//! old mail keeps working, as mailbox providers expect.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::NaiveDate;
use entity::enums::NotificationKind;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What the mac covers before the payload: a key signing other things one day cannot be made to
/// sign an unsubscribe token.
const PURPOSE: &[u8] = b"knowledge-hub unsubscribe v1\0";

/// The hub's signing key. Its `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(std::sync::Arc<[u8]>);

impl SigningKey {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes.into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(PURPOSE);
        mac
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Who unsubscribes from what: one kind, or every kind (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    pub person_id: i32,
    pub kind: Option<NotificationKind>,
    pub issued: NaiveDate,
}

/// A token that was not made by this hub, or was changed since: nothing is done with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the unsubscribe link is not valid")]
pub struct Forged;

const ALL: &str = "ALL";

impl Unsubscribe {
    fn payload(&self) -> String {
        let kind = self.kind.map_or_else(|| ALL.to_owned(), |kind| kind.to_string());
        format!("{}.{kind}.{}", self.person_id, self.issued.format("%Y%m%d"))
    }

    /// The token for this, signed with `key`.
    pub fn sign(&self, key: &SigningKey) -> String {
        let payload = self.payload();
        let mut mac = key.mac();
        mac.update(payload.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// What `token` says, if `key` signed it exactly so.
    pub fn verify(token: &str, key: &SigningKey) -> Result<Self, Forged> {
        let (payload, tag) = token.split_once('.').ok_or(Forged)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Forged)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| Forged)?;
        let mut mac = key.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| Forged)?;
        // Signed by us, so well-formed; parsed carefully all the same.
        let payload = String::from_utf8(payload).map_err(|_| Forged)?;
        let mut parts = payload.split('.');
        let (Some(person), Some(kind), Some(issued), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Forged);
        };
        let kind = match kind {
            ALL => None,
            name => Some(NotificationKind::ALL.into_iter().find(|k| k.to_string() == name).ok_or(Forged)?),
        };
        Ok(Self {
            person_id: person.parse().map_err(|_| Forged)?,
            kind,
            issued: NaiveDate::parse_from_str(issued, "%Y%m%d").map_err(|_| Forged)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::new(vec![byte; 32])
    }

    fn sample(kind: Option<NotificationKind>) -> Unsubscribe {
        Unsubscribe { person_id: 42, kind, issued: NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date") }
    }

    #[test]
    fn a_signed_token_reads_back_for_every_kind_and_for_all() {
        for kind in NotificationKind::ALL.into_iter().map(Some).chain([None]) {
            let token = sample(kind).sign(&key(1));
            assert_eq!(Unsubscribe::verify(&token, &key(1)), Ok(sample(kind)));
            assert!(
                token.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "URL-safe: {token}"
            );
        }
    }

    #[test]
    fn another_key_an_altered_payload_or_mac_or_garbage_is_forged() {
        let token = sample(None).sign(&key(1));
        assert_eq!(Unsubscribe::verify(&token, &key(2)), Err(Forged));
        let (payload, tag) = token.split_once('.').expect("two parts");
        let other = URL_SAFE_NO_PAD.encode("43.ALL.20261130");
        assert_eq!(Unsubscribe::verify(&format!("{other}.{tag}"), &key(1)), Err(Forged));
        let mut bent = URL_SAFE_NO_PAD.decode(tag).expect("base64");
        bent[0] ^= 1;
        assert_eq!(
            Unsubscribe::verify(&format!("{payload}.{}", URL_SAFE_NO_PAD.encode(bent)), &key(1)),
            Err(Forged)
        );
        for garbage in ["", ".", "abc", "abc.def", &format!("{payload}."), &format!(".{tag}")] {
            assert_eq!(Unsubscribe::verify(garbage, &key(1)), Err(Forged), "{garbage}");
        }
    }

    #[test]
    fn the_key_is_never_shown() {
        assert_eq!(format!("{:?}", key(7)), "SigningKey(..)");
    }
}
