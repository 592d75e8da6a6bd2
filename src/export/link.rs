//! The signed download link of an export: what to export (the kind, its resolved arguments,
//! the format and the language of the headings), on whose behalf (the token that asked, or the
//! public) and until when. It is signed under the hub's key (`crate::signing`) so no one can
//! change a filter, widen a link or lengthen its life; the token's rights are checked again when
//! it is used, so a revoked or expired token kills its links.

use chrono::{DateTime, Duration, Utc};
use entity::enums::Language;
use serde::{Deserialize, Serialize};

use super::{Format, Kind};
use crate::signing::SigningKey;

/// What the mac covers before the payload: no other signed token of the hub reads as a link.
const PURPOSE: &[u8] = b"knowledge-hub export v1\0";

/// How long a link works: long enough to click in the playground or a dashboard, short enough
/// that a link in a browser's history or a proxy's log is soon worth nothing.
pub const LIFETIME: Duration = Duration::minutes(15);

/// An export as its link carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub kind: Kind,
    pub format: Format,
    pub language: Language,
    /// The GraphQL variables of the export's document, as the caller gave them (filter, search,
    /// order, round): the same arguments the field it mirrors takes.
    pub arguments: serde_json::Value,
    /// The token the link was made with; `None` for the public.
    pub token_id: Option<i32>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Why a link is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not signed by this hub, or changed since.
    #[error("the export link is not valid: it was not made by this hub, or it was changed")]
    Invalid,
    #[error("the export link has expired: ask for a new one")]
    Expired,
}

impl Link {
    /// When the link stops working.
    pub fn expires(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.expires_at, 0).unwrap_or_default()
    }

    /// The link's path segment, signed with `key`.
    pub fn sign(&self, key: &SigningKey) -> String {
        // A derived `Serialize` of plain fields cannot fail.
        let payload = serde_json::to_vec(self).unwrap_or_default();
        key.sign(PURPOSE, &payload)
    }

    /// What `token` says, if `key` signed it and it has not expired at `now`.
    pub fn verify(token: &str, key: &SigningKey, now: DateTime<Utc>) -> Result<Self, Refused> {
        let payload = key.verify(PURPOSE, token).map_err(|_| Refused::Invalid)?;
        let link: Self = serde_json::from_slice(&payload).map_err(|_| Refused::Invalid)?;
        if link.expires_at <= now.timestamp() {
            return Err(Refused::Expired);
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::new(vec![byte; 32])
    }

    fn sample(now: DateTime<Utc>) -> Link {
        Link {
            kind: Kind::Needs,
            format: Format::Xlsx,
            language: Language::Nn,
            arguments: serde_json::json!({ "filter": { "status": ["SUBMITTED"] }, "search": "skule" }),
            token_id: Some(7),
            expires_at: (now + LIFETIME).timestamp(),
        }
    }

    #[test]
    fn a_link_reads_back_until_it_expires() {
        let now = Utc::now();
        let token = sample(now).sign(&key(1));
        assert_eq!(Link::verify(&token, &key(1), now), Ok(sample(now)));
        assert_eq!(Link::verify(&token, &key(1), now + LIFETIME), Err(Refused::Expired));
    }

    #[test]
    fn another_key_or_a_changed_link_is_invalid() {
        let now = Utc::now();
        let token = sample(now).sign(&key(1));
        assert_eq!(Link::verify(&token, &key(2), now), Err(Refused::Invalid));
        let mut wider = sample(now);
        wider.token_id = Some(8);
        let (_, tag) = token.split_once('.').expect("two parts");
        let (payload, _) = wider
            .sign(&key(1))
            .split_once('.')
            .map(|(p, t)| (p.to_owned(), t.to_owned()))
            .expect("two parts");
        assert_eq!(Link::verify(&format!("{payload}.{tag}"), &key(1), now), Err(Refused::Invalid));
        // An unsubscribe token, signed by the same key for another purpose, is no link.
        let other = key(1).sign(b"knowledge-hub unsubscribe v1\0", b"42.ALL.20261130");
        assert_eq!(Link::verify(&other, &key(1), now), Err(Refused::Invalid));
    }
}
