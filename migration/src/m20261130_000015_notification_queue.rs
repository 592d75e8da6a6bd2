//! The history rows are the notification queue: an event written with `notify_pending` set (by
//! the writer, in the same INSERT as the change it records) waits for the fan-out worker, which
//! writes its deliveries and clears the flag in one transaction. Existing history is not pending,
//! so an upgrade mails nothing from the past. A partial index keeps finding the pending few cheap
//! however long the history grows.
//!
//! `delivery`: one notification to one recipient, unique by `message_id`, about one subject (a
//! history event, or what `topic` says), worked off by the delivery workers by `due_at` under a
//! lease (`claimed_until`). An e-mail carries the kind of notification its recipient chose it
//! for, a webhook the kind of event its endpoint subscribed to.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "
ALTER TABLE need_event ADD COLUMN notify_pending boolean NOT NULL DEFAULT FALSE;
ALTER TABLE commission_event ADD COLUMN notify_pending boolean NOT NULL DEFAULT FALSE;
CREATE INDEX idx_need_event_pending ON need_event (id) WHERE notify_pending;
CREATE INDEX idx_commission_event_pending ON commission_event (id) WHERE notify_pending;
";

fn delivery(backend: DbBackend) -> String {
    let (id, at) = match backend {
        DbBackend::Sqlite => ("integer NOT NULL PRIMARY KEY AUTOINCREMENT", "timestamp_with_timezone_text"),
        _ => ("serial PRIMARY KEY", "timestamptz"),
    };
    format!(
        "CREATE TABLE delivery (
    id {id},
    message_id varchar(200) NOT NULL UNIQUE,
    channel varchar(16) NOT NULL,
    person_id integer NULL REFERENCES person (id) ON DELETE RESTRICT,
    endpoint_id integer NULL REFERENCES webhook_endpoint (id) ON DELETE CASCADE,
    topic varchar(16) NOT NULL,
    subject_id integer NOT NULL,
    notification_kind varchar(32) NULL,
    webhook_kind varchar(32) NULL,
    digest boolean NOT NULL DEFAULT FALSE,
    status varchar(16) NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    due_at {at} NOT NULL,
    claimed_until {at} NULL,
    last_error text NULL,
    created_at {at} NOT NULL,
    sent_at {at} NULL,
    CHECK ((person_id IS NULL) <> (endpoint_id IS NULL)));
CREATE INDEX idx_delivery_due ON delivery (due_at) WHERE status = 'QUEUED';
CREATE INDEX idx_delivery_person ON delivery (person_id, status);
CREATE INDEX idx_delivery_endpoint ON delivery (endpoint_id, id);"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(UP).await?;
        db.execute_unprepared(&delivery(db.get_database_backend())).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP TABLE delivery",
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
