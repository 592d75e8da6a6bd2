//! The links in mails: to the object a mail is about, and to unsubscribe. Both start with the
//! hub's public URL (`--public-url`).
//!
//! The link to an object opens the hub's playground with a `node(id:)` query for it already
//! written (the playground reads `?query=`): the hub serves no other page that shows a need, a
//! commission or a round, and the query runs as whoever pastes their token, so a link shows
//! nothing to someone who may not see the object.

use crate::{
    domain::nodes::NodeType,
    graphql::ids::GlobalId,
    notify::unsubscribe::{SigningKey, Unsubscribe},
};

/// The hub's public URL and what is made from it.
#[derive(Clone, Debug)]
pub struct Links {
    /// Without a trailing slash.
    base: String,
    /// The host name (or address) alone: the right-hand side of the mails' `Message-ID`s.
    host: String,
}

impl Links {
    /// From a URL such as `https://kunnskapshub.no` or `http://127.0.0.1:8000/hub/`.
    pub fn new(public_url: &str) -> Result<Self, String> {
        let base = public_url.trim().trim_end_matches('/').to_owned();
        let rest = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"))
            .ok_or_else(|| format!("the public URL `{public_url}` must start with http:// or https://"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let authority = authority.rsplit('@').next().unwrap_or_default();
        let host = match authority.strip_prefix('[') {
            // An IPv6 literal keeps its brackets, as a Message-ID's domain literal.
            Some(v6) => format!("[{}]", v6.split(']').next().unwrap_or_default()),
            None => authority.split(':').next().unwrap_or_default().to_owned(),
        };
        if host.is_empty() || host == "[]" {
            return Err(format!("the public URL `{public_url}` names no host"));
        }
        Ok(Self { base, host })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The playground with a query showing the object `(node_type, id)`.
    pub fn object(&self, node_type: NodeType, id: i32) -> String {
        let id = GlobalId::new(node_type, id).encode();
        let query = format!(
            "# Paste {{\"Authorization\": \"Bearer <token>\"}} under Headers, then run.\n{{\n  node(id: \"{}\") {{\n    \
             __typename\n    ... on Need {{ title status }}\n    ... on Commission {{ question status deadline }}\n    \
             ... on Round {{ name status closesAt }}\n  }}\n}}\n",
            id.as_str()
        );
        format!("{}/?query={}", self.base, percent_encode(&query))
    }

    /// The unsubscribe link of `what`, signed with `key`.
    pub fn unsubscribe(&self, what: &Unsubscribe, key: &SigningKey) -> String {
        format!("{}/unsubscribe?token={}", self.base, what.sign(key))
    }
}

/// `text` with every byte that `keep` refuses percent-encoded (`%XX`): for a query value, and
/// for the left-hand side of a `Message-ID` (`mail.rs`).
pub(super) fn percent_encoded(text: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if keep(byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `text` with everything but RFC 3986's unreserved characters percent-encoded.
fn percent_encode(text: &str) -> String {
    percent_encoded(text, |byte| byte.is_ascii_alphanumeric() || b"-._~".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_taken_from_any_reasonable_public_url() {
        for (url, host) in [
            ("https://kunnskapshub.no", "kunnskapshub.no"),
            ("https://kunnskapshub.no/", "kunnskapshub.no"),
            ("http://127.0.0.1:8000", "127.0.0.1"),
            ("https://user@hub.example.no:8443/hub/", "hub.example.no"),
            ("http://[::1]:8000", "[::1]"),
        ] {
            assert_eq!(Links::new(url).expect("valid").host(), host, "{url}");
        }
        for bad in ["kunnskapshub.no", "ftp://x", "https://", "http:///path"] {
            assert!(Links::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn links_start_with_the_public_url_and_carry_their_query_encoded() {
        let links = Links::new("https://hub.example.no/base/").expect("valid");
        let link = links.object(NodeType::Need, 7);
        assert!(link.starts_with("https://hub.example.no/base/?query=%23%20Paste"), "{link}");
        let id = GlobalId::new(NodeType::Need, 7).encode();
        assert!(link.contains(&format!("node%28id%3A%20%22{}%22%29", id.as_str())), "{link}");
        assert!(!link[8..].contains([' ', '"', '{', '\n']), "{link}");
        let what = Unsubscribe {
            person_id: 1,
            kind: None,
            issued: chrono::NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date"),
        };
        let key = SigningKey::new(vec![1; 32]);
        assert_eq!(
            links.unsubscribe(&what, &key),
            format!("https://hub.example.no/base/unsubscribe?token={}", what.sign(&key))
        );
    }
}
