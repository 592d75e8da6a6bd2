//! The shape of a parsed document, measured in one memoised walk: the depth of its data fields
//! and of its introspection fields, its field selections with every fragment spread expanded,
//! its aliases, the fields at the root of an operation, and the directives on one selection.
//!
//! Depth is measured here rather than with async-graphql's `limit_depth`, because that one also
//! counts introspection, and the introspection query GraphiQL sends is 13 levels deep. Data
//! fields get `MAX_DEPTH`; introspection subtrees get their own, larger bound, so a circular
//! introspection query (`__schema { types { fields { type { fields ... } } } }`) is still refused.

use std::collections::HashMap;

use async_graphql::{
    ServerResult,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::codes::{too_deep, too_large};

/// The deepest a query may nest data fields.
pub const MAX_DEPTH: usize = 10;
/// The deepest a query may nest introspection fields.
pub const MAX_INTROSPECTION_DEPTH: usize = 16;
/// The most field selections in one document, with every fragment spread expanded, so that
/// neither duplicated fields nor fragments spread many times over can make validation slow.
pub const MAX_FIELDS: usize = 500;
/// The most aliased fields in one document (fragments expanded).
pub const MAX_ALIASES: usize = 100;
/// The most fields at the root of one operation.
pub const MAX_ROOT_FIELDS: usize = 20;
/// The most directives on one field or fragment.
pub const MAX_DIRECTIVES: usize = 4;

/// What the limits look at in a selection set, fragments expanded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shape {
    /// Depth of the deepest data field.
    data: usize,
    /// Depth of the deepest introspection field (`__schema`, `__type` and below).
    introspection: usize,
    /// Field selections (saturating).
    fields: usize,
    /// Aliased fields (saturating).
    aliases: usize,
    /// Fields directly at this level, through inline fragments and spreads.
    width: usize,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.data = self.data.max(other.data);
        self.introspection = self.introspection.max(other.introspection);
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.width = self.width.saturating_add(other.width);
    }
}

/// The shape of a whole document: the largest of its operations, and the most directives found
/// on one field or fragment.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct DocumentShape {
    data: usize,
    /// Depth of the deepest introspection field: the caller needs a token when it is not 0.
    pub(super) introspection: usize,
    fields: usize,
    aliases: usize,
    root_fields: usize,
    directives: usize,
}

impl DocumentShape {
    pub(super) fn of(document: &ExecutableDocument) -> Self {
        let mut walker = Walker { document, memo: HashMap::new(), active: Vec::new(), directives: 0 };
        let mut shape = DocumentShape::default();
        for (_, operation) in document.operations.iter() {
            walker.directives = walker.directives.max(operation.node.directives.len());
            let s = walker.selection_set(&operation.node.selection_set.node, false);
            shape.data = shape.data.max(s.data);
            shape.introspection = shape.introspection.max(s.introspection);
            shape.fields = shape.fields.max(s.fields);
            shape.aliases = shape.aliases.max(s.aliases);
            shape.root_fields = shape.root_fields.max(s.width);
        }
        // Fragments no operation uses are walked too: validation would.
        for (name, _) in document.fragments.iter() {
            walker.fragment(name.as_str(), false);
        }
        shape.directives = walker.directives;
        shape
    }

