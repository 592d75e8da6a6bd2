//! Query limits, checked before any resolver or SQL runs, and stable codes for the errors that
//! async-graphql itself raises: the `RequestHooks` extension, which runs the checks of each
//! module below at the step of a request it belongs to, and the audit's hooks (`graphql::audit`).
//! It is the schema's one extension: async-graphql boxes a future per extension for every field
//! it resolves once any is registered, so each one more costs every field of every query. A
//! query that passed the checks is handed off (`Handoff`) to the same schema without the
//! extension, where its fields cost no hook at all; a mutation stays, for the audit's hook on
//! its root fields.
//!
//! A document not seen before goes through `lexical` (its raw text: bytes, tokens, bracket
//! nesting), is parsed once, and through `walk` (depth, fields with fragments expanded, aliases,
//! root fields, directives); `documents` keeps it parsed for the next time. `operation` chooses
//! the operation to run; introspection needs a token; `cost` refuses what costs too much after
//! validation, and charges the caller for the rest; `codes` gives async-graphql's own errors
//! their codes.
//!
//! A known document (`graphql::persisted`) passed these checks and validation at start-up: it
//! comes parsed with its request, and runs on the schema built for known documents, which skips
//! async-graphql's validation rules but still adds up the cost for the variables sent. A kept
//! document that passed the rules once (`Checked::validated`) runs there too. A
//! rehearsal (`rehearse`) runs every step up to execution and stops there: the start-up check of
//! known documents and the cost the `documents` command prints.

mod codes;
mod cost;
mod documents;
mod lexical;
mod operation;
mod walk;

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicUsize, Ordering},
};

use async_graphql::{
    ObjectType, Request, Response, Schema, ServerError, ServerResult, SubscriptionType, ValidationResult,
    Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
        NextResolve, NextValidation, ResolveInfo,
    },
    parser::types::{ExecutableDocument, OperationType},
};

pub(crate) use self::documents::{Checked, Documents};
use self::{codes::with_code, walk::DocumentShape};
pub use self::{
    cost::{MAX_COMPLEXITY, bounded},
    lexical::{MAX_DOCUMENT_BYTES, MAX_NESTING, MAX_TOKENS},
    operation::{is_subscription, operation},
    walk::{MAX_ALIASES, MAX_DEPTH, MAX_DIRECTIVES, MAX_FIELDS, MAX_INTROSPECTION_DEPTH, MAX_ROOT_FIELDS},
};
use crate::{
    auth::Viewer,
    error::code,
    graphql::{
        audit::{ClientAddress, RequestId},
        batch::Batcher,
        loaders::Loaders,
        persisted::{Kept, KnownDocument, Learn, Persisted},
        schema::HubSchema,
    },
};

/// The cost from which a query is handed off to the schema without the extension. The schema
/// that takes it validates it again (in async-graphql's fast mode, for nothing but the cost), a
/// fixed price of some 25,000 instructions, and saves 1,000-2,000 a field resolved: a point
/// lookup (Q2, cost 19) took 384k instructions run here and 401k handed off; a dashboard page
/// (Q1, cost 4,151) 8.32M here and 6.45M handed off.
const HANDOFF_COST: usize = 100;

/// Request data: a query to run on the schema without the extension once it passed the checks
/// (`RequestHooks::execute`), if its cost is at least `HANDOFF_COST` (`RequestHooks::validation`
/// says so): its document, variables and operation's name.
struct Handoff {
    checked: Arc<Checked>,
    variables: Variables,
    operation_name: Option<String>,
    worth_it: AtomicBool,
}

impl Handoff {
    fn new(checked: Arc<Checked>, request: &Request) -> Self {
        let (variables, operation_name) = (request.variables.clone(), request.operation_name.clone());
        Self { checked, variables, operation_name, worth_it: AtomicBool::new(false) }
    }

    /// The request to run on the schema without the extension, if the query is worth handing off.
    fn request(&self) -> Option<Request> {
        if !self.worth_it.load(Ordering::Relaxed) {
            return None;
        }
        let mut request = Request::new(String::new()).variables(self.variables.clone());
        request.operation_name = self.operation_name.clone();
        request.set_parsed_query(self.checked.document.clone());
        Some(request)
    }
}

