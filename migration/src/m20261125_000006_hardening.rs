//! Hardening: the audit log records every mutation and refusal (outcome, request id; the target
//! may be unknown), and create-style mutations remember their idempotency keys.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKey {
    Table,
    Id,
    PersonId,
    Key,
    Operation,
    InputHash,
    ResultType,
    ResultId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

/// The audit table as it is from now on (SQLite cannot relax NOT NULL in place, so it is rebuilt).
const SQLITE_AUDIT: &str = "
CREATE TABLE audit_event_new (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    occurred_at timestamp_with_timezone_text NOT NULL,
    actor_person_id integer NULL,
    actor_token_id integer NULL,
    actor_label varchar NULL,
    action varchar NOT NULL,
    target_type varchar NULL,
    target_id integer NULL,
    region_id integer NULL,
    detail text NULL,
    outcome varchar NOT NULL DEFAULT 'OK',
    request_id varchar NULL
);
INSERT INTO audit_event_new (id, occurred_at, actor_person_id, actor_token_id, actor_label, action,
    target_type, target_id, region_id, detail)
SELECT id, occurred_at, actor_person_id, actor_token_id, actor_label, action, target_type, target_id,
    region_id, detail FROM audit_event;
DROP TABLE audit_event;
ALTER TABLE audit_event_new RENAME TO audit_event;
CREATE INDEX idx_audit_event_region_time ON audit_event (region_id, occurred_at);
";

const POSTGRES_AUDIT: &str = "
ALTER TABLE audit_event
    ALTER COLUMN target_type DROP NOT NULL,
    ALTER COLUMN target_id DROP NOT NULL,
    ADD COLUMN outcome varchar NOT NULL DEFAULT 'OK',
    ADD COLUMN request_id varchar NULL;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => db.execute_unprepared(POSTGRES_AUDIT).await?,
            _ => db.execute_unprepared(SQLITE_AUDIT).await?,
        };
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_request")
                    .table(Alias::new("audit_event"))
                    .col(Alias::new("request_id"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKey::Table)
                    .if_not_exists()
                    .col(pk_auto(IdempotencyKey::Id))
                    .col(integer(IdempotencyKey::PersonId))
                    .col(string(IdempotencyKey::Key))
                    .col(string(IdempotencyKey::Operation))
                    .col(string(IdempotencyKey::InputHash))
                    .col(string(IdempotencyKey::ResultType))
                    .col(integer(IdempotencyKey::ResultId))
                    .col(timestamp_with_time_zone(IdempotencyKey::CreatedAt))
                    .foreign_key(&mut fk(
                        (IdempotencyKey::Table, IdempotencyKey::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uniq_idempotency_key_person_key")
                    .table(IdempotencyKey::Table)
                    .col(IdempotencyKey::PersonId)
                    .col(IdempotencyKey::Key)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
