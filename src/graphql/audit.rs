//! The audit's hooks: every root mutation field is recorded with its outcome (`OK`,
//! `USER_ERROR` with the codes, or the error that refused it), and every query that was refused
//! for lack of rights (`FORBIDDEN`, `UNAUTHENTICATED`) is recorded too. Each record names the
//! actor, the token, the action, the target when known, and the request id; never a token or an
//! e-mail address.
//!
//! The records are written after the operation, on the uncounted background handle (so the
//! statement counts of a request stay those of its work). A change to who may do what is also
//! recorded inside its own transaction (`db::audit::record`).
//!
//! The hooks run in the schema's one extension (`graphql::limits::RequestHooks`): async-graphql
//! boxes a future per extension for every field it resolves, so a second extension cost every
//! field of every query a box and a copy (3% of a dashboard page's instructions).

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    Request, Response, ServerResult, Value, Variables,
    extensions::{ExtensionContext, NextResolve, ResolveInfo},
    parser::types::OperationType,
};
use serde_json::json;

use crate::{
    auth::Viewer,
    db::{
        Db,
        audit::{self, Attempt},
        refusals::RefusalLog,
    },
    error::code,
    graphql::ids::{GlobalId, NodeType},
};

/// The client's address, for the audit log of the public's refused requests.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The request id (`x-request-id`) of the HTTP request or WebSocket upgrade, for the audit log.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    /// A client may send its own `x-request-id`: keep a short, printable form of it.
    pub fn new(raw: &str) -> Self {
        Self(raw.chars().filter(|c| c.is_ascii_graphic()).take(64).collect())
    }
}

/// The input fields that name what a mutation acts on, most specific first.
const SUBJECT_FIELDS: &[&str] = &[
    "need",
    "survivor",
    "commission",
    "round",
    "milestone",
    "summary",
    "membership",
    "token",
    "person",
    "municipality",
    "region",
    "organisation",
    "institution",
];

/// What the audit's hooks keep per request.
struct Stash {
    variables: Variables,
    mutation_seen: AtomicBool,
}

fn error_code(error: &async_graphql::ServerError) -> String {
    error
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_else(|| code::INTERNAL.to_owned())
}

/// The target named in a mutation's `input`, with the request's variables substituted.
fn input_subject(info: &ResolveInfo<'_>, variables: &Variables) -> Option<(NodeType, i32)> {
    let input = info.field.get_argument("input")?;
    let input = input.node.clone().into_const_with(|name| variables.get(&name).cloned().ok_or(())).ok()?;
    let Value::Object(fields) = input else {
        return None;
    };
    SUBJECT_FIELDS.iter().find_map(|name| match fields.get(*name) {
        Some(Value::String(id)) => GlobalId::decode(id).ok().map(|g| (g.node_type, g.key)),
        _ => None,
    })
}

/// Who acts, for an audit record: the person, their token, and the partnership whose log it goes
/// to (the first that manages one of their grants).
pub fn actor(viewer: Option<&Viewer>) -> (Option<i32>, Option<i32>, Option<i32>) {
    let identity = viewer.and_then(Viewer::identity);
    (
        identity.map(|i| i.person_id),
        identity.map(|i| i.token_id),
        identity.and_then(|i| i.grants.iter().find_map(|g| g.managed_by.first().copied())),
    )
}

/// Writes an attempt: a refusal through the refusal log, which counts its repeats on one event;
/// anything else as an event of its own.
async fn write(ctx: &ExtensionContext<'_>, attempt: Attempt) {
    if attempt.outcome == code::FORBIDDEN || attempt.outcome == code::UNAUTHENTICATED {
        if let Some(refusals) = ctx.data_opt::<RefusalLog>() {
            let address = ctx.data_opt::<ClientAddress>().map(|a| a.0);
            refusals.record(attempt, address).await;
        }
        return;
    }
    let Some(db) = ctx.data_opt::<Db>() else { return };
    if let Err(err) = audit::attempt(db.background(), attempt).await {
        tracing::error!(error = %err, "could not write an audit event");
    }
}

