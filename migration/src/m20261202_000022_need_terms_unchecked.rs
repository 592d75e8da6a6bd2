//! On PostgreSQL, `need_term` no longer checks each of its rows against `need`: a need's terms
//! are deleted with it by a statement trigger instead of the foreign key's cascade.
//!
//! A submission inserts its need and the need's 10 to 20 index terms in one statement, and the
//! key made PostgreSQL queue a check of each term's need (`SELECT 1 FROM need ... FOR KEY
//! SHARE`) and run it after the statement: about 0.3 ms of the 1.4-1.7 ms of server CPU the
//! statement took (`pgbench` on tier M, one client; see BENCHMARKS.md). The terms are only ever
//! written in the statement or transaction that writes their need (`db::needs::write`,
//! `db::needs::search`), so the check could never fail; what the key still did, deleting a
//! need's terms with it, the trigger `need_terms_deleted` does once per deleting statement.
//!
//! SQLite checks a key in the same process with one lookup of the need's primary key, and
//! dropping it there means rebuilding the table: nothing changes there.

use sea_orm_migration::prelude::*;

use crate::common::run_on_postgres;

#[derive(DeriveMigrationName)]
pub struct Migration;

const KEY: &str = "need_term_need_id_fkey";

fn up() -> Vec<String> {
    vec![
        "CREATE FUNCTION need_terms_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             DELETE FROM need_term t USING old_rows o WHERE t.need_id = o.id;
             RETURN NULL;
         END $$"
            .to_owned(),
        "CREATE TRIGGER need_terms_deleted AFTER DELETE ON need REFERENCING OLD TABLE AS old_rows
         FOR EACH STATEMENT EXECUTE FUNCTION need_terms_deleted()"
            .to_owned(),
        format!("ALTER TABLE need_term DROP CONSTRAINT {KEY}"),
    ]
}

fn down() -> Vec<String> {
    vec![
        "DROP TRIGGER need_terms_deleted ON need".to_owned(),
        "DROP FUNCTION need_terms_deleted()".to_owned(),
        format!(
            "ALTER TABLE need_term ADD CONSTRAINT {KEY} FOREIGN KEY (need_id) REFERENCES need (id) \
             ON DELETE CASCADE"
        ),
    ]
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
