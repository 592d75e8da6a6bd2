//! Documents learned from clients that sent a text with its hash, by hash, so the next request
//! may send the hash alone. Bounded in entries and in bytes of text, the oldest going first: a
//! client whose document was forgotten is told `PersistedQueryNotFound` and sends the text again,
//! so forgetting costs a round trip, never an answer. Per instance, in memory.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

/// How many documents are remembered, and how many bytes of text in all (a document is at most
/// `limits::MAX_DOCUMENT_BYTES`).
const LEARNED_DOCUMENTS: usize = 1_000;
const LEARNED_BYTES: usize = 4 * 1024 * 1024;

#[derive(Default)]
pub(super) struct Learned {
    inner: Mutex<Inner>,
}

/// The texts by hash, the hashes oldest first, and the bytes of text held.
#[derive(Default)]
struct Inner {
    by_hash: HashMap<Arc<str>, Arc<str>>,
    order: VecDeque<Arc<str>>,
    bytes: usize,
}

impl Learned {
    pub(super) fn get(&self, hash: &str) -> Option<Arc<str>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).by_hash.get(hash).cloned()
    }

    /// Remembers `text` under `hash` (checked by the caller), forgetting the oldest past the bounds.
    pub(super) fn put(&self, hash: &str, text: &Arc<str>) {
        self.put_within(hash, text, LEARNED_DOCUMENTS, LEARNED_BYTES);
    }

    fn put_within(&self, hash: &str, text: &Arc<str>, documents: usize, bytes: usize) {
        if text.len() > bytes {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Inner { by_hash, order, bytes: held } = &mut *inner;
        if by_hash.contains_key(hash) {
            return;
        }
        let hash: Arc<str> = Arc::from(hash);
        by_hash.insert(hash.clone(), text.clone());
        order.push_back(hash);
        *held += text.len();
        while order.len() > documents || *held > bytes {
            let Some(oldest) = order.pop_front() else { break };
            if let Some(text) = by_hash.remove(&oldest) {
                *held -= text.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_documents_are_bounded_in_number_and_bytes_oldest_first() {
        let learned = Learned::default();
        let text = |i: usize| -> Arc<str> { Arc::from(format!("{{ a{i:03} }}").as_str()) };
        for i in 0..5 {
            learned.put_within(&i.to_string(), &text(i), 3, 1_000);
        }
        assert!(learned.get("1").is_none(), "the oldest went first");
        assert_eq!(learned.get("4").as_deref(), Some("{ a004 }"));
        assert!(learned.get("2").is_some());
        // Each text is 8 bytes: 20 bytes hold two of them.
        let small = Learned::default();
        for i in 0..3 {
            small.put_within(&i.to_string(), &text(i), 10, 20);
        }
        assert!(small.get("0").is_none());
        assert!(small.get("1").is_some() && small.get("2").is_some());
        small.put_within("long", &Arc::from("x".repeat(21).as_str()), 10, 20);
        assert!(small.get("long").is_none(), "a text above the bound is not kept");
        assert!(small.get("2").is_some(), "and forgets nothing");
    }
}
