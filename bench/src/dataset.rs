//! The datasets live in the library (`knowledge_hub::sample`), where tests use them too.

pub use knowledge_hub::sample::*;
