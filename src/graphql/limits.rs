//! Query limits, checked before any resolver or SQL runs, and stable codes for the errors that
//! async-graphql itself raises (parse, validation, argument coercion).
//!
//! Depth is measured here rather than with async-graphql's `limit_depth`, because that one also
//! counts introspection, and the introspection query GraphiQL sends is 13 levels deep. Data
//! fields get `MAX_DEPTH`; introspection subtrees get their own, larger bound, so a circular
//! introspection query (`__schema { types { fields { type { fields ... } } } }`) is still refused.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
        NextValidation,
    },
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use crate::error::code;

/// The deepest a query may nest data fields.
pub const MAX_DEPTH: usize = 10;
/// The deepest a query may nest introspection fields.
pub const MAX_INTROSPECTION_DEPTH: usize = 16;
/// The largest estimated cost of one operation (connections count their page size, see
/// `connection::cost`): a page of 100 clusters with 100 municipalities each is about 20,000.
pub const MAX_COMPLEXITY: usize = 50_000;
/// The deepest the raw document may nest brackets (`{`, `[`, `(`), checked before parsing.
pub const MAX_NESTING: usize = 64;

#[derive(Default)]
pub struct QueryLimits;

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits)
    }
}

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

fn too_deep(message: String) -> ServerError {
    with_code(ServerError::new(message, None), code::QUERY_TOO_DEEP)
}

/// The deepest nesting of `{`, `[` and `(` in a GraphQL document, ignoring strings and comments.
fn bracket_nesting(document: &str) -> usize {
    let bytes = document.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimits {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        // Bracket nesting is checked on the raw text first, so a 10,000-level document is
        // refused in one linear pass instead of reaching the recursive parser.
        let nesting = bracket_nesting(&request.query);
        if nesting > MAX_NESTING {
            return Err(too_deep(format!(
                "the document nests {nesting} levels of brackets, the limit is {MAX_NESTING}"
            )));
        }
        let depth = match request.parsed_query() {
            Ok(document) => Depth::of(document),
            Err(error) => return Err(with_code(error, code::GRAPHQL_PARSE_FAILED)),
        };
        if depth.data > MAX_DEPTH {
            return Err(too_deep(format!("query depth {} is above the limit of {MAX_DEPTH}", depth.data)));
        }
        if depth.introspection > MAX_INTROSPECTION_DEPTH {
            return Err(too_deep(format!(
                "introspection depth {} is above the limit of {MAX_INTROSPECTION_DEPTH}",
                depth.introspection
            )));
        }
        // The parsed document stays in the request, so async-graphql does not parse it again.
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables).await.map_err(|error| {
            // async-graphql's own recursion check (it counts inline fragments too) has no code
            // of its own; its message is the only way to tell it from a syntax error.
            let code = if error.message.contains("recursion") {
                code::QUERY_TOO_DEEP
            } else {
                code::GRAPHQL_PARSE_FAILED
            };
            with_code(error, code)
        })
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors.into_iter().map(|e| with_code(e, code::GRAPHQL_VALIDATION_FAILED)).collect::<Vec<_>>()
        })?;
        if result.complexity > MAX_COMPLEXITY {
            return Err(vec![with_code(
                ServerError::new(
                    format!("query cost {} is above the limit of {MAX_COMPLEXITY}", result.complexity),
                    None,
                ),
                code::QUERY_TOO_COMPLEX,
            )]);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        // Resolvers always set a code; an error without one comes from async-graphql coercing an
        // argument or variable (a wrong type, an unknown enum value), which the caller can fix.
        response.errors = response.errors.into_iter().map(|e| with_code(e, code::BAD_USER_INPUT)).collect();
        response
    }
}

/// The depth of the deepest data field and of the deepest introspection field of a document.
#[derive(Debug, Default, PartialEq, Eq)]
struct Depth {
    data: usize,
    introspection: usize,
}

impl Depth {
    fn of(document: &ExecutableDocument) -> Self {
        let mut walker = Walker { document, memo: HashMap::new(), active: Vec::new() };
        let mut depth = Depth::default();
        for (_, operation) in document.operations.iter() {
            let d = walker.selection_set(&operation.node.selection_set.node, false);
            depth.data = depth.data.max(d.data);
            depth.introspection = depth.introspection.max(d.introspection);
        }
        depth
    }
}

struct Walker<'a> {
    document: &'a ExecutableDocument,
    /// Depth below each fragment, so a document that spreads fragments many times over is
    /// measured in linear time, not exponential.
    memo: HashMap<(&'a str, bool), (usize, usize)>,
    /// Fragments being walked, to stop at cycles (validation rejects them later).
    active: Vec<&'a str>,
}

impl<'a> Walker<'a> {
    fn selection_set(&mut self, set: &'a SelectionSet, in_introspection: bool) -> Depth {
        let mut depth = Depth::default();
        for selection in &set.items {
            let (data, introspection) = match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let introspecting = in_introspection || name == "__schema" || name == "__type";
                    let below = self.selection_set(&field.node.selection_set.node, introspecting);
                    if introspecting {
                        (below.data, below.introspection + 1)
                    } else {
                        (below.data + 1, below.introspection)
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let below = self.selection_set(&fragment.node.selection_set.node, in_introspection);
                    (below.data, below.introspection)
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), in_introspection)
                }
            };
            depth.data = depth.data.max(data);
            depth.introspection = depth.introspection.max(introspection);
        }
        depth
    }

    fn fragment(&mut self, name: &'a str, in_introspection: bool) -> (usize, usize) {
        if let Some(known) = self.memo.get(&(name, in_introspection)) {
            return *known;
        }
        if self.active.contains(&name) {
            return (0, 0);
        }
        let Some((key, fragment)) = self.document.fragments.iter().find(|(k, _)| k.as_str() == name) else {
            return (0, 0);
        };
        self.active.push(key.as_str());
        let below = self.selection_set(&fragment.node.selection_set.node, in_introspection);
        self.active.pop();
        let result = (below.data, below.introspection);
        self.memo.insert((key.as_str(), in_introspection), result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(query: &str) -> Depth {
        Depth::of(&async_graphql::parser::parse_query(query).expect("parses"))
    }

    #[test]
    fn counts_data_fields_through_fragments() {
        assert_eq!(depth("{ a { b { c } } }"), Depth { data: 3, introspection: 0 });
        assert_eq!(depth("{ a { ...F } } fragment F on T { b { c { d } } }").data, 4);
        assert_eq!(depth("{ a { ... on T { b } } }").data, 2);
    }

    #[test]
    fn counts_introspection_apart() {
        let d = depth("{ a __schema { types { fields { type { ofType { name } } } } } }");
        assert_eq!(d, Depth { data: 1, introspection: 6 });
    }

    #[test]
    fn bracket_nesting_ignores_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a(x: [1, [2]]) { b } }"), 4);
        assert_eq!(
            bracket_nesting(
                r#"{ a(s: "{{{{[[[") # {{{{
            { b(t: """ {{{ \""" {{{ """) } }"#
            ),
            3
        );
        assert_eq!(bracket_nesting(&"{".repeat(10_000)), 10_000);
    }

    #[test]
    fn survives_fragment_cycles() {
        assert_eq!(depth("{ a { ...F } } fragment F on T { b { ...F } }").data, 2);
    }
}
