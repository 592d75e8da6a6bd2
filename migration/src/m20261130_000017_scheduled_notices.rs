//! The notices no history event triggers (a round opened, closes soon, closed; a commission's or
//! milestone's deadline is near) are written by a scheduled scan, which marks each row once it
//! has told of it (or found there was nothing left to tell): a `*_notified_at` column per notice,
//! `NULL` until then. The scan reads only unmarked rows whose moment has come, through partial
//! indexes, so it stays cheap however much history there is.
//!
//! Rounds that exist on upgrade have opened already: their opening, and the closing of those
//! closed, are history and are not told (as history events are not pending). Deadlines still to
//! come are told of when they near; those passed are marked by the scan without a word.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn up(backend: DbBackend) -> String {
    let at = match backend {
        DbBackend::Sqlite => "timestamp_with_timezone_text",
        _ => "timestamptz",
    };
    format!(
        "ALTER TABLE round ADD COLUMN opened_notified_at {at} NULL;
ALTER TABLE round ADD COLUMN closing_notified_at {at} NULL;
ALTER TABLE round ADD COLUMN closed_notified_at {at} NULL;
ALTER TABLE commission ADD COLUMN due_notified_at {at} NULL;
ALTER TABLE milestone ADD COLUMN due_notified_at {at} NULL;
UPDATE round SET opened_notified_at = created_at;
UPDATE round SET closing_notified_at = COALESCE(closed_at, created_at),
    closed_notified_at = COALESCE(closed_at, created_at) WHERE status = 'CLOSED';
CREATE INDEX idx_round_notice ON round (closes_at) WHERE closed_notified_at IS NULL;
CREATE INDEX idx_commission_notice ON commission (deadline) WHERE due_notified_at IS NULL;
CREATE INDEX idx_milestone_notice ON milestone (due_at) WHERE due_notified_at IS NULL AND done_at IS NULL;"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&up(db.get_database_backend())).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX idx_round_notice",
            "DROP INDEX idx_commission_notice",
            "DROP INDEX idx_milestone_notice",
            "ALTER TABLE round DROP COLUMN opened_notified_at",
            "ALTER TABLE round DROP COLUMN closing_notified_at",
            "ALTER TABLE round DROP COLUMN closed_notified_at",
            "ALTER TABLE commission DROP COLUMN due_notified_at",
            "ALTER TABLE milestone DROP COLUMN due_notified_at",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
