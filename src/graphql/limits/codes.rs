//! Stable `extensions.code` values for the errors async-graphql raises itself (a document that
//! does not parse, its own check of a parsed document, validation, coercing an argument while
//! executing), suggestions stripped for the public, and the one way a code is set.

use async_graphql::{ServerError, parser};

use crate::error::code;

/// Where async-graphql's validation appends a suggestion ("Did you mean \"name\"?") to an
/// unknown field's or argument's message (the rules `FieldsOnCorrectType` and
/// `KnownArgumentNames`). Suggestions are for authenticated callers.
const SUGGESTION: &str = " Did you mean";

/// How the validation messages about a value that does not fit its type begin (a variable's
/// value most often: a string for an Int, a number out of range). That is the caller's input,
/// not the document: `BAD_USER_INPUT` rather than `GRAPHQL_VALIDATION_FAILED`.
const BAD_VALUE: [&str; 3] = [
    // The rule `ArgumentsOfCorrectType`: a literal or a variable's value of the wrong type.
    "Invalid value for argument",
    // `InputValueError::custom` and `InputValueError::expected_type`, when the cost of a field
    // parses its arguments during validation: an Int out of the 32-bit range passes the rule
    // above and fails here.
    "Failed to parse",
    "Expected input type",
];

/// Sets `code` on `error`, unless it already has one (a more precise code, set where it arose).
pub(super) fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", code);
    }
    error
}

pub(super) fn too_deep(message: String) -> ServerError {
    with_code(ServerError::new(message, None), code::QUERY_TOO_DEEP)
}

pub(super) fn too_large(message: String) -> ServerError {
    with_code(ServerError::new(message, None), code::QUERY_TOO_LARGE)
}

/// A document the parser refuses: `GRAPHQL_PARSE_FAILED`, but for an anonymous operation beside
/// others, which no `operationName` can choose (`OPERATION_RESOLUTION_FAILURE`).
pub(super) fn parse_failed(error: parser::Error) -> ServerError {
    if let parser::Error::MultipleOperations { .. } = error {
        let mut refused: ServerError = error.into();
        refused.message = "the document has an anonymous operation beside others: name every operation \
                           and choose one with operationName"
            .to_owned();
        return with_code(refused, code::OPERATION_RESOLUTION_FAILURE);
    }
    with_code(error.into(), code::GRAPHQL_PARSE_FAILED)
}

/// An error of async-graphql's parse step: its own recursion check (it counts inline fragments
/// too) has no code of its own; its message is the only way to tell it from a syntax error.
pub(super) fn parse_step(error: ServerError) -> ServerError {
    let code =
        if error.message.contains("recursion") { code::QUERY_TOO_DEEP } else { code::GRAPHQL_PARSE_FAILED };
    with_code(error, code)
}

/// The errors of validation: `BAD_USER_INPUT` for a value that does not fit its type,
/// `GRAPHQL_VALIDATION_FAILED` for the rest; suggestions cut off for the `public`.
pub(super) fn validation(errors: Vec<ServerError>, public: bool) -> Vec<ServerError> {
    errors
        .into_iter()
        .map(|mut error| {
            if public && let Some(at) = error.message.find(SUGGESTION) {
                error.message.truncate(at);
            }
            let bad_value = BAD_VALUE.iter().any(|start| error.message.starts_with(start));
            with_code(error, if bad_value { code::BAD_USER_INPUT } else { code::GRAPHQL_VALIDATION_FAILED })
        })
        .collect()
}

/// The errors of execution. Resolvers always set a code; an error without one comes from
/// async-graphql coercing an argument or variable (a wrong type, a number out of range, an
/// unknown enum value), which the caller can fix: `BAD_USER_INPUT`.
pub(super) fn execution(errors: Vec<ServerError>) -> Vec<ServerError> {
    errors.into_iter().map(|error| with_code(error, code::BAD_USER_INPUT)).collect()
}
