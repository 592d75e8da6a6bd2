//! Query limits, checked before any resolver or SQL runs, and stable codes for the errors that
//! async-graphql itself raises (parse, validation, argument coercion).
//!
//! Depth is measured here rather than with async-graphql's `limit_depth`, because that one also
//! counts introspection, and the introspection query GraphiQL sends is 13 levels deep. Data
//! fields get `MAX_DEPTH`; introspection subtrees get their own, larger bound, so a circular
//! introspection query (`__schema { types { fields { type { fields ... } } } }`) is still refused.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use async_graphql::{
    Positioned, Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
        NextValidation,
    },
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection, SelectionSet,
    },
};

use crate::{
    auth::Viewer,
    error::code,
    graphql::{batch::Batcher, loaders::Loaders},
    rate_limit::{self, Payment},
};

/// The deepest a query may nest data fields.
pub const MAX_DEPTH: usize = 10;
/// The deepest a query may nest introspection fields.
pub const MAX_INTROSPECTION_DEPTH: usize = 16;
/// The largest estimated cost of one operation (connections count their page size, see
/// `connection::cost`): a page of 100 clusters with 100 municipalities each is about 20,000.
pub const MAX_COMPLEXITY: usize = 50_000;

/// The cost of a plain list whose length has a hard bound in the data (a need's themes, one
/// per theme; a round's criteria, at most `domain::rounds::MAX_CRITERIA`): the bound times what
/// each item costs. Lists without such a bound are connections, priced by their page size
/// (`connection::cost`).
pub fn bounded(bound: usize, child_complexity: usize) -> usize {
    bound.max(1).saturating_mul(child_complexity).saturating_add(1)
}
/// The deepest the raw document may nest brackets (`{`, `[`, `(`), checked before parsing.
pub const MAX_NESTING: usize = 64;
/// The largest document, in bytes and in lexical tokens, checked before parsing.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
pub const MAX_TOKENS: usize = 10_000;
/// The most field selections in one document, with every fragment spread expanded, so that
/// neither duplicated fields nor fragments spread many times over can make validation slow.
pub const MAX_FIELDS: usize = 500;
/// The most aliased fields in one document (fragments expanded).
pub const MAX_ALIASES: usize = 100;
/// The most fields at the root of one operation.
pub const MAX_ROOT_FIELDS: usize = 20;
/// The most directives on one field or fragment.
pub const MAX_DIRECTIVES: usize = 4;

#[derive(Default)]
pub struct QueryLimits {
    documents: Arc<Documents>,
}

/// Documents that passed the checks recently, parsed, by their text. Clients send the same few
/// documents over and over (a dashboard, an integration, the playground's saved tabs), and
/// async-graphql's parser is the costliest step of a small request: a document seen before is
/// cloned instead of parsed again. Bounded in number and size; the oldest goes first.
#[derive(Default)]
struct Documents {
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
struct Checked {
    document: ExecutableDocument,
    introspection: usize,
}

/// How many documents are kept, and the longest one kept.
const KEPT_DOCUMENTS: usize = 256;
const KEPT_DOCUMENT_BYTES: usize = 16 * 1024;

impl Documents {
    fn get(&self, query: &str) -> Option<Arc<Checked>> {
        let kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.by_text.get(query).cloned()
    }

    /// Keeps a copy of `document` (unless its text is too long to keep).
    fn put(&self, query: &str, document: &ExecutableDocument, introspection: usize) {
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

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits { documents: self.documents.clone() })
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

fn too_large(message: String) -> ServerError {
    with_code(ServerError::new(message, None), code::QUERY_TOO_LARGE)
}

/// What a linear scan of the raw text finds: the deepest nesting of `{`, `[` and `(`, and the
/// number of lexical tokens (strings and comments are skipped over, a string is one token).
#[derive(Debug, PartialEq, Eq)]
struct Lexed {
    nesting: usize,
    tokens: usize,
}

fn lex(document: &str) -> Lexed {
    let bytes = document.as_bytes();
    let (mut depth, mut deepest, mut tokens, mut i) = (0usize, 0usize, 0usize, 0usize);
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' || b == b'+';
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                tokens += 1;
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                tokens += 1;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                tokens += 1;
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => {
                tokens += 1;
                depth = depth.saturating_sub(1);
            }
            b if word(b) => {
                tokens += 1;
                while i + 1 < bytes.len() && word(bytes[i + 1]) {
                    i += 1;
                }
            }
            b if b.is_ascii_whitespace() || b == b',' => {}
            _ => tokens += 1,
        }
        i += 1;
    }
    Lexed { nesting: deepest, tokens }
}

