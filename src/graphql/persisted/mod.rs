//! Persisted and trusted documents: a request may name its document by hash instead of sending
//! its text, as the automatic persisted queries (APQ) convention of Apollo's and urql's clients
//! has it (`extensions.persistedQuery: { version: 1, sha256Hash }`, the lowercase hex SHA-256 of
//! the text's UTF-8 bytes), over HTTP and in a WebSocket `subscribe`.
//!
//! - A hash alone, of a known document or one remembered here: that document runs. Otherwise
//!   `PERSISTED_QUERY_NOT_FOUND` (message `PersistedQueryNotFound`, which the clients look for),
//!   and the client sends the text with the hash.
//! - A hash with the text: the hash must be the text's (`PERSISTED_QUERY_HASH_MISMATCH`, nothing
//!   runs); the text runs, and once it passed validation it is remembered (`learned`), bounded,
//!   per instance. Instances learn each on their own, which the convention expects: a client
//!   told "not found" by one just sends the text again.
//! - Known documents (`known`) are the repository's `documents/**/*.graphql`, compiled in, and
//!   the operator's `--documents-dir`, read at start-up; both checked and validated once then, so
//!   a request naming one (by hash or by identical text) skips parsing and validation. Its cost
//!   is still added up per request, for the variables it is sent with.
//! - With `--trusted-documents`, a caller without a token may run known documents only
//!   (`DOCUMENT_NOT_TRUSTED` otherwise). Token holders are not restricted: they are known
//!   people, on their own budget and in the audit log, and coordinators write their own queries
//!   in the playground.

mod known;
mod learned;

use std::sync::Arc;

use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

pub use self::known::{Known, KnownDocuments};
use self::learned::Learned;
use crate::{
    error::code,
    graphql::limits::{Checked, Documents, data_of},
};

/// The only version of the `persistedQuery` extension there is.
const VERSION: i64 = 1;

/// The operator's settings and the documents an instance knows and has learned.
#[derive(Default)]
pub struct Persisted {
    known: KnownDocuments,
    learned: Learned,
    /// The documents that passed the checks lately, kept parsed (`limits::Documents`).
    kept: Documents,
    /// Callers without a token may run known documents only.
    trusted: bool,
}

/// Request data: the request runs this known document (checked and validated at start-up).
pub struct KnownDocument(pub(crate) Arc<Known>);

/// Request data: the request's text is a document kept parsed (`RequestHooks` adds it to a new
/// one once checked, for the validation hook to mark it validated).
pub(crate) struct Kept(pub(crate) Arc<Checked>);

/// Request data: a document sent with its hash, to remember once it passed validation.
pub struct Learn {
    hash: String,
    text: Arc<str>,
}

/// Why a request naming or sending a document is refused before it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A hash alone, of no document known or remembered here: send the text with it.
    NotFound,
    /// The hash sent is not the SHA-256 of the text sent.
    HashMismatch,
    /// `persistedQuery` is not `{ "version": 1, "sha256Hash": "<64 hex digits>" }`.
    Malformed,
    /// A `version` other than 1.
    UnsupportedVersion,
    /// `--trusted-documents`: a caller without a token sent a document the hub does not know.
    NotTrusted,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => code::PERSISTED_QUERY_NOT_FOUND,
            Self::HashMismatch => code::PERSISTED_QUERY_HASH_MISMATCH,
            Self::Malformed => code::BAD_REQUEST,
            Self::UnsupportedVersion => code::PERSISTED_QUERY_VERSION_NOT_SUPPORTED,
            Self::NotTrusted => code::DOCUMENT_NOT_TRUSTED,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            // The exact text Apollo's and urql's clients compare with before sending the text.
            Self::NotFound => "PersistedQueryNotFound",
            Self::HashMismatch => {
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent (lowercase hex \
                 of the query's UTF-8 bytes); nothing was run"
            }
            Self::Malformed => {
                "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}"
            }
            Self::UnsupportedVersion => "only version 1 of extensions.persistedQuery is supported",
            Self::NotTrusted => {
                "this hub runs only its known documents for callers without a token: send one of them \
                 (by its hash or its text, see `knowledge-hub documents`), or send a token"
            }
        }
    }

    /// The refusal as a GraphQL error with its code.
    pub fn error(self) -> ServerError {
        let mut error = ServerError::new(self.message(), None);
        error.extensions.get_or_insert_with(Default::default).set("code", self.code());
        error
    }
}

