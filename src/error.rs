//! The one error type of the hub and its mapping to GraphQL `extensions.code` and HTTP statuses.
//!
//! Every fallible path ends here. Database errors become `INTERNAL`: their text is logged with
//! the request's span (which carries the request id) and never reaches a client.

use async_graphql::ErrorExtensions;
use sea_orm::DbErr;

/// Stable error codes clients may rely on (`extensions.code`).
pub mod code {
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const CONFLICT: &str = "CONFLICT";
    pub const INTERNAL: &str = "INTERNAL";
    /// The document could not be parsed.
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    /// The document does not fit the schema (unknown field, wrong argument type, ...).
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// The operation to run cannot be chosen: `operationName` names none of the document's
    /// operations, or the document has several and no `operationName`, or an anonymous one
    /// beside others.
    pub const OPERATION_RESOLUTION_FAILURE: &str = "OPERATION_RESOLUTION_FAILURE";
    /// The document nests fields deeper than the limit.
    pub const QUERY_TOO_DEEP: &str = "QUERY_TOO_DEEP";
    /// The document's estimated cost is above the limit.
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    /// The document is too large: bytes, tokens, fields, aliases, root fields or directives.
    pub const QUERY_TOO_LARGE: &str = "QUERY_TOO_LARGE";
    /// Introspection (`__schema`, `__type`) without a token; the SDL is at /schema.graphql.
    pub const INTROSPECTION_DISABLED: &str = "INTROSPECTION_DISABLED";
    /// The database cannot be reached right now (restarting, or every connection busy): nothing
    /// was changed, and the same request may be retried (HTTP 503 with `Retry-After`).
    pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";
    /// The caller's budget of points per hour is spent (HTTP 429 with `Retry-After`).
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    /// The HTTP request is not a single GraphQL request in JSON (malformed body, batch array, ...).
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    /// The response would be larger than `--max-response-bytes`: ask for less (smaller pages,
    /// fewer fields). A mutation's changes are committed all the same.
    pub const RESPONSE_TOO_LARGE: &str = "RESPONSE_TOO_LARGE";
    /// An export link the hub did not sign, or one changed since (HTTP 400).
    pub const EXPORT_LINK_INVALID: &str = "EXPORT_LINK_INVALID";
    /// An export link past its time (HTTP 410): ask the export field for a new one.
    pub const EXPORT_LINK_EXPIRED: &str = "EXPORT_LINK_EXPIRED";
    /// A document named by its hash alone (`extensions.persistedQuery`) that this instance does
    /// not know: send the text with the hash (the message is `PersistedQueryNotFound`, which
    /// Apollo's and urql's clients look for). HTTP 200.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// The hash sent is not the SHA-256 of the text sent; nothing was run.
    pub const PERSISTED_QUERY_HASH_MISMATCH: &str = "PERSISTED_QUERY_HASH_MISMATCH";
    /// `extensions.persistedQuery.version` other than 1.
    pub const PERSISTED_QUERY_VERSION_NOT_SUPPORTED: &str = "PERSISTED_QUERY_VERSION_NOT_SUPPORTED";
    /// `--trusted-documents`: a caller without a token may run only the hub's known documents
    /// (HTTP 403).
    pub const DOCUMENT_NOT_TRUSTED: &str = "DOCUMENT_NOT_TRUSTED";
    /// A mutation or subscription sent with `GET /graphql` (HTTP 405): send it with POST (or a
    /// subscription over the WebSocket).
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
}

/// What can go wrong while serving a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The object does not exist, or the caller may not see it (so ids cannot be probed).
    #[error("not found")]
    NotFound,
    /// The caller sent input that can never succeed; the message says how to fix it.
    #[error("{0}")]
    BadUserInput(String),
    /// The caller sent a token that is not valid.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is known but may not do this; the text says who may (from `auth::policy`,
    /// by the kind of action, so it tells nothing about a particular row).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The change clashes with the current state (stale version, duplicate, ...).
    #[error("{0}")]
    Conflict(String),
    /// A fault of ours; the detail is logged, never sent.
    #[error("internal error")]
    Internal(String),
    /// The database cannot be reached right now; retrying is safe.
    #[error("the database is unavailable right now; nothing was changed, retry shortly")]
    Unavailable(String),
}

impl AppError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }

    /// The stable code for `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => code::NOT_FOUND,
            Self::BadUserInput(_) => code::BAD_USER_INPUT,
            Self::Unauthenticated => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::Conflict(_) => code::CONFLICT,
            Self::Internal(_) => code::INTERNAL,
            Self::Unavailable(_) => code::DATABASE_UNAVAILABLE,
        }
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        // Logged inside the request span, so the line carries the request id.
        if crate::db::is_unavailable(&err) {
            tracing::warn!(error = %err, "the database is unavailable");
            return Self::Unavailable(err.to_string());
        }
        tracing::error!(error = %err, "database error");
        Self::Internal(err.to_string())
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| ext.set("code", self.code()))
    }
}

/// Lets resolvers use `?` on `AppError` (and on `DbErr` through `AppError`).
pub type Result<T, E = GqlError> = std::result::Result<T, E>;

/// A GraphQL error that always carries a code; built only from [`AppError`].
pub struct GqlError(async_graphql::Error);

impl From<AppError> for GqlError {
    fn from(err: AppError) -> Self {
        Self(err.extend())
    }
}

impl From<DbErr> for GqlError {
    fn from(err: DbErr) -> Self {
        AppError::from(err).into()
    }
}

impl From<GqlError> for async_graphql::Error {
    fn from(err: GqlError) -> Self {
        err.0
    }
}