/// The checks of a document not seen before: size and bracket nesting on the raw text first, so
/// a huge or 10,000-level document is refused in one linear pass instead of reaching the
/// recursive parser; then the parsed document's shape. The parsed document stays in the request,
/// so async-graphql does not parse it again. Returns the document and its introspection fields.
fn check(request: &mut Request) -> ServerResult<(&ExecutableDocument, usize)> {
    check_text(&request.query)?;
    let document = async_graphql::parser::parse_query(&request.query).map_err(parse_failed)?;
    let shape = DocumentShape::of(&document);
    shape.check()?;
    request.set_parsed_query(document);
    let document = request.parsed_query()?;
    Ok((document, shape.introspection))
}

/// A document the parser refuses: `GRAPHQL_PARSE_FAILED`, but for an anonymous operation beside
/// others, which no `operationName` can choose (`OPERATION_RESOLUTION_FAILURE`).
fn parse_failed(error: async_graphql::parser::Error) -> ServerError {
    if let async_graphql::parser::Error::MultipleOperations { .. } = error {
        let mut refused: ServerError = error.into();
        refused.message = "the document has an anonymous operation beside others: name every operation \
                           and choose one with operationName"
            .to_owned();
        return with_code(refused, code::OPERATION_RESOLUTION_FAILURE);
    }
    with_code(error.into(), code::GRAPHQL_PARSE_FAILED)
}

/// The operation a request runs: the one `operation_name` names, or the document's only one;
/// otherwise `OPERATION_RESOLUTION_FAILURE`, saying what to send. (async-graphql picks the same,
/// but its refusal has no code.)
pub fn operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> ServerResult<&'d Positioned<OperationDefinition>> {
    let names = || {
        let mut names: Vec<String> =
            document.operations.iter().filter_map(|(name, _)| Some(format!("\"{}\"", name?))).collect();
        names.sort();
        names.truncate(10);
        names.join(", ")
    };
    let refused =
        |message: String| with_code(ServerError::new(message, None), code::OPERATION_RESOLUTION_FAILURE);
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), None) => Ok(operation),
        (DocumentOperations::Single(_), Some(name)) => Err(refused(format!(
            "operationName is \"{name}\" but the document's only operation has no name: leave operationName \
             out, or name the operation"
        ))),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name).ok_or_else(|| {
            refused(format!(
                "the document has no operation named \"{name}\": operationName must be one of {}",
                names()
            ))
        }),
        (DocumentOperations::Multiple(operations), None) => match operations.values().next() {
            Some(operation) if operations.len() == 1 => Ok(operation),
            _ => Err(refused(format!(
                "the document has {} operations ({}): send operationName to choose one",
                operations.len(),
                names()
            ))),
        },
    }
}

/// The checks on the raw text, before anything parses it: size, bracket nesting, tokens.
fn check_text(query: &str) -> ServerResult<()> {
    let bytes = query.len();
    if bytes > MAX_DOCUMENT_BYTES {
        return Err(too_large(format!("the document has {bytes} bytes, the limit is {MAX_DOCUMENT_BYTES}")));
    }
    let lexed = lex(query);
    if lexed.nesting > MAX_NESTING {
        return Err(too_deep(format!(
            "the document nests {} levels of brackets, the limit is {MAX_NESTING}",
            lexed.nesting
        )));
    }
    if lexed.tokens > MAX_TOKENS {
        return Err(too_large(format!(
            "the document has {} tokens, the limit is {MAX_TOKENS}",
            lexed.tokens
        )));
    }
    Ok(())
}

/// Whether the operation a request runs is a subscription, for the WebSocket layer, which lets
/// identical subscriptions share one execution. A document that fails the raw checks or does not
/// parse is not one: it runs on its own, and its execution reports why.
pub fn is_subscription(query: &str, operation_name: Option<&str>) -> bool {
    if check_text(query).is_err() {
        return false;
    }
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    operation(&document, operation_name).is_ok_and(|op| op.node.ty == OperationType::Subscription)
}

