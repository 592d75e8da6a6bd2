//! The history rows are the notification queue: an event written with `notify_pending` set (by
//! the writer, in the same INSERT as the change it records) waits for the fan-out worker, which
//! writes its deliveries and clears the flag in one transaction. Existing history is not pending,
//! so an upgrade mails nothing from the past. A partial index keeps finding the pending few cheap
//! however long the history grows.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "
ALTER TABLE need_event ADD COLUMN notify_pending boolean NOT NULL DEFAULT FALSE;
ALTER TABLE commission_event ADD COLUMN notify_pending boolean NOT NULL DEFAULT FALSE;
CREATE INDEX idx_need_event_pending ON need_event (id) WHERE notify_pending;
CREATE INDEX idx_commission_event_pending ON commission_event (id) WHERE notify_pending;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX idx_need_event_pending",
            "DROP INDEX idx_commission_event_pending",
            "ALTER TABLE need_event DROP COLUMN notify_pending",
            "ALTER TABLE commission_event DROP COLUMN notify_pending",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
