//! Webhooks: the endpoints organisations register (`webhook_endpoint`), the secrets that sign
//! their messages (`webhook_secret`: the current one, and one rotated out that signs beside it
//! until it expires) and every attempt to deliver to them (`delivery_attempt`).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoint {
    Table,
    Id,
    OrganisationId,
    Url,
    EventKinds,
    Description,
    CreatedByPersonId,
    DisabledAt,
    DisabledReason,
    ConsecutiveFailures,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookSecret {
    Table,
    Id,
    EndpointId,
    Secret,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum DeliveryAttempt {
    Table,
    Id,
    EndpointId,
    MessageId,
    AttemptedAt,
    StatusCode,
    DurationMs,
    Error,
}

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoint::Table)
                    .col(pk_auto(WebhookEndpoint::Id))
                    .col(integer(WebhookEndpoint::OrganisationId))
                    .col(text(WebhookEndpoint::Url))
                    .col(text(WebhookEndpoint::EventKinds))
                    .col(text_null(WebhookEndpoint::Description))
                    .col(integer_null(WebhookEndpoint::CreatedByPersonId))
                    .col(timestamp_with_time_zone_null(WebhookEndpoint::DisabledAt))
                    .col(text_null(WebhookEndpoint::DisabledReason))
                    .col(integer(WebhookEndpoint::ConsecutiveFailures).default(0))
                    .col(timestamp_with_time_zone(WebhookEndpoint::CreatedAt))
                    .foreign_key(&mut fk(
                        (WebhookEndpoint::Table, WebhookEndpoint::OrganisationId),
                        (Organisation::Table, Organisation::Id),
                    ))
                    .foreign_key(&mut fk(
                        (WebhookEndpoint::Table, WebhookEndpoint::CreatedByPersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoint_organisation")
                    .table(WebhookEndpoint::Table)
                    .col(WebhookEndpoint::OrganisationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookSecret::Table)
                    .col(pk_auto(WebhookSecret::Id))
                    .col(integer(WebhookSecret::EndpointId))
                    .col(text(WebhookSecret::Secret))
                    .col(timestamp_with_time_zone(WebhookSecret::CreatedAt))
                    .col(timestamp_with_time_zone_null(WebhookSecret::ExpiresAt))
                    .foreign_key(&mut fk(
                        (WebhookSecret::Table, WebhookSecret::EndpointId),
                        (WebhookEndpoint::Table, WebhookEndpoint::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_secret_endpoint")
                    .table(WebhookSecret::Table)
                    .col(WebhookSecret::EndpointId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeliveryAttempt::Table)
                    .col(pk_auto(DeliveryAttempt::Id))
                    .col(integer(DeliveryAttempt::EndpointId))
                    .col(string_len(DeliveryAttempt::MessageId, 255))
                    .col(timestamp_with_time_zone(DeliveryAttempt::AttemptedAt))
                    .col(integer_null(DeliveryAttempt::StatusCode))
                    .col(big_integer(DeliveryAttempt::DurationMs))
                    .col(text_null(DeliveryAttempt::Error))
                    .foreign_key(&mut fk(
                        (DeliveryAttempt::Table, DeliveryAttempt::EndpointId),
                        (WebhookEndpoint::Table, WebhookEndpoint::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // An endpoint's attempts are read newest first, and a message's failures counted.
        manager
            .create_index(
                Index::create()
                    .name("idx_delivery_attempt_endpoint")
                    .table(DeliveryAttempt::Table)
                    .col(DeliveryAttempt::EndpointId)
                    .col(DeliveryAttempt::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_delivery_attempt_message")
                    .table(DeliveryAttempt::Table)
                    .col(DeliveryAttempt::EndpointId)
                    .col(DeliveryAttempt::MessageId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [DeliveryAttempt::Table.into_iden(), WebhookSecret::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(WebhookEndpoint::Table).to_owned()).await
    }
}