/// The SHA-256 of `text`'s UTF-8 bytes in lowercase hex, as APQ clients compute it.
pub fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

impl Persisted {
    pub fn new(known: KnownDocuments, trusted: bool) -> Self {
        Self { known, learned: Learned::default(), kept: Documents::default(), trusted }
    }

    pub(crate) fn kept(&self) -> &Documents {
        &self.kept
    }

    /// Whether `request` (resolved) may run on the schema that skips the validation rules: its
    /// document is known, or kept and validated before.
    pub fn skips_validation(request: &Request) -> bool {
        data_of::<KnownDocument>(request).is_some()
            || data_of::<Kept>(request).is_some_and(|kept| kept.0.validated())
    }

    pub fn known(&self) -> &KnownDocuments {
        &self.known
    }

    /// Whether a request has a `persistedQuery` extension (and so may come without a text).
    pub fn names_a_document(request: &Request) -> bool {
        request.extensions.contains_key("persistedQuery")
    }

    /// Resolves `request`'s document before it runs: a hash alone becomes the text it names; a
    /// hash with a text is checked and marked to be remembered; a known document is marked so
    /// (`KnownDocument`), to run without parsing and validation, and so is one kept parsed
    /// (`Kept`), which runs without validation once it passed it; for the `public` (no token)
    /// with trusted documents on, anything else is refused.
    pub fn resolve(&self, request: &mut Request, public: bool) -> Result<(), Refusal> {
        let restricted = public && self.trusted;
        let hash = match request.extensions.remove("persistedQuery") {
            Some(extension) => Some(hash_of(&extension)?),
            None => None,
        };
        let has_text = !request.query.is_empty();
        let known = match (hash, has_text) {
            (None, false) => return Ok(()),
            (None, true) => self.known.by_text(&request.query),
            (Some(hash), true) => {
                if sha256_hex(&request.query) != hash {
                    return Err(Refusal::HashMismatch);
                }
                let known = self.known.by_hash(&hash);
                if known.is_none() && !restricted {
                    request.data.insert(Learn { hash, text: Arc::from(request.query.as_str()) });
                }
                known
            }
            (Some(hash), false) => {
                let known = self.known.by_hash(&hash);
                match (&known, restricted) {
                    (Some(known), _) => request.query = known.text.to_string(),
                    (None, true) => return Err(Refusal::NotTrusted),
                    (None, false) => {
                        request.query = self.learned.get(&hash).ok_or(Refusal::NotFound)?.to_string();
                    }
                }
                known
            }
        };
        match known {
            Some(known) => request.data.insert(KnownDocument(known)),
            None if restricted => return Err(Refusal::NotTrusted),
            None => {
                if let Some(kept) = self.kept.get(&request.query) {
                    request.data.insert(Kept(kept));
                }
            }
        }
        Ok(())
    }

    /// Remembers a document sent with its hash (called once it passed validation).
    pub(crate) fn learn(&self, learn: &Learn) {
        self.learned.put(&learn.hash, &learn.text);
    }
}

