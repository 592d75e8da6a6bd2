//! Stable `extensions.code` values for the errors async-graphql raises itself (a document that
//! does not parse, its own check of a parsed document, validation, coercing an argument while
//! executing), suggestions stripped for the public, and the one way a code is set.
//!
//! Codes are chosen by structure wherever async-graphql exposes one: the parser's error variant,
//! the step an error surfaces in, an error without a code. Validation is the exception: its
//! errors carry nothing but a message and locations (the rule that raised one is not exposed),
//! so suggestions and values that do not fit their type are told by their text, in the
//! constants below. The tests at the end produce each of those messages with async-graphql
//! itself, so that an upgrade that rewords one fails a named test instead of changing a code.

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

/// An error of async-graphql's parse step. `RequestHooks` hands that step a document it has
/// parsed already, so what fails there is async-graphql's own check of the parsed document, of
/// its recursion depth (which counts inline fragments and fragment spreads as levels, where
/// `MAX_DEPTH` counts fields): `QUERY_TOO_DEEP`. (Its check of directives would land here too,
/// but the schema sets no `limit_directives`; `MAX_DIRECTIVES` is checked before.) Should the
/// step ever parse the text itself, a text that does not parse is told apart by parsing it again,
/// on this error path only: `GRAPHQL_PARSE_FAILED`.
pub(super) fn parse_step(error: ServerError, query: &str) -> ServerError {
    let code = match parser::parse_query(query) {
        Ok(_) => code::QUERY_TOO_DEEP,
        Err(_) => code::GRAPHQL_PARSE_FAILED,
    };
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

#[cfg(test)]
mod tests {
    //! async-graphql's own errors, produced by a tiny schema behind `RequestHooks`. A failure
    //! here after upgrading async-graphql most likely means a message was reworded: update
    //! `SUGGESTION` or `BAD_VALUE` (or the structure the code relies on) to match.

    use std::sync::Arc;

    use async_graphql::{
        EmptyMutation, EmptySubscription, InputValueError, InputValueResult, Object, Request, Scalar,
        ScalarType, Schema, Value, Variables,
    };
    use serde_json::json;

    use super::*;
    use crate::{
        auth::{Identity, Viewer},
        graphql::limits::RequestHooks,
    };

    /// A number whose type check is left to its parser (async-graphql's default), as for a
    /// scalar without `is_valid`: a value of the wrong kind is found when the cost parses it.
    struct Loose(i32);

    #[Scalar]
    impl ScalarType for Loose {
        fn parse(value: Value) -> InputValueResult<Self> {
            match &value {
                Value::Number(n) => Ok(Loose(n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(1))),
                _ => Err(InputValueError::expected_type(value)),
            }
        }

        fn to_value(&self) -> Value {
            Value::from(self.0)
        }
    }

    struct Query;

    #[Object]
    impl Query {
        async fn name(&self) -> &str {
            "hub"
        }

        async fn echo(&self, number: i32) -> i32 {
            number
        }

        /// Priced by its page size, like every connection.
        #[graphql(complexity = "crate::graphql::connection::cost(first, None, child_complexity)")]
        async fn page(&self, first: Option<i32>) -> i32 {
            first.unwrap_or_default()
        }

        #[graphql(complexity = "usize::try_from(size.0).unwrap_or(1)")]
        async fn sized(&self, size: Loose) -> i32 {
            size.0
        }
    }

    /// The errors of one request as `(code, message)`, from the public or an authenticated caller.
    async fn errors(query: &str, variables: serde_json::Value, authenticated: bool) -> Vec<(String, String)> {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription)
            .extension(RequestHooks::default())
            .finish();
        let identity = Identity {
            person_id: 1,
            token_id: 1,
            minted_by: None,
            bound: None,
            bound_by: None,
            grants: vec![],
        };
        let viewer = if authenticated { Viewer::authenticated(Arc::new(identity)) } else { Viewer::public() };
        let request = Request::new(query).variables(Variables::from_json(variables)).data(viewer);
        let response = schema.execute(request).await;
        response
            .errors
            .into_iter()
            .map(|error| {
                let code = match error.extensions.as_ref().and_then(|e| e.get("code")) {
                    Some(Value::String(code)) => code.clone(),
                    other => format!("{other:?}"),
                };
                (code, error.message)
            })
            .collect()
    }

    async fn codes(query: &str) -> Vec<String> {
        errors(query, json!({}), false).await.into_iter().map(|(code, _)| code).collect()
    }

    #[tokio::test]
    async fn an_argument_of_the_wrong_type_is_bad_user_input() {
        // ArgumentsOfCorrectType, for a literal and for a variable's value.
        assert_eq!(codes(r#"{ echo(number: "ten") }"#).await, ["BAD_USER_INPUT"]);
        let with_variable =
            errors("query($n: Int!) { echo(number: $n) }", json!({ "n": "ten" }), false).await;
        assert_eq!(with_variable.len(), 1, "{with_variable:?}");
        assert_eq!(with_variable[0].0, "BAD_USER_INPUT", "{with_variable:?}");
    }

    #[tokio::test]
    async fn a_number_out_of_range_in_a_priced_field_is_bad_user_input() {
        // Passes ArgumentsOfCorrectType (any 64-bit number is an Int there); the cost's parse of
        // `first` says "Failed to parse".
        assert_eq!(codes("{ page(first: 3000000000) }").await, ["BAD_USER_INPUT"]);
    }

    #[tokio::test]
    async fn a_value_of_the_wrong_kind_found_by_the_cost_is_bad_user_input() {
        // The cost's parse of `size` says "Expected input type".
        assert_eq!(codes(r#"{ sized(size: "ten") }"#).await, ["BAD_USER_INPUT"]);
    }

    #[tokio::test]
    async fn a_number_out_of_range_found_while_executing_is_bad_user_input() {
        // Passes validation, fails when the resolver's argument is coerced; the error has no code.
        assert_eq!(codes("{ echo(number: 3000000000) }").await, ["BAD_USER_INPUT"]);
    }

    #[tokio::test]
    async fn other_validation_errors_are_validation_failures() {
        assert_eq!(codes("{ nonsense }").await, ["GRAPHQL_VALIDATION_FAILED"]);
        assert_eq!(codes("{ echo }").await, ["GRAPHQL_VALIDATION_FAILED"], "a missing argument");
        assert_eq!(codes("{ name(x: 1) }").await, ["GRAPHQL_VALIDATION_FAILED"], "an unknown argument");
        assert_eq!(
            codes("query($n: Int) { name }").await,
            ["GRAPHQL_VALIDATION_FAILED"],
            "an unused variable"
        );
    }

    #[tokio::test]
    async fn suggestions_are_for_authenticated_callers_only() {
        for (query, suggested) in [("{ nam }", "\"name\""), ("{ page(frst: 1) }", "\"first\"")] {
            let authenticated = errors(query, json!({}), true).await;
            let public = errors(query, json!({}), false).await;
            assert_eq!(authenticated.len(), 1, "{authenticated:?}");
            let (code, message) = &authenticated[0];
            assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");
            assert!(message.contains(&format!("{SUGGESTION} {suggested}")), "{message}");
            let cut = message.split(SUGGESTION).next().map(str::to_owned);
            assert_eq!(public, [("GRAPHQL_VALIDATION_FAILED".to_owned(), cut.unwrap_or_default())]);
        }
    }

    #[tokio::test]
    async fn async_graphqls_recursion_check_is_too_deep() {
        // One field deep, but 40 levels of inline fragments or fragment spreads, which
        // async-graphql counts (and refuses past 32) while `MAX_DEPTH` does not.
        let inline = format!("{{ {} name {} }}", "... on Query { ".repeat(40), "} ".repeat(40));
        assert_eq!(codes(&inline).await, ["QUERY_TOO_DEEP"]);
        let mut spreads = String::from("{ ...F0 }");
        for level in 0..40 {
            spreads.push_str(&format!(" fragment F{level} on Query {{ ...F{} }}", level + 1));
        }
        spreads.push_str(" fragment F40 on Query { name }");
        assert_eq!(codes(&spreads).await, ["QUERY_TOO_DEEP"]);
    }

    #[tokio::test]
    async fn documents_that_do_not_parse_or_name_no_operation_get_their_codes() {
        assert_eq!(codes("{ name").await, ["GRAPHQL_PARSE_FAILED"]);
        assert_eq!(codes("{ name } query B { name }").await, ["OPERATION_RESOLUTION_FAILURE"]);
        assert_eq!(codes("query A { name } query B { name }").await, ["OPERATION_RESOLUTION_FAILURE"]);
        // And should async-graphql's parse step ever parse the text itself:
        let refused = parse_step(ServerError::new("syntax error", None), "{ name");
        assert_eq!(
            refused.extensions.and_then(|e| e.get("code").cloned()),
            Some(Value::from("GRAPHQL_PARSE_FAILED"))
        );
    }
}
