//! Helpers the migrations share.

use sea_orm_migration::prelude::*;

/// A foreign key from `(table, column)` to `(table, column)` that refuses deleting a referenced row.
pub fn fk(
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from.0, from.1).to(to.0, to.1).on_delete(ForeignKeyAction::Restrict).to_owned()
}
