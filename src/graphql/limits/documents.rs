//! Documents that passed the checks recently, kept parsed by their text.
//!
//! Clients send the same few documents over and over (a dashboard, an integration, the
//! playground's saved tabs), and async-graphql's parser is the costliest step of a small
//! request: a document seen before is cloned instead of parsed again. Bounded in number and
//! size; the oldest goes first.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use async_graphql::parser::types::ExecutableDocument;

/// How many documents are kept, and the longest one kept.
const KEPT_DOCUMENTS: usize = 256;
const KEPT_DOCUMENT_BYTES: usize = 16 * 1024;

/// The documents one schema has kept (shared by the per-request copies of its extension).
#[derive(Default)]
pub(super) struct Documents {
    kept: Mutex<Kept>,
}

/// The documents by text, and their texts oldest first.
#[derive(Default)]
struct Kept {
    by_text: HashMap<Arc<str>, Arc<Checked>>,
    order: VecDeque<Arc<str>>,
}

/// A document that passed the checks, with what the per-request checks still need (its
/// introspection fields).
pub(crate) struct Checked {
    pub(crate) document: ExecutableDocument,
    pub(crate) introspection: usize,
}

impl Documents {
    pub(super) fn get(&self, query: &str) -> Option<Arc<Checked>> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.by_text.get(query).cloned()
    }

    /// Keeps a copy of `document` (unless its text is too long to keep).
    pub(super) fn put(&self, query: &str, document: &ExecutableDocument, introspection: usize) {
        if query.len() > KEPT_DOCUMENT_BYTES {
            return;
        }
        let checked = Arc::new(Checked { document: document.clone(), introspection });
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Kept { by_text, order } = &mut *kept;
        let text: Arc<str> = Arc::from(query);
        if by_text.insert(text.clone(), checked).is_none() {
            order.push_back(text);
        }
        while order.len() > KEPT_DOCUMENTS {
            if let Some(oldest) = order.pop_front() {
                by_text.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::Request;

    use super::*;
    use crate::graphql::limits::check;

    #[test]
    fn checked_documents_are_kept_up_to_a_bound_oldest_first() {
        let documents = Documents::default();
        let text = |i: usize| format!("{{ a{i} }}");
        let put = |kept_as: &str, text: &str| {
            let mut request = Request::new(text);
            let (document, introspection) = check(&mut request).unwrap_or_else(|e| panic!("{}", e.message));
            documents.put(kept_as, document, introspection);
        };
        for i in 0..=KEPT_DOCUMENTS {
            put(&text(i), &text(i));
        }
        assert!(documents.get(&text(0)).is_none(), "the oldest went first");
        assert!(documents.get(&text(1)).is_some());
        let newest = documents.get(&text(KEPT_DOCUMENTS)).map(|c| c.document.operations.iter().count());
        assert_eq!(newest, Some(1));
        let long = format!("{{ a {} }}", "b ".repeat(KEPT_DOCUMENT_BYTES));
        put(&long, "{ a }");
        assert!(documents.get(&long).is_none(), "a long document is not kept");
    }
}