#[async_graphql::async_trait::async_trait]
impl Extension for QueryLimits {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let introspection = match self.documents.get(&request.query) {
            Some(checked) => {
                operation(&checked.document, request.operation_name.as_deref())?;
                request.set_parsed_query(checked.document.clone());
                checked.introspection
            }
            None => {
                let query = request.query.clone();
                let operation_name = request.operation_name.clone();
                let (document, introspection) = check(&mut request)?;
                self.documents.put(&query, document, introspection);
                operation(document, operation_name.as_deref())?;
                introspection
            }
        };
        // Introspection is for authenticated callers; the public (and the playground, which
        // loads the schema from /schema.graphql) reads the published SDL instead.
        // (Over HTTP the viewer is in the request's data, over WebSocket in the connection's.)
        let viewer = request
            .data
            .get(&std::any::TypeId::of::<Viewer>())
            .and_then(|data| data.downcast_ref::<Viewer>())
            .or_else(|| ctx.data_opt::<Viewer>());
        let public = viewer.is_none_or(|viewer| viewer.person_id().is_none());
        if public && introspection > 0 {
            return Err(with_code(
                ServerError::new(
                    "introspection needs a token; the schema is published at /schema.graphql",
                    None,
                ),
                code::INTROSPECTION_DISABLED,
            ));
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
        let document = next.run(ctx, query, variables).await.map_err(|error| {
            // async-graphql's own recursion check (it counts inline fragments too) has no code
            // of its own; its message is the only way to tell it from a syntax error.
            let code = if error.message.contains("recursion") {
                code::QUERY_TOO_DEEP
            } else {
                code::GRAPHQL_PARSE_FAILED
            };
            with_code(error, code)
        })?;
        // A document of queries only cannot change a row under the request's feet: its batcher
        // may keep the reference tables it reads (see `graphql::batch`).
        if document.operations.iter().all(|(_, op)| op.node.ty == OperationType::Query)
            && let Some(batcher) = ctx.data_opt::<Batcher<Loaders>>()
        {
            batcher.keep_reference_tables();
        }
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // Field and argument suggestions ("Did you mean ...?") are for authenticated callers.
        let public = ctx.data_opt::<Viewer>().is_none_or(|viewer| viewer.person_id().is_none());
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|mut e| {
                    if public && let Some(at) = e.message.find(" Did you mean") {
                        e.message.truncate(at);
                    }
                    // A value that does not fit its type (a variable most often: a string for an
                    // Int, a number out of range) is the caller's input, not the document.
                    let bad_value = ["Invalid value for argument", "Failed to parse", "Expected input type"]
                        .iter()
                        .any(|start| e.message.starts_with(start));
                    with_code(
                        e,
                        if bad_value { code::BAD_USER_INPUT } else { code::GRAPHQL_VALIDATION_FAILED },
                    )
                })
                .collect::<Vec<_>>()
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
        // The caller pays for the request now that its complexity is known, before it runs.
        if let Some(payment) = ctx.data_opt::<Arc<Payment>>()
            && let Err(exhausted) = payment.pay(rate_limit::cost(result.complexity))
        {
            let mut error = ServerError::new(
                format!(
                    "the rate limit of {} points per hour is spent; this request costs {}; retry in {} s",
                    exhausted.limit,
                    exhausted.cost,
                    exhausted.retry_after.as_secs()
                ),
                None,
            );
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("retryAfter", exhausted.retry_after.as_secs());
            return Err(vec![with_code(error, code::RATE_LIMITED)]);
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
struct DocumentShape {
    data: usize,
    introspection: usize,
    fields: usize,
    aliases: usize,
    root_fields: usize,
    directives: usize,
}

impl DocumentShape {
    fn of(document: &ExecutableDocument) -> Self {
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

    fn check(&self) -> ServerResult<()> {
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
    fn tells_subscriptions_from_other_operations() {
        assert!(is_subscription("subscription { needEvents { kind } }", None));
        assert!(is_subscription("subscription S { needEvents { kind } }", None));
        assert!(!is_subscription("{ regions { totalCount } }", None));
        assert!(!is_subscription("mutation { a }", None));
        let two = "query Q { a } subscription S { needEvents { kind } }";
        assert!(is_subscription(two, Some("S")));
        assert!(!is_subscription(two, Some("Q")));
        assert!(!is_subscription(two, None), "ambiguous: runs alone and fails there");
        assert!(!is_subscription("subscription {", None), "does not parse");
        assert!(!is_subscription(&format!("subscription {}", "{".repeat(100)), None), "too deep to parse");
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
    fn lexing_ignores_strings_and_comments() {
        assert_eq!(lex("{ a(x: [1, [2]]) { b } }"), Lexed { nesting: 4, tokens: 16 });
        assert_eq!(
            lex(r#"{ a(s: "{{{{[[[") # {{{{
            { b(t: """ {{{ \""" {{{ """) } }"#)
            .nesting,
            3
        );
        assert_eq!(lex(&"{".repeat(10_000)).nesting, 10_000);
        assert_eq!(lex("query($v: Int = -1.5e3) { a @include(if: true) }").tokens, 19);
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
