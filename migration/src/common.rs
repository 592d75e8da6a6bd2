//! Helpers the migrations share.

use sea_orm_migration::prelude::*;

/// A foreign key from `(table, column)` to `(table, column)` that refuses deleting a referenced row.
pub fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Restrict).to_owned()
}

/// Runs `statements` one by one (a trigger's body holds semicolons of its own).
pub async fn run_all(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    for sql in statements {
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Runs `statements` one by one on PostgreSQL; nothing on SQLite (a migration only PostgreSQL
/// needs).
pub async fn run_on_postgres(manager: &SchemaManager<'_>, statements: Vec<String>) -> Result<(), DbErr> {
    match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Postgres => run_all(manager, statements).await,
        _ => Ok(()),
    }
}
