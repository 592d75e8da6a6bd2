//! Knowledge needs: writes (each one transaction with its history events), the filtered and
//! searchable list with keyset paging, and the aggregates for dashboards.
//!
//! - `write`: create, edit, move, link evidence, set a municipality's population; the history
//!   event every write records, and the version check every change passes.
//! - `reach`: co-signatures, merges and unmerges, and `carry`, the one place that writes the
//!   co-signatures a need carries from its duplicates.
//! - `filter`: which needs a statement reads (`NeedFilter`, `Visibility`), as SQL conditions.
//! - `search`: the full-text match on each database, and `similar` (duplicate suggestions).
//! - `list`: a page of needs in an order, by keyset (`list`), and the history of the needs a
//!   filter matches (`events`).
//! - `counts`: `count` and `count_by`, for `totalCount` and dashboards.
//! - `rows`: needs read with their themes' ids (and place) in one statement.

mod counts;
mod filter;
mod list;
mod reach;
mod rows;
mod search;
mod write;

use entity::need;
use sea_orm::sea_query::Expr;

pub use counts::{
    GroupCount, Grouping, MAX_DISTRICT_GROUPS, count, count_by, fold_tallies, recount_by, tallies_have_slots,
};
pub use filter::{NeedFilter, Visibility};
pub use list::{CANDIDATES, Cursor, CursorKey, Listed, NeedOrder, Window, events, list};
pub use reach::{cosign, merge, unmerge, withdraw_cosign};
pub use rows::{
    Placed, by_ids_with_themes, by_title, evidence, of_commissions_with_themes, themes_of, with_places,
};
pub use search::{similar, terms_of};
pub use write::{
    Handover, NeedContent, NewEvidence, apply_move, create, hand_over, link_evidence, move_in,
    set_population, update,
};

/// The alias of `need` in the statements of this module.
const N: &str = "n";

/// A column of `need n`.
fn n(column: need::Column) -> Expr {
    Expr::col((N, column))
}
