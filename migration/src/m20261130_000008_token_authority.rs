//! Token authority: who minted a token and the regions that bound it (a token minted for someone
//! else never carries more than the regions its minter coordinates, now: `bound_by_person_id`); the regions a person is registered in
//! besides their home region; and repeat counts for audit events of refusals.
//!
//! Existing tokens minted by someone other than their owner (the `token.create` audit event names
//! the minter) are bound to the regions their minter coordinates now, the best record there is
//! of what the minter held.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApiToken {
    Table,
    Id,
    MintedByPersonId,
    MintedByTokenId,
    RegionBound,
    BoundByPersonId,
}

#[derive(DeriveIden)]
enum ApiTokenRegion {
    Table,
    TokenId,
    RegionId,
}

#[derive(DeriveIden)]
enum PersonRegion {
    Table,
    PersonId,
    RegionId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Repeats,
    LastOccurredAt,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
}

/// Tokens whose `token.create` event names another person as the actor were minted by them.
const BACKFILL: &str = "
UPDATE api_token SET minted_by_person_id = (
    SELECT a.actor_person_id FROM audit_event a
    WHERE a.action = 'token.create' AND a.target_type = 'ApiToken' AND a.target_id = api_token.id
    ORDER BY a.id LIMIT 1);
UPDATE api_token SET region_bound = TRUE, bound_by_person_id = minted_by_person_id
    WHERE minted_by_person_id IS NOT NULL AND minted_by_person_id <> person_id;
INSERT INTO api_token_region (token_id, region_id)
    SELECT t.id, m.region_id FROM api_token t
    JOIN membership m ON m.person_id = t.minted_by_person_id AND m.role = 'COORDINATOR'
    WHERE t.region_bound AND m.region_id IS NOT NULL;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            integer_null(ApiToken::MintedByPersonId),
            integer_null(ApiToken::MintedByTokenId),
            boolean(ApiToken::RegionBound).default(false).to_owned(),
            integer_null(ApiToken::BoundByPersonId),
        ];
        for column in columns {
            manager.alter_table(Table::alter().table(ApiToken::Table).add_column(column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(ApiTokenRegion::Table)
                    .col(integer(ApiTokenRegion::TokenId))
                    .col(integer(ApiTokenRegion::RegionId))
                    .primary_key(Index::create().col(ApiTokenRegion::TokenId).col(ApiTokenRegion::RegionId))
                    .foreign_key(&mut fk(
                        (ApiTokenRegion::Table, ApiTokenRegion::TokenId),
                        (ApiToken::Table, ApiToken::Id),
                    ))
                    .foreign_key(&mut fk(
                        (ApiTokenRegion::Table, ApiTokenRegion::RegionId),
                        (Region::Table, Region::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PersonRegion::Table)
                    .col(integer(PersonRegion::PersonId))
                    .col(integer(PersonRegion::RegionId))
                    .col(timestamp_with_time_zone(PersonRegion::CreatedAt))
                    .primary_key(Index::create().col(PersonRegion::PersonId).col(PersonRegion::RegionId))
                    .foreign_key(&mut fk(
                        (PersonRegion::Table, PersonRegion::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .foreign_key(&mut fk(
                        (PersonRegion::Table, PersonRegion::RegionId),
                        (Region::Table, Region::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_person_region_region")
                    .table(PersonRegion::Table)
                    .col(PersonRegion::RegionId)
                    .to_owned(),
            )
            .await?;
        let columns = [
            integer(AuditEvent::Repeats).default(1).to_owned(),
            timestamp_with_time_zone_null(AuditEvent::LastOccurredAt),
        ];
        for column in columns {
            manager
                .alter_table(Table::alter().table(AuditEvent::Table).add_column(column).to_owned())
                .await?;
        }
        manager.get_connection().execute_unprepared(BACKFILL).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PersonRegion::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(ApiTokenRegion::Table).to_owned()).await?;
        for column in [
            ApiToken::MintedByPersonId,
            ApiToken::MintedByTokenId,
            ApiToken::RegionBound,
            ApiToken::BoundByPersonId,
        ] {
            manager.alter_table(Table::alter().table(ApiToken::Table).drop_column(column).to_owned()).await?;
        }
        for column in [AuditEvent::Repeats, AuditEvent::LastOccurredAt] {
            manager
                .alter_table(Table::alter().table(AuditEvent::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
