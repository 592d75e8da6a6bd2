//! Notification e-mail: the hub's signing key (made at random on first start, for the
//! unsubscribe links in its mails), each person's choices of which notifications to receive and
//! how (`notification_preference`; without a row, their roles' default), and the language of a
//! person's mails (`person.language`, bokmål unless they choose otherwise).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum HubKey {
    Table,
    Name,
    Secret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NotificationPreference {
    Table,
    PersonId,
    EventKind,
    Cadence,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
    Language,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(HubKey::Table)
                    .col(string_len(HubKey::Name, 32).primary_key())
                    .col(text(HubKey::Secret))
                    .col(timestamp_with_time_zone(HubKey::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NotificationPreference::Table)
                    .col(integer(NotificationPreference::PersonId))
                    .col(string_len(NotificationPreference::EventKind, 40))
                    .col(string_len(NotificationPreference::Cadence, 16))
                    .col(timestamp_with_time_zone(NotificationPreference::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(NotificationPreference::PersonId)
                            .col(NotificationPreference::EventKind),
                    )
                    .foreign_key(&mut fk(
                        (NotificationPreference::Table, NotificationPreference::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .check(Expr::col(NotificationPreference::Cadence).is_in(["IMMEDIATE", "DIGEST", "OFF"]))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Person::Table)
                    .add_column(string_len(Person::Language, 2).default("nb").to_owned())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Person::Table).drop_column(Person::Language).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(NotificationPreference::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(HubKey::Table).to_owned()).await
    }
}