/// The handed-off query with the request's data its resolvers read: the caller, the batcher it
/// loads through, and what the audit of a refusal names (over the WebSocket, the caller is the
/// connection's: `data_opt` finds either).
fn carry(ctx: &ExtensionContext<'_>, mut request: Request) -> Request {
    fn copy<T: Clone + Send + Sync + 'static>(ctx: &ExtensionContext<'_>, request: &mut Request) {
        if let Some(value) = ctx.data_opt::<T>() {
            request.data.insert(value.clone());
        }
    }
    copy::<Viewer>(ctx, &mut request);
    copy::<Batcher<Loaders>>(ctx, &mut request);
    copy::<RequestId>(ctx, &mut request);
    copy::<ClientAddress>(ctx, &mut request);
    request
}

/// The extension, added once to the schema; async-graphql makes a copy for each request, and the
/// copies share the documents kept parsed and the persisted documents.
#[derive(Default)]
pub struct RequestHooks {
    persisted: Arc<Persisted>,
    /// This schema skips validation, so it runs known and validated documents only (see
    /// `schema::Schemas`).
    skips_validation: bool,
    /// The same schema without this extension, where a query runs once it passed the checks
    /// (if it costs enough: `HANDOFF_COST`): async-graphql pays for a registered extension in
    /// every field it resolves (a lookup of the field's type by name, its type's name formatted,
    /// a boxed future per field), a fifth of a dashboard page's instructions, and a query needs
    /// no hook while it runs (the audit's `resolve` hook is for mutations). `None` for a schema
    /// without data (`bare_schema`).
    plain: Option<HubSchema>,
}

impl RequestHooks {
    /// The extension of a schema that runs any document (`skips_validation` false), or of the schema
    /// that skips validation and so runs known and validated documents only.
    pub fn new(persisted: Arc<Persisted>, skips_validation: bool, plain: Option<HubSchema>) -> Self {
        Self { persisted, skips_validation, plain }
    }
}

impl ExtensionFactory for RequestHooks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestHooks {
            persisted: self.persisted.clone(),
            skips_validation: self.skips_validation,
            plain: self.plain.clone(),
        })
    }
}

/// The checks of a document's text: size and bracket nesting on the raw text first, so a huge or
/// 10,000-level document is refused in one linear pass instead of reaching the recursive parser;
/// then the parsed document's shape. Returns the document and its introspection fields.
pub(crate) fn check_document(text: &str) -> ServerResult<Checked> {
    lexical::check_text(text)?;
    let document = async_graphql::parser::parse_query(text).map_err(codes::parse_failed)?;
    let shape = DocumentShape::of(&document);
    shape.check()?;
    Ok(Checked::new(document, shape.introspection))
}

/// Request data: the request came with `GET /graphql`, where only queries run
/// (`METHOD_NOT_ALLOWED` otherwise), so that a link or an image cannot change anything.
pub struct ReadOnly;

/// Request data that makes a request a rehearsal: checked and validated, its cost recorded here,
/// and never executed.
struct Rehearsal(AtomicUsize);

/// Runs `text` through every check up to execution, as the public would send it with no
/// variables (its variables' defaults apply), and stops there; returns its estimated cost, or
/// why it would be refused. Nothing runs and nobody pays.
pub async fn rehearse<Query, Mutation, Subscription>(
    schema: &Schema<Query, Mutation, Subscription>,
    text: &str,
) -> Result<usize, Vec<ServerError>>
where
    Query: ObjectType + 'static,
    Mutation: ObjectType + 'static,
    Subscription: SubscriptionType + 'static,
{
    let rehearsal = Arc::new(Rehearsal(AtomicUsize::new(0)));
    let response = schema.execute(Request::new(text).data(rehearsal.clone())).await;
    if response.errors.is_empty() { Ok(rehearsal.0.load(Ordering::Relaxed)) } else { Err(response.errors) }
}