    pub(super) fn check(&self) -> ServerResult<()> {
        let over = |what: &str, n: usize, limit: usize| {
            too_large(format!("the document has {n} {what}, the limit is {limit}"))
        };
        if self.data > MAX_DEPTH {
            return Err(too_deep(format!("query depth {} is above the limit of {MAX_DEPTH}", self.data)));
        }
        if self.introspection > MAX_INTROSPECTION_DEPTH {
            return Err(too_deep(format!(
                "introspection depth {} is above the limit of {MAX_INTROSPECTION_DEPTH}",
                self.introspection
            )));
        }
        if self.fields > MAX_FIELDS {
            return Err(over("fields (fragments expanded)", self.fields, MAX_FIELDS));
        }
        if self.aliases > MAX_ALIASES {
            return Err(over("aliases", self.aliases, MAX_ALIASES));
        }
        if self.root_fields > MAX_ROOT_FIELDS {
            return Err(over("root fields in one operation", self.root_fields, MAX_ROOT_FIELDS));
        }
        if self.directives > MAX_DIRECTIVES {
            return Err(over("directives on one selection", self.directives, MAX_DIRECTIVES));
        }
        Ok(())
    }
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    /// The shape below each fragment, so a document that spreads fragments many times over is
    /// measured in linear time, not exponential.
    memo: HashMap<(&'a str, bool), Shape>,
    /// Fragments being walked, to stop at cycles (validation rejects them later).
    active: Vec<&'a str>,
    /// The most directives seen on one selection.
    directives: usize,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, in_introspection: bool) -> Shape {
        let mut shape = Shape::default();
        for selection in &set.items {
            let below = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.directives = self.directives.max(field.directives.len());
                    let name = field.name.node.as_str();
                    let introspecting = in_introspection || name == "__schema" || name == "__type";
                    let below = self.selection_set(&field.selection_set.node, introspecting);
                    let (data, introspection) = if introspecting {
                        (below.data, below.introspection + 1)
                    } else {
                        (below.data + 1, below.introspection)
                    };
                    Shape {
                        data,
                        introspection,
                        fields: below.fields.saturating_add(1),
                        aliases: below.aliases.saturating_add(usize::from(field.alias.is_some())),
                        width: 1,
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.directives = self.directives.max(fragment.node.directives.len());
                    self.selection_set(&fragment.node.selection_set.node, in_introspection)
                }
                Selection::FragmentSpread(spread) => {
                    self.directives = self.directives.max(spread.node.directives.len());
                    self.fragment(spread.node.fragment_name.node.as_str(), in_introspection)
                }
            };
            shape.add(below);
        }
        shape
    }

    fn fragment(&mut self, name: &'a str, in_introspection: bool) -> Shape {
        if let Some(known) = self.memo.get(&(name, in_introspection)) {
            return *known;
        }
        if self.active.contains(&name) {
            return Shape::default();
        }
        let Some((key, fragment)) = self.document.fragments.iter().find(|(k, _)| k.as_str() == name) else {
            return Shape::default();
        };
        self.directives = self.directives.max(fragment.node.directives.len());
        self.active.push(key.as_str());
        let below = self.selection_set(&fragment.node.selection_set.node, in_introspection);
        self.active.pop();
        self.memo.insert((key.as_str(), in_introspection), below);
        below
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(query: &str) -> DocumentShape {
        DocumentShape::of(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn counts_data_fields_through_fragments() {
        let d = depth("{ a { b { c } } }");
        assert_eq!((d.data, d.introspection, d.fields), (3, 0, 3));
        assert_eq!(depth("{ a { ...F } } fragment F on T { b { c { d } } }").data, 4);
        assert_eq!(depth("{ a { ... on T { b } } }").data, 2);
    }

    #[test]
    fn counts_introspection_apart() {
        let d = depth("{ a __schema { types { fields { type { ofType { name } } } } } }");
        assert_eq!((d.data, d.introspection), (1, 6));
    }

    #[test]
    fn measures_width_aliases_directives_and_expanded_fields() {
        let d = depth(
            "query { a: x b: x ...F c @skip(if: true) @include(if: true) } fragment F on Q { d e: y { z } }",
        );
        assert_eq!((d.root_fields, d.aliases, d.directives, d.fields), (5, 3, 2, 6));
        // Fragments spread three times at each of 12 levels: 3^12 fields, measured without
        // walking them.
        let mut doc = String::from("{ ...F0 }");
        for level in 0..12 {
            doc.push_str(&format!(" fragment F{level} on Q {{ ...F{n} ...F{n} ...F{n} }}", n = level + 1));
        }
        doc.push_str(" fragment F12 on Q { a }");
        assert_eq!(depth(&doc).fields, 3usize.pow(12));
    }

    #[test]
    fn survives_fragment_cycles() {
        assert_eq!(depth("{ a { ...F } } fragment F on T { b { ...F } }").data, 2);
    }
}
