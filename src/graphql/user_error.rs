//! `userErrors`: what a mutation's caller can fix, returned in the payload with the field it
//! concerns. Faults and what the caller may not do are top-level errors instead.

use async_graphql::{Enum, SimpleObject};

use crate::db::WriteError;
use crate::error::AppError;

/// Why an input was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum UserErrorCode {
    /// The value is malformed or out of range.
    BadUserInput,
    /// The id names nothing the caller can see.
    NotFound,
    /// The value clashes with what exists (a duplicate, a stale version, a last coordinator).
    Conflict,
}

impl UserErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, SimpleObject)]
pub struct UserError {
    /// The path of the input field, e.g. `["input", "email"]`.
    pub field: Vec<String>,
    pub message: String,
    pub code: UserErrorCode,
}

/// Collects user errors while a mutation checks its input.
#[derive(Default, Debug)]
pub struct UserErrors(Vec<UserError>);

impl UserErrors {
    pub fn add(&mut self, field: &str, code: UserErrorCode, message: impl Into<String>) {
        crate::db::audit::note_user_error(code.as_str());
        self.0.push(UserError {
            field: vec!["input".to_owned(), field.to_owned()],
            message: message.into(),
            code,
        });
    }

    /// Keeps the value, or records the parse error against `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        parsed.map_err(|message| self.add(field, UserErrorCode::BadUserInput, message)).ok()
    }

    /// Keeps the value, or records a malformed id (`BAD_USER_INPUT`) against `field`.
    pub fn id<T>(&mut self, field: &str, decoded: Result<T, AppError>) -> Option<T> {
        decoded.map_err(|err| self.add(field, UserErrorCode::BadUserInput, err.to_string())).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<UserError> {
        self.0
    }

    pub fn one(field: &str, code: UserErrorCode, message: impl Into<String>) -> Vec<UserError> {
        let mut errors = Self::default();
        errors.add(field, code, message);
        errors.into_vec()
    }
}

/// A failed write as user errors; database faults stay top-level `INTERNAL`.
pub fn from_write_error(err: WriteError) -> Result<Vec<UserError>, AppError> {
    match err {
        WriteError::Conflict { field, message } => {
            Ok(UserErrors::one(field, UserErrorCode::Conflict, message))
        }
        WriteError::NotFound { field } => {
            Ok(UserErrors::one(field, UserErrorCode::NotFound, format!("no such {field}")))
        }
        WriteError::Invalid { field, message } => {
            Ok(UserErrors::one(field, UserErrorCode::BadUserInput, message))
        }
        WriteError::Db(err) => Err(err.into()),
    }
}
