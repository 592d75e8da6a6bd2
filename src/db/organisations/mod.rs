//! The organisation tree and partnerships: the tree's writer, which keeps the closure
//! (`organisation_ancestor`) in step in the writing transaction (`tree`), and its readers (`read`).

pub mod read;
pub mod tree;
