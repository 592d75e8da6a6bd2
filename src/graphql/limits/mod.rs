//! Query limits, checked before any resolver or SQL runs, and stable codes for the errors that
//! async-graphql itself raises: the `RequestHooks` extension, which runs the checks of each
//! module below at the step of a request it belongs to, and the audit's hooks (`graphql::audit`).
//! It is the schema's one extension: async-graphql boxes a future per extension for every field
//! it resolves once any is registered, so each one more costs every field of every query.
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
//! async-graphql's validation rules but still adds up the cost for the variables sent. A
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
    atomic::{AtomicUsize, Ordering},
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

pub(crate) use self::documents::Checked;
use self::{codes::with_code, documents::Documents, walk::DocumentShape};
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
        batch::Batcher,
        loaders::Loaders,
        persisted::{KnownDocument, Learn, Persisted},
    },
};

/// The extension, added once to the schema; async-graphql makes a copy for each request, and the
/// copies share the documents kept parsed and the persisted documents.
#[derive(Default)]
pub struct RequestHooks {
    documents: Arc<Documents>,
    persisted: Arc<Persisted>,
    /// This schema skips validation, so it runs known documents only (see `schema::Schemas`).
    known_only: bool,
}

impl RequestHooks {
    /// The extension of a schema that runs any document (`known_only` false), or of the schema
    /// that skips validation and so runs known documents only.
    pub fn new(persisted: Arc<Persisted>, known_only: bool) -> Self {
        Self { documents: Arc::default(), persisted, known_only }
    }
}

impl ExtensionFactory for RequestHooks {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestHooks {
            documents: self.documents.clone(),
            persisted: self.persisted.clone(),
            known_only: self.known_only,
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
    Ok(Checked { document, introspection: shape.introspection })
}

/// The checks of a document not seen before (`check_document`); the parsed document stays in the
/// request, so async-graphql does not parse it again.
fn check(request: &mut Request) -> ServerResult<(&ExecutableDocument, usize)> {
    let Checked { document, introspection } = check_document(&request.query)?;
    request.set_parsed_query(document);
    Ok((request.parsed_query()?, introspection))
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
fn data_of<T: Send + Sync + 'static>(request: &Request) -> Option<&T> {
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
        let rehearsal = data_of::<Arc<Rehearsal>>(&request).is_some();
        // A known document was checked at start-up, another may have been checked lately: either
        // comes parsed, and is cloned now.
        let kept;
        let seen = match &known {
            Some(known) => Some(&known.checked),
            // This schema skips validation: nothing but a known document may run on it.
            None if self.known_only => {
                tracing::error!("a document that is not known reached the schema for known documents");
                return Err(with_code(ServerError::new("internal error", None), code::INTERNAL));
            }
            None => {
                kept = self.documents.get(&request.query);
                kept.as_deref()
            }
        };
        let introspection = match seen {
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
        if data_of::<ReadOnly>(&request).is_some() {
            let operation_name = request.operation_name.clone();
            let chosen = operation(request.parsed_query()?, operation_name.as_deref())?;
            if chosen.node.ty != OperationType::Query {
                return Err(with_code(
                    ServerError::new(
                        "only queries run with GET /graphql: send mutations with POST, subscriptions over \
                         the WebSocket",
                        None,
                    ),
                    code::METHOD_NOT_ALLOWED,
                ));
            }
        }
        // Introspection is for authenticated callers; the public (and the playground, which
        // loads the schema from /schema.graphql) reads the published SDL instead.
        // (Over HTTP the viewer is in the request's data, over WebSocket in the connection's.)
        // (A rehearsal checks the document, not a caller: it may introspect.)
        let viewer = data_of::<Viewer>(&request).or_else(|| ctx.data_opt::<Viewer>());
        let public = viewer.is_none_or(|viewer| viewer.person_id().is_none());
        if public && introspection > 0 && !rehearsal {
            return Err(with_code(
                ServerError::new(
                    "introspection needs a token; the schema is published at /schema.graphql",
                    None,
                ),
                code::INTROSPECTION_DISABLED,
            ));
        }
        crate::graphql::audit::prepare(&mut request);
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
        if let Some(rehearsal) = ctx.data_opt::<Arc<Rehearsal>>() {
            rehearsal.0.store(result.complexity, Ordering::Relaxed);
        }
        cost::pay(ctx, result.complexity).map_err(|refused| vec![refused])?;
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
        let mut response = next.run(ctx, operation_name).await;
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
