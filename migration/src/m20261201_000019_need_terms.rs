//! The hub's own search index, the same on both databases: `need_term` holds each term (a stem,
//! see the `words` crate) of each need with its rank there (lower is better: a word of the title
//! ranks before one of the background), and `search_term` how many needs each term has.
//!
//! A search reads a term's best matches first from the index `(term, rank, need_id)`, so the
//! first page of a word that a hundred thousand needs share reads a few hundred index entries,
//! and a page deep in the results starts where the one before it ended. PostgreSQL's GIN index
//! and SQLite's FTS5 both had to rank every match to find the best. SQLite stems Norwegian now
//! as PostgreSQL did, since both databases hold the stems the hub computes.
//!
//! The hub writes a need's terms when it writes the need (`db::needs::search`); this migration
//! indexes the needs already there, in batches, and builds the indexes after. `search_term` is
//! kept by triggers on `need_term`: PostgreSQL counts each statement's rows at once (a statement
//! trigger with transition tables, one upsert per term in term order), SQLite row by row. A
//! count that falls to 0 stays as a row; readers skip it.
//!
//! The FTS5 table (SQLite) and `need_search` (PostgreSQL) are dropped; undoing this migration
//! builds them again from the needs.

use sea_orm_migration::{
    prelude::*,
    sea_orm::{DbBackend, FromQueryResult},
};

use crate::{
    common::run_all,
    m20261125_000003_needs::SQLITE_SEARCH,
    m20261126_000007_need_search::{self as need_search},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// How many needs are read and indexed at a time.
const BATCH: u64 = 1000;
/// How many term rows one insert carries (three values each, well under both databases' limit
/// of bound values).
const ROWS_PER_INSERT: usize = 3000;

fn create(backend: DbBackend) -> Vec<String> {
    // Terms compare byte by byte (code point order) on both databases, so a prefix's terms lie
    // between it and its successor whatever the server's collation: æ, ø and å after z.
    let collate = if backend == DbBackend::Postgres { " COLLATE \"C\"" } else { "" };
    vec![
        format!(
            "CREATE TABLE need_term (
                need_id integer NOT NULL REFERENCES need (id) ON DELETE CASCADE,
                term text{collate} NOT NULL,
                rank integer NOT NULL
            )"
        ),
        format!(
            "CREATE TABLE search_term (
                term text{collate} NOT NULL PRIMARY KEY,
                needs integer NOT NULL
            )"
        ),
    ]
}

/// The indexes, built after the needs already there are indexed: one sort instead of an insert
/// per row. `(need_id, term)` finds a need's terms (to edit or delete them), `(term, rank,
/// need_id)` a term's needs best first.
const INDEXES: [&str; 2] = [
    "CREATE UNIQUE INDEX uniq_need_term ON need_term (need_id, term)",
    "CREATE INDEX idx_need_term_rank ON need_term (term, rank, need_id)",
];

/// The function of a PostgreSQL statement trigger, running `body` (made, or replaced where it
/// exists).
pub(crate) fn statement_function(name: &str, body: &str) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN {body}; RETURN NULL; END $$"
    )
}

/// PostgreSQL: what `search_term_added` does with the inserted rows of `need_term`.
pub(crate) const TERMS_ADDED: &str = "INSERT INTO search_term (term, needs)
     SELECT term, count(*) FROM changed GROUP BY term ORDER BY term
     ON CONFLICT (term) DO UPDATE SET needs = search_term.needs + EXCLUDED.needs";

/// PostgreSQL: what `search_term_removed` does with the deleted rows of `need_term`.
pub(crate) const TERMS_REMOVED: &str = "UPDATE search_term s SET needs = s.needs - r.needs
     FROM (SELECT term, count(*) AS needs FROM changed GROUP BY term ORDER BY term) r
     WHERE s.term = r.term";

/// A PostgreSQL trigger (and its function, of the same name) that runs `body` once for each
/// statement that inserts or deletes (`event`) rows of `need_term`, those rows being `changed`.
fn statement_trigger(name: &str, event: &str, body: &str) -> [String; 2] {
    let image = if event == "INSERT" { "NEW" } else { "OLD" };
    [
        statement_function(name, body),
        format!(
            "CREATE TRIGGER {name} AFTER {event} ON need_term REFERENCING {image} TABLE AS changed
             FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        ),
    ]
}

