//! PostgreSQL keeps each need's search vector in a narrow table of its own, `need_search`, as
//! SQLite keeps its FTS5 index beside `need`.
//!
//! A search ranks every match with `ts_rank`, which reads each match's vector from the heap: with
//! the vector inside `need`, a broad word read a page of `need` for nearly every match (thousands
//! of 8 KiB pages for rows of about 490 bytes). `need_search` holds only the id and the vector, so
//! the same matches lie on less than half as many pages, and `need` rows shrink by the vector.
//! Triggers keep it in step: a new need gets its vector, and an edit of the title, question or
//! background computes it again (the generated column computed it on every update of the row,
//! a co-signature's count included). The GIN index does without a pending list (`fastupdate =
//! off`): a need is indexed when it is written, so searches never scan unmerged entries.
//! SQLite is unchanged.

use sea_orm_migration::{prelude::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The vector of a need's texts (columns of `row`, e.g. `NEW.`): the title weighs most, then the
/// question, then the background.
pub(crate) fn vector(row: &str) -> String {
    format!(
        "setweight(to_tsvector('norwegian', {row}title), 'A') ||
         setweight(to_tsvector('norwegian', {row}question), 'B') ||
         setweight(to_tsvector('norwegian', {row}background), 'C')"
    )
}

/// The table, and the triggers that keep it in step with `need`.
pub(crate) fn create_statements() -> Vec<String> {
    vec![
        "CREATE TABLE need_search (
            need_id integer PRIMARY KEY REFERENCES need (id) ON DELETE CASCADE,
            search tsvector NOT NULL
        )"
        .into(),
        format!(
            "CREATE FUNCTION need_search_write() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 INSERT INTO need_search (need_id, search) VALUES (NEW.id, {})
                 ON CONFLICT (need_id) DO UPDATE SET search = EXCLUDED.search;
                 RETURN NULL;
             END $$",
            vector("NEW.")
        ),
        "CREATE TRIGGER need_search_insert AFTER INSERT ON need
         FOR EACH ROW EXECUTE FUNCTION need_search_write()"
            .into(),
        "CREATE TRIGGER need_search_update AFTER UPDATE OF title, question, background ON need
         FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title
             OR OLD.question IS DISTINCT FROM NEW.question
             OR OLD.background IS DISTINCT FROM NEW.background)
         EXECUTE FUNCTION need_search_write()"
            .into(),
    ]
}

/// The index of the vectors, built after they are copied in: one sort instead of an insert per
/// row.
pub(crate) const INDEX: &str =
    "CREATE INDEX idx_need_search ON need_search USING GIN (search) WITH (fastupdate = off)";

fn up_statements() -> Vec<String> {
    let mut statements = create_statements();
    statements.extend([
        "INSERT INTO need_search (need_id, search) SELECT id, search FROM need".into(),
        "DROP INDEX idx_need_search".into(),
        "ALTER TABLE need DROP COLUMN search".into(),
        INDEX.into(),
    ]);
    statements
}

fn down_statements() -> Vec<String> {
    vec![
        format!("ALTER TABLE need ADD COLUMN search tsvector GENERATED ALWAYS AS ({}) STORED", vector("")),
        "DROP TABLE need_search".into(),
        "DROP FUNCTION need_search_write() CASCADE".into(),
        "CREATE INDEX idx_need_search ON need USING GIN (search)".into(),
    ]
}

/// Runs `statements` on PostgreSQL; SQLite has nothing to do.
async fn on_postgres(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    if manager.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    crate::common::run_all(manager, statements).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, up_statements()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        on_postgres(manager, down_statements()).await
    }
}
