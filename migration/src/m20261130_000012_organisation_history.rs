//! An organisation's history is the audit log's changes to it (`Organisation.history`): they are
//! found by their target, so the log gets an index on it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    TargetType,
    TargetId,
    Id,
}

const INDEX: &str = "idx_audit_event_target";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(AuditEvent::Table)
                    .col(AuditEvent::TargetType)
                    .col(AuditEvent::TargetId)
                    .col(AuditEvent::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(AuditEvent::Table).to_owned()).await
    }
}
