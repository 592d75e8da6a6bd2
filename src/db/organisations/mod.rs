//! The organisation tree and partnerships: the tree's writer, which keeps the closure
//! (`organisation_ancestor`) in step in the writing transaction (`tree`), its readers (`read`), and
//! coordinators' edits of the tree and its typed rows, each audited (`write`).

pub mod read;
pub mod tree;
pub mod write;