/// A piece of a request's data, by its type (what the web layer or `rehearse` put there).
pub(crate) fn data_of<T: Send + Sync + 'static>(request: &Request) -> Option<&T> {
    request.data.get(&std::any::TypeId::of::<T>()).and_then(|data| data.downcast_ref::<T>())
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestHooks {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let known = data_of::<KnownDocument>(&request).map(|known| known.0.clone());
        let kept = data_of::<Kept>(&request).map(|kept| kept.0.clone());
        let rehearsal = data_of::<Arc<Rehearsal>>(&request).is_some();
        // A known document was checked at start-up, another may have been checked lately: either
        // comes parsed, and is cloned now.
        let checked = match (known, kept) {
            (Some(known), _) => known.checked.clone(),
            (None, Some(kept)) if kept.validated() => kept,
            // This schema skips validation: nothing but a known or validated document may run on it.
            _ if self.skips_validation => {
                tracing::error!(
                    "a document neither known nor validated reached the schema that skips validation"
                );
                return Err(with_code(ServerError::new("internal error", None), code::INTERNAL));
            }
            (None, Some(kept)) => kept,
            // Not resolved by `Persisted::resolve` (a rehearsal, say), or not kept yet.
            (None, None) => {
                let kept = self.persisted.kept();
                let checked = match kept.get(&request.query) {
                    Some(checked) => checked,
                    None => {
                        let checked = Arc::new(check_document(&request.query)?);
                        kept.put(&request.query, &checked);
                        checked
                    }
                };
                request.data.insert(Kept(checked.clone()));
                checked
            }
        };
        let kind = operation(&checked.document, request.operation_name.as_deref())?.node.ty;
        request.set_parsed_query(checked.document.clone());
        if data_of::<ReadOnly>(&request).is_some() && kind != OperationType::Query {
            return Err(with_code(
                ServerError::new(
                    "only queries run with GET /graphql: send mutations with POST, subscriptions over the \
                     WebSocket",
                    None,
                ),
                code::METHOD_NOT_ALLOWED,
            ));
        }
        // Introspection is for authenticated callers; the public (and the playground, which
        // loads the schema from /schema.graphql) reads the published SDL instead.
        // (Over HTTP the viewer is in the request's data, over WebSocket in the connection's.)
        // (A rehearsal checks the document, not a caller: it may introspect.)
        let viewer = data_of::<Viewer>(&request).or_else(|| ctx.data_opt::<Viewer>());
        let public = viewer.is_none_or(|viewer| viewer.person_id().is_none());
        if public && checked.introspection > 0 && !rehearsal {
            return Err(with_code(
                ServerError::new(
                    "introspection needs a token; the schema is published at /schema.graphql",
                    None,
                ),
                code::INTROSPECTION_DISABLED,
            ));
        }
        crate::graphql::audit::prepare(&mut request);
        if kind == OperationType::Query && self.plain.is_some() && !rehearsal {
            let handoff = Handoff::new(checked, &request);
            request.data.insert(handoff);
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
        let document =
            next.run(ctx, query, variables).await.map_err(|error| codes::parse_step(error, query))?;
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
        let result = next.run(ctx).await.map_err(|errors| codes::validation(errors, public))?;
        // The rules passed (this schema runs them all): the document runs without them from now.
        if !self.skips_validation
            && let Some(kept) = ctx.data_opt::<Kept>()
        {
            kept.0.mark_validated();
        }
        if let Some(rehearsal) = ctx.data_opt::<Arc<Rehearsal>>() {
            rehearsal.0.store(result.complexity, Ordering::Relaxed);
        }
        cost::pay(ctx, result.complexity).map_err(|refused| vec![refused])?;
        if result.complexity >= HANDOFF_COST
            && let Some(handoff) = ctx.data_opt::<Handoff>()
        {
            handoff.worth_it.store(true, Ordering::Relaxed);
        }
        // A document sent with its hash is remembered once it passed validation, as the automatic
        // persisted queries convention does, so that what is remembered would run.
        if let Some(learn) = ctx.data_opt::<Learn>() {
            self.persisted.learn(learn);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if ctx.data_opt::<Arc<Rehearsal>>().is_some() {
            return Response::new(Value::Null);
        }
        let handoff = ctx.data_opt::<Handoff>().and_then(Handoff::request);
        let mut response = match (handoff, &self.plain) {
            (Some(request), Some(plain)) => plain.execute(carry(ctx, request)).await,
            _ => next.run(ctx, operation_name).await,
        };
        crate::graphql::audit::executed(ctx, &response).await;
        response.errors = codes::execution(response.errors);
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        crate::graphql::audit::resolve(ctx, info, next).await
    }
}