/// A root mutation field run and recorded: who, what, on which target, and how it ended.
async fn audited(
    ctx: &ExtensionContext<'_>,
    info: ResolveInfo<'_>,
    next: NextResolve<'_>,
) -> ServerResult<Option<Value>> {
    let stash = ctx.data_opt::<Arc<Stash>>().cloned();
    let request_id = ctx.data_opt::<RequestId>().map(|r| r.0.clone());
    let action = format!("mutation.{}", info.name);
    let from_input = stash.as_ref().and_then(|s| input_subject(&info, &s.variables));
    let (result, scope) = audit::scoped(request_id.clone(), next.run(ctx, info)).await;
    let (outcome, detail) = match &result {
        Err(error) => (error_code(error), None),
        Ok(_) if !scope.user_errors.is_empty() => {
            (audit::USER_ERROR.to_owned(), Some(json!({ "userErrors": scope.user_errors })))
        }
        Ok(_) => (audit::OK.to_owned(), None),
    };
    if let Some(stash) = &stash {
        stash.mutation_seen.store(true, Ordering::Relaxed);
    }
    let (person_id, token_id, partnership_id) = actor(ctx.data_opt::<Viewer>());
    let attempt = Attempt {
        person_id,
        token_id,
        action,
        target: scope.subject.or(from_input),
        partnership_id,
        outcome,
        detail,
        request_id,
    };
    write(ctx, attempt).await;
    result
}

/// Before a request runs: the variables are kept for the audit record's target, only when there
/// is a mutation to record (queries do not pay for the copy).
pub(crate) fn prepare(request: &mut Request) {
    let has_mutation = request.parsed_query().is_ok_and(|document| {
        document.operations.iter().any(|(_, op)| op.node.ty == OperationType::Mutation)
    });
    let variables = if has_mutation { request.variables.clone() } else { Variables::default() };
    request.data.insert(Arc::new(Stash { variables, mutation_seen: AtomicBool::new(false) }));
}

/// Each field as it resolves: a root mutation field is run and recorded.
pub(crate) async fn resolve(
    ctx: &ExtensionContext<'_>,
    info: ResolveInfo<'_>,
    next: NextResolve<'_>,
) -> ServerResult<Option<Value>> {
    if info.parent_type != "Mutation" || info.path_node.parent.is_some() {
        return next.run(ctx, info).await;
    }
    // Every field of every request passes here, in a future boxed for each: the mutation's
    // record is made in a future of its own, so the others' stays small (a larger one was
    // about 2% of a dashboard page's instructions, in copying it into its box).
    Box::pin(audited(ctx, info, next)).await
}

/// After a request ran: a query refused for lack of rights is recorded, once per refused field
/// (a mutation was recorded field by field as it ran).
pub(crate) async fn executed(ctx: &ExtensionContext<'_>, response: &Response) {
    let mutation = ctx.data_opt::<Arc<Stash>>().is_some_and(|s| s.mutation_seen.load(Ordering::Relaxed));
    if mutation {
        return;
    }
    let (person_id, token_id, partnership_id) = actor(ctx.data_opt::<Viewer>());
    let request_id = ctx.data_opt::<RequestId>().map(|r| r.0.clone());
    for error in &response.errors {
        let outcome = error_code(error);
        if outcome != code::FORBIDDEN && outcome != code::UNAUTHENTICATED {
            continue;
        }
        let path: Vec<String> = error
            .path
            .iter()
            .filter_map(|segment| match segment {
                async_graphql::PathSegment::Field(name) => Some(name.clone()),
                async_graphql::PathSegment::Index(_) => None,
            })
            .collect();
        let attempt = Attempt {
            person_id,
            token_id,
            action: format!("query.{}", path.join(".")),
            target: None,
            partnership_id,
            outcome,
            detail: None,
            request_id: request_id.clone(),
        };
        write(ctx, attempt).await;
    }
}
