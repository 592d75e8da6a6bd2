//! The operation a request runs, chosen here rather than by async-graphql (the same choice, but
//! its refusal has no code), and whether that operation is a subscription.

use async_graphql::{
    Positioned, ServerError, ServerResult,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, OperationType},
};

use super::{codes::with_code, lexical::check_text};
use crate::error::code;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
