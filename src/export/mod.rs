//! CSV and XLSX exports of what the API lists: needs (with the filter, search and order of
//! `needs`), a round's ranking with every criterion mean and score, commissions with their
//! milestones, and summaries' uptake.
//!
//! An export is the answer of its GraphQL field, read page by page through the schema as the
//! caller (`documents.rs`, `pages.rs`): the same resolvers, policy and visibility, so a file holds exactly what
//! the API would show its caller, and each page is dropped once written. A root field
//! (`needsExport`, ... in `graphql/export.rs`) answers a short-lived signed link (`link.rs`)
//! carrying the arguments and the caller's token; `GET /export/<link>` (`http/export.rs`) checks
//! the token again, prices the export by its items against the caller's budget, audits one that
//! holds personal data, and streams the file (`file.rs`) as its rows are read.

pub mod columns;
pub mod documents;
pub mod file;
pub mod link;
pub mod pages;

use serde::{Deserialize, Serialize};

pub use link::{LIFETIME, Link, Refused};

/// What is exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Needs,
    RoundRanking,
    Commissions,
    Uptake,
}

impl Kind {
    /// The file name's stem, and the audit action's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Self::Needs => "needs",
            Self::RoundRanking => "round-ranking",
            Self::Commissions => "commissions",
            Self::Uptake => "uptake",
        }
    }
}

/// The file format of an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "lowercase")]
#[graphql(name = "ExportFormat")]
pub enum Format {
    /// Comma-separated values, UTF-8 with a byte order mark (Excel opens it right).
    #[default]
    Csv,
    /// An Excel workbook (Office Open XML) with one sheet.
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}
