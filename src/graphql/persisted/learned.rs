//! Documents learned from clients that sent a text with its hash, by hash, so the next request
//! may send the hash alone. Bounded in entries and in bytes of text, the oldest going first: a
//! client whose document was forgotten is told `PersistedQueryNotFound` and sends the text again,
//! so forgetting costs a round trip, never an answer. Per instance, in memory.

use std::sync::Arc;

use crate::graphql::fifo::Fifo;

/// How many documents are remembered, and how many bytes of text in all (a document is at most
/// `limits::MAX_DOCUMENT_BYTES`).
const LEARNED_DOCUMENTS: usize = 1_000;
const LEARNED_BYTES: usize = 4 * 1024 * 1024;

/// The texts by hash, weighed by their length.
pub(super) struct Learned(Fifo<Arc<str>>);

impl Default for Learned {
    fn default() -> Self {
        Self::within(LEARNED_DOCUMENTS, LEARNED_BYTES)
    }
}

impl Learned {
    fn within(documents: usize, bytes: usize) -> Self {
        Self(Fifo::new(documents, bytes))
    }

    pub(super) fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.0.get(hash)
    }

    /// Remembers `text` under `hash` (checked by the caller), forgetting the oldest past the bounds.
    pub(super) fn put(&self, hash: &str, text: &Arc<str>) {
        self.0.put(hash, text.clone(), text.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_documents_are_bounded_in_number_and_bytes_oldest_first() {
        let learned = Learned::within(3, 1_000);
        let text = |i: usize| -> Arc<str> { Arc::from(format!("{{ a{i:03} }}").as_str()) };
        for i in 0..5 {
            learned.put(&i.to_string(), &text(i));
        }
        assert!(learned.get("1").is_none(), "the oldest went first");
        assert_eq!(learned.get("4").as_deref(), Some("{ a004 }"));
        assert!(learned.get("2").is_some());
        // Each text is 8 bytes: 20 bytes hold two of them.
        let small = Learned::within(10, 20);
        for i in 0..3 {
            small.put(&i.to_string(), &text(i));
        }
        assert!(small.get("0").is_none());
        assert!(small.get("1").is_some() && small.get("2").is_some());
        small.put("long", &Arc::from("x".repeat(21).as_str()));
        assert!(small.get("long").is_none(), "a text above the bound is not kept");
        assert!(small.get("2").is_some(), "and forgets nothing");
    }
}
