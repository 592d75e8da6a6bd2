//! On PostgreSQL, a tally's group is spread over slots, so that concurrent writers do not all
//! wait for one row.
//!
//! Every submission into a pool in one month added to the same row of `need_month_pool_tally`
//! (and most to a few rows of `need_tally`), and a row a writer adds to stays locked until its
//! transaction commits: sixteen writers took turns at it, waiting 17 ms on average. Now each
//! tally's key ends in a `slot`: a write adds to the group's row in the slot of its need (1 to
//! [`SLOTS`], by the need's id), so writers of different needs mostly lock different rows. Slot 0
//! holds what was counted before, and what the hub's folding (`db::needs::fold_tallies`, every few
//! seconds) moves there from the other slots; readers sum a group's rows whatever their slot, so
//! they read a few more rows between two folds and nothing else changes.
//!
//! `search_term`, the count of each search term's needs, is spread the same way: every need
//! shares a few common terms, and once the tallies were spread, writers took turns at those.
//!
//! A partial index on each table's slotted rows lets a fold find them without reading the rest.
//!
//! SQLite has one writer at a time, so nothing waits there and nothing changes.

use sea_orm_migration::prelude::*;

use crate::{
    common::run_on_postgres,
    m20261201_000018_need_tally::{
        Slots, TALLIES, postgres_counting_functions, postgres_row_updated_function,
    },
    m20261201_000019_need_terms::{TERMS_ADDED, TERMS_REMOVED, statement_function},
    m20261201_000020_tally_row_update::FUNCTION as ROW_UPDATED,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// How many slots writes spread a group over (slot 0, the folded counts, aside).
pub const SLOTS: u32 = 16;

/// The slot the need `row` (a row of `need` or a row image such as `NEW.`) adds to.
pub(crate) fn slot(row: &str) -> String {
    slot_of(&format!("{row}id"))
}

/// The slot of the need whose id is `id`.
fn slot_of(id: &str) -> String {
    format!("1 + {id} % {SLOTS}")
}

/// `search_term_added` (`count(*)`) or `search_term_removed` (`-count(*)`), spread: each need's
/// terms added to or taken from its slot (a row that a fold emptied is made again, below 0 for
/// a removal).
fn terms_spread(count: &str) -> String {
    format!(
        "INSERT INTO search_term (term, slot, needs)
         SELECT term, {}, {count} FROM changed GROUP BY 1, 2 ORDER BY 1, 2
         ON CONFLICT (term, slot) DO UPDATE SET needs = search_term.needs + EXCLUDED.needs",
        slot_of("need_id")
    )
}

/// Each table whose counts writes spread over slots on PostgreSQL (the tallies and the search
/// terms' counts), with its key's columns but the slot, comma-separated: what the hub folds.
pub fn slotted_tables() -> Vec<(&'static str, String)> {
    let mut tables: Vec<_> = TALLIES.iter().map(|t| (t.name(), t.columns(Slots::None))).collect();
    tables.push(("search_term", "term".into()));
    tables
}

fn up() -> Vec<String> {
    let mut statements = Vec::new();
    for (table, columns) in slotted_tables() {
        statements.extend([
            format!("ALTER TABLE {table} ADD COLUMN slot smallint NOT NULL DEFAULT 0"),
            format!("ALTER TABLE {table} DROP CONSTRAINT {table}_pkey"),
            format!("ALTER TABLE {table} ADD PRIMARY KEY ({columns}, slot)"),
            format!("CREATE INDEX idx_{table}_slotted ON {table} (slot) WHERE slot <> 0"),
        ]);
    }
    statements.extend(postgres_counting_functions(Slots::Spread));
    statements.push(postgres_row_updated_function(ROW_UPDATED, Slots::Spread));
    statements.push(statement_function("search_term_added", &terms_spread("count(*)")));
    statements.push(statement_function("search_term_removed", &terms_spread("-count(*)")));
    statements
}

fn down() -> Vec<String> {
    // The functions first, so that no write adds to a slot once its counts are folded.
    let mut statements = postgres_counting_functions(Slots::None);
    statements.push(postgres_row_updated_function(ROW_UPDATED, Slots::None));
    statements.push(statement_function("search_term_added", TERMS_ADDED));
    statements.push(statement_function("search_term_removed", TERMS_REMOVED));
    for (table, columns) in slotted_tables() {
        statements.extend([
            format!(
                "INSERT INTO {table} ({columns}, slot, needs)
                 SELECT {columns}, 0, SUM(needs) FROM {table} WHERE slot <> 0 GROUP BY {columns}
                 ON CONFLICT ({columns}, slot) DO UPDATE SET needs = {table}.needs + excluded.needs"
            ),
            format!("DELETE FROM {table} WHERE slot <> 0"),
            format!("DROP INDEX idx_{table}_slotted"),
            format!("ALTER TABLE {table} DROP CONSTRAINT {table}_pkey"),
            format!("ALTER TABLE {table} DROP COLUMN slot"),
            format!("ALTER TABLE {table} ADD PRIMARY KEY ({columns})"),
        ]);
    }
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_on_postgres(manager, up()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_on_postgres(manager, down()).await
    }
}
