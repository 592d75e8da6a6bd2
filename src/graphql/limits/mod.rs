//! Query limits, checked before any resolver or SQL runs, and stable codes for the errors that
//! async-graphql itself raises: the `QueryLimits` extension, which runs the checks of each
//! module below at the step of a request it belongs to.
//!
//! A document not seen before goes through `lexical` (its raw text: bytes, tokens, bracket
//! nesting), is parsed once, and through `walk` (depth, fields with fragments expanded, aliases,
//! root fields, directives); `documents` keeps it parsed for the next time. `operation` chooses
//! the operation to run; introspection needs a token; `cost` refuses what costs too much after
//! validation, and charges the caller for the rest; `codes` gives async-graphql's own errors
//! their codes.

mod codes;
mod cost;
mod documents;
mod lexical;
mod operation;
mod walk;

use std::sync::Arc;

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
        NextValidation,
    },
    parser::types::{ExecutableDocument, OperationType},
};

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
    graphql::{batch::Batcher, loaders::Loaders},
};

/// The extension, added once to the schema; async-graphql makes a copy for each request, and the
/// copies share the documents kept parsed.
#[derive(Default)]
pub struct QueryLimits {
    documents: Arc<Documents>,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryLimits { documents: self.documents.clone() })
    }
}

/// The checks of a document not seen before: size and bracket nesting on the raw text first, so
/// a huge or 10,000-level document is refused in one linear pass instead of reaching the
/// recursive parser; then the parsed document's shape. The parsed document stays in the request,
/// so async-graphql does not parse it again. Returns the document and its introspection fields.
fn check(request: &mut Request) -> ServerResult<(&ExecutableDocument, usize)> {
    lexical::check_text(&request.query)?;
    let document = async_graphql::parser::parse_query(&request.query).map_err(codes::parse_failed)?;
    let shape = DocumentShape::of(&document);
    shape.check()?;
    request.set_parsed_query(document);
    let document = request.parsed_query()?;
    Ok((document, shape.introspection))
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
        cost::pay(ctx, result.complexity).map_err(|refused| vec![refused])?;
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        response.errors = codes::execution(response.errors);
        response
    }
}
