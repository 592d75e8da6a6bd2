//! Unsubscribe tokens: a link in a mail that turns a kind of notification off without logging in,
//! and that no one can forge or alter. A token is `base64url(payload) . base64url(mac)`, where
//! the payload is `person.KIND.YYYYMMDD` (the kind, or `ALL`, and the day it was issued) and the
//! mac is HMAC-SHA256 under the hub's signing key (`db::notify::keys`) of the purpose and the
//! payload (`crate::signing`, which every signed link of the hub shares). The check is in constant time. A token does not expire: an unsubscribe link in an
//! old mail keeps working, as mailbox providers expect.

use chrono::NaiveDate;
use entity::enums::NotificationKind;

pub use crate::signing::{Forged, SigningKey};

/// What the mac covers before the payload: a key signing other things one day cannot be made to
/// sign an unsubscribe token.
const PURPOSE: &[u8] = b"knowledge-hub unsubscribe v1\0";

/// Who unsubscribes from what: one kind, or every kind (`None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    pub person_id: i32,
    pub kind: Option<NotificationKind>,
    pub issued: NaiveDate,
}

const ALL: &str = "ALL";

impl Unsubscribe {
    fn payload(&self) -> String {
        let kind = self.kind.map_or_else(|| ALL.to_owned(), |kind| kind.to_string());
        format!("{}.{kind}.{}", self.person_id, self.issued.format("%Y%m%d"))
    }

    /// The token for this, signed with `key`.
    pub fn sign(&self, key: &SigningKey) -> String {
        key.sign(PURPOSE, self.payload().as_bytes())
    }

    /// What `token` says, if `key` signed it exactly so.
    pub fn verify(token: &str, key: &SigningKey) -> Result<Self, Forged> {
        let payload = key.verify(PURPOSE, token)?;
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
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

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
}