fn count_terms(backend: DbBackend) -> Vec<String> {
    let fill = "INSERT INTO search_term (term, needs) SELECT term, count(*) FROM need_term GROUP BY term";
    match backend {
        DbBackend::Postgres => {
            let mut statements = vec![fill.to_owned()];
            statements.extend(statement_trigger("search_term_added", "INSERT", TERMS_ADDED));
            statements.extend(statement_trigger("search_term_removed", "DELETE", TERMS_REMOVED));
            statements
        }
        _ => vec![
            fill.into(),
            "CREATE TRIGGER search_term_inserted AFTER INSERT ON need_term BEGIN
                 INSERT INTO search_term (term, needs) VALUES (NEW.term, 1)
                 ON CONFLICT (term) DO UPDATE SET needs = needs + 1;
             END"
            .into(),
            "CREATE TRIGGER search_term_deleted AFTER DELETE ON need_term BEGIN
                 UPDATE search_term SET needs = needs - 1 WHERE term = OLD.term;
             END"
            .into(),
        ],
    }
}

fn drop_old_index(backend: DbBackend) -> Vec<String> {
    match backend {
        DbBackend::Postgres => {
            vec!["DROP TABLE need_search".into(), "DROP FUNCTION need_search_write() CASCADE".into()]
        }
        _ => ["need_fts_insert", "need_fts_delete", "need_fts_update"]
            .iter()
            .map(|t| format!("DROP TRIGGER {t}"))
            .chain(["DROP TABLE need_fts".into()])
            .collect(),
    }
}

fn build_old_index(backend: DbBackend) -> Vec<String> {
    match backend {
        DbBackend::Postgres => need_search::create_statements()
            .into_iter()
            .chain([
                format!(
                    "INSERT INTO need_search (need_id, search) SELECT id, {} FROM need",
                    need_search::vector("")
                ),
                need_search::INDEX.into(),
            ])
            .collect(),
        _ => SQLITE_SEARCH
            .iter()
            .map(|s| (*s).to_owned())
            .chain(["INSERT INTO need_fts (need_fts) VALUES ('rebuild')".into()])
            .collect(),
    }
}

#[derive(FromQueryResult)]
struct Text {
    id: i32,
    title: String,
    question: String,
    background: String,
}

/// Indexes every need there is, a batch at a time in the order of ids.
async fn index_needs(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let mut after = 0;
    loop {
        let read = Query::select()
            .columns(["id", "title", "question", "background"])
            .from("need")
            .and_where(Expr::col("id").gt(after))
            .order_by("id", Order::Asc)
            .limit(BATCH)
            .to_owned();
        let needs = Text::find_by_statement(backend.build(&read)).all(db).await?;
        let Some(last) = needs.last() else { return Ok(()) };
        after = last.id;
        let rows: Vec<[Expr; 3]> = needs
            .iter()
            .flat_map(|n| {
                words::need_terms(&n.title, &n.question, &n.background)
                    .into_iter()
                    .map(|t| [n.id.into(), t.rank().into(), t.term.into()])
            })
            .collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut insert = Query::insert();
            insert.into_table("need_term").columns(["need_id", "rank", "term"]);
            for row in chunk {
                insert.values(row.clone()).map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            db.execute(&insert).await?;
        }
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        run_all(manager, create(backend)).await?;
        index_needs(manager).await?;
        run_all(manager, INDEXES.iter().map(|s| (*s).to_owned()).collect()).await?;
        run_all(manager, count_terms(backend)).await?;
        run_all(manager, drop_old_index(backend)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        run_all(manager, build_old_index(backend)).await?;
        let mut statements = vec!["DROP TABLE search_term".to_owned(), "DROP TABLE need_term".to_owned()];
        if backend == DbBackend::Postgres {
            statements.push("DROP FUNCTION search_term_added()".into());
            statements.push("DROP FUNCTION search_term_removed()".into());
        }
        run_all(manager, statements).await
    }
}
