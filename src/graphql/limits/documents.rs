//! Documents that passed the checks recently, kept parsed by their text.
//!
//! Clients send the same few documents over and over (a dashboard, an integration, the
//! playground's saved tabs), and async-graphql's parser is the costliest step of a small
//! request: a document seen before is cloned instead of parsed again. Bounded in number and
//! size; the oldest goes first. One that also passed async-graphql's validation rules once runs
//! without them after (`Checked::validated`), as a known document does.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::parser::types::ExecutableDocument;

use crate::graphql::fifo::Fifo;

/// How many documents are kept, and the longest one kept.
const KEPT_DOCUMENTS: usize = 256;
const KEPT_DOCUMENT_BYTES: usize = 16 * 1024;

/// The documents an instance has kept by text (shared by its schemas' extensions and by
/// `Persisted::resolve`, which finds them before a schema is chosen).
pub(crate) struct Documents {
    kept: Fifo<Arc<Checked>>,
}

impl Default for Documents {
    fn default() -> Self {
        Self { kept: Fifo::new(KEPT_DOCUMENTS, usize::MAX) }
    }
}

/// A document that passed the checks, with what the per-request checks still need (its
/// introspection fields), and whether it passed async-graphql's validation rules.
pub(crate) struct Checked {
    pub(crate) document: ExecutableDocument,
    pub(crate) introspection: usize,
    validated: AtomicBool,
}

impl Checked {
    pub(crate) fn new(document: ExecutableDocument, introspection: usize) -> Self {
        Self { document, introspection, validated: AtomicBool::new(false) }
    }

    /// Whether the document passed the validation rules (once is enough: they read the document
    /// and the schema, and the variables only for the values of arguments, which execution
    /// checks again with the same code).
    pub(crate) fn validated(&self) -> bool {
        self.validated.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_validated(&self) {
        self.validated.store(true, Ordering::Relaxed);
    }
}

impl Documents {
    pub(crate) fn get(&self, query: &str) -> Option<Arc<Checked>> {
        self.kept.get(query)
    }

    /// Keeps `checked` by its text (unless the text is too long to keep).
    pub(crate) fn put(&self, query: &str, checked: &Arc<Checked>) {
        if query.len() > KEPT_DOCUMENT_BYTES {
            return;
        }
        self.kept.put(query, checked.clone(), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::limits::check_document;

    #[test]
    fn checked_documents_are_kept_up_to_a_bound_oldest_first() {
        let documents = Documents::default();
        let text = |i: usize| format!("{{ a{i} }}");
        let put = |kept_as: &str, text: &str| {
            let checked = check_document(text).unwrap_or_else(|e| panic!("{}", e.message));
            documents.put(kept_as, &Arc::new(checked));
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