/// The hash a `persistedQuery` extension names, in lowercase.
fn hash_of(extension: &Value) -> Result<String, Refusal> {
    let Value::Object(fields) = extension else {
        return Err(Refusal::Malformed);
    };
    match fields.get("version") {
        Some(Value::Number(version)) if version.as_i64() == Some(VERSION) => {}
        Some(Value::Number(_)) => return Err(Refusal::UnsupportedVersion),
        _ => return Err(Refusal::Malformed),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(Refusal::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const THEMES: &str = "query Themes { themes(first: 5) { totalCount } }";

    fn request(body: serde_json::Value) -> Request {
        serde_json::from_value(body).unwrap_or_else(|e| panic!("a request: {e}"))
    }

    fn extension(hash: &str) -> serde_json::Value {
        json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
    }

    fn persisted(trusted: bool) -> Persisted {
        let known = KnownDocuments::from_texts(&[("documents/themes.graphql", THEMES)])
            .unwrap_or_else(|e| panic!("{e}"));
        Persisted::new(known, trusted)
    }

    #[test]
    fn the_hash_is_lowercase_hex_sha256_of_the_utf8_text() {
        // As `printf '{ a }' | sha256sum` prints them.
        assert_eq!(sha256_hex("{ a }"), "1c7e1e347f726166b5b1c55afd61f278cc9b45e00c108ec33d540a566379811b");
        assert_eq!(sha256_hex("æ"), "889be819e24eaa58cd98ff071bc5aa9d9d6b3fea8d62c6cd43778c7370d2bf60");
    }

    #[test]
    fn a_hash_alone_names_a_known_or_learned_document_or_is_not_found() {
        let persisted = persisted(false);
        let mut known = request(json!({ "extensions": extension(&sha256_hex(THEMES)) }));
        assert_eq!(persisted.resolve(&mut known, true), Ok(()));
        assert_eq!(known.query, THEMES);
        let other = "{ regions(first: 1) { totalCount } }";
        let mut alone = request(json!({ "extensions": extension(&sha256_hex(other)) }));
        assert_eq!(persisted.resolve(&mut alone, true), Err(Refusal::NotFound));
        let mut with_text = request(json!({ "query": other, "extensions": extension(&sha256_hex(other)) }));
        assert_eq!(persisted.resolve(&mut with_text, true), Ok(()));
        // Remembered once validated (here by hand).
        if let Some(learn) = with_text.data.get(&std::any::TypeId::of::<Learn>()) {
            persisted.learn(learn.downcast_ref::<Learn>().unwrap_or_else(|| panic!("a Learn")));
        }
        let mut again = request(json!({ "extensions": extension(&sha256_hex(other).to_uppercase()) }));
        assert_eq!(persisted.resolve(&mut again, true), Ok(()));
        assert_eq!(again.query, other);
    }

    #[test]
    fn a_wrong_hash_a_bad_extension_and_another_version_are_refused() {
        let persisted = persisted(false);
        let mut wrong = request(json!({ "query": THEMES, "extensions": extension(&sha256_hex("{ a }")) }));
        assert_eq!(persisted.resolve(&mut wrong, false), Err(Refusal::HashMismatch));
        for bad in [json!("x"), json!({ "version": 1 }), json!({ "version": 1, "sha256Hash": "abc" })] {
            let mut request = request(json!({ "query": THEMES, "extensions": { "persistedQuery": bad } }));
            assert_eq!(persisted.resolve(&mut request, false), Err(Refusal::Malformed));
        }
        let two = json!({ "persistedQuery": { "version": 2, "sha256Hash": sha256_hex(THEMES) } });
        let mut request = request(json!({ "query": THEMES, "extensions": two }));
        assert_eq!(persisted.resolve(&mut request, false), Err(Refusal::UnsupportedVersion));
    }

    #[test]
    fn trusted_documents_restrict_the_public_to_known_documents() {
        let persisted = persisted(true);
        let other = "{ regions(first: 1) { totalCount } }";
        for public in [true, false] {
            let mut by_text = request(json!({ "query": THEMES }));
            assert_eq!(persisted.resolve(&mut by_text, public), Ok(()));
            assert!(by_text.data.contains_key(&std::any::TypeId::of::<KnownDocument>()));
            let mut by_hash = request(json!({ "extensions": extension(&sha256_hex(THEMES)) }));
            assert_eq!(persisted.resolve(&mut by_hash, public), Ok(()));
            let mut unknown = request(json!({ "query": other }));
            let expected = if public { Err(Refusal::NotTrusted) } else { Ok(()) };
            assert_eq!(persisted.resolve(&mut unknown, public), expected);
            let mut unknown_hash = request(json!({ "extensions": extension(&sha256_hex(other)) }));
            let expected = if public { Refusal::NotTrusted } else { Refusal::NotFound };
            assert_eq!(persisted.resolve(&mut unknown_hash, public), Err(expected));
        }
    }
}
