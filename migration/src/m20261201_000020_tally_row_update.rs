//! On PostgreSQL, the tallies follow updates of `need` with a row trigger that fires only when a
//! counted column changes (`AFTER UPDATE OF ... WHEN`), in place of the statement trigger of the
//! migration `need_tally`, which ran on every update (a co-signature, an edit of the text) and
//! grouped its rows to find nothing to count. PostgreSQL allows no column list or `WHEN` on a
//! trigger with transition tables, hence a row trigger. SQLite's trigger was a row trigger with
//! `WHEN` already; nothing changes there.

use sea_orm_migration::prelude::*;

use crate::{
    common::run_on_postgres,
    m20261201_000018_need_tally::{
        COUNTED, POSTGRES_UPDATE_TRIGGER, Slots, changed, postgres_row_updated_function,
        postgres_updated_function,
    },
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The function of the row trigger on updates of `need`.
pub(crate) const FUNCTION: &str = "need_tally_row_updated";

fn up() -> Vec<String> {
    vec![
        "DROP TRIGGER need_tally_update ON need".into(),
        "DROP FUNCTION need_tally_updated()".into(),
        postgres_row_updated_function(FUNCTION, Slots::None),
        format!(
            "CREATE TRIGGER need_tally_update AFTER UPDATE OF {} ON need FOR EACH ROW WHEN ({})
             EXECUTE FUNCTION {FUNCTION}()",
            COUNTED.join(", "),
            changed("IS DISTINCT FROM"),
        ),
    ]
}

fn down() -> Vec<String> {
    vec![
        "DROP TRIGGER need_tally_update ON need".into(),
        format!("DROP FUNCTION {FUNCTION}()"),
        postgres_updated_function(),
        POSTGRES_UPDATE_TRIGGER.into(),
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
