//! Identity and access: people, their memberships (roles in organisations), API tokens, and the
//! audit log of changes to them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
    Name,
    Email,
    HomeRegionId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Membership {
    Table,
    Id,
    PersonId,
    Role,
    RegionId,
    ClusterId,
    MunicipalityId,
    InstitutionId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiToken {
    Table,
    Id,
    PersonId,
    Name,
    Prefix,
    SecretHash,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    OccurredAt,
    ActorPersonId,
    ActorTokenId,
    ActorLabel,
    Action,
    TargetType,
    TargetId,
    RegionId,
    Detail,
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cluster {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Municipality {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Institution {
    Table,
    Id,
}

/// The role decides which one organisation column is set.
const MEMBERSHIP_ORGANISATION_MATCHES_ROLE: &str = "
    (role = 'COORDINATOR' AND region_id IS NOT NULL AND cluster_id IS NULL AND municipality_id IS NULL AND institution_id IS NULL)
 OR (role = 'CLUSTER_COORDINATOR' AND cluster_id IS NOT NULL AND region_id IS NULL AND municipality_id IS NULL AND institution_id IS NULL)
 OR (role = 'MUNICIPALITY_MEMBER' AND municipality_id IS NOT NULL AND region_id IS NULL AND cluster_id IS NULL AND institution_id IS NULL)
 OR (role = 'INSTITUTION_MEMBER' AND institution_id IS NOT NULL AND region_id IS NULL AND cluster_id IS NULL AND municipality_id IS NULL)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Person::Table)
                    .if_not_exists()
                    .col(pk_auto(Person::Id))
                    .col(string(Person::Name))
                    .col(string_uniq(Person::Email))
                    .col(integer_null(Person::HomeRegionId))
                    .col(timestamp_with_time_zone(Person::CreatedAt))
                    .foreign_key(&mut fk((Person::Table, Person::HomeRegionId), (Region::Table, Region::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Membership::Table)
                    .if_not_exists()
                    .col(pk_auto(Membership::Id))
                    .col(integer(Membership::PersonId))
                    .col(string_len(Membership::Role, 32))
                    .col(integer_null(Membership::RegionId))
                    .col(integer_null(Membership::ClusterId))
                    .col(integer_null(Membership::MunicipalityId))
                    .col(integer_null(Membership::InstitutionId))
                    .col(timestamp_with_time_zone(Membership::CreatedAt))
                    .check(Expr::cust(MEMBERSHIP_ORGANISATION_MATCHES_ROLE))
                    .foreign_key(&mut fk(
                        (Membership::Table, Membership::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Membership::Table, Membership::RegionId),
                        (Region::Table, Region::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Membership::Table, Membership::ClusterId),
                        (Cluster::Table, Cluster::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Membership::Table, Membership::MunicipalityId),
                        (Municipality::Table, Municipality::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Membership::Table, Membership::InstitutionId),
                        (Institution::Table, Institution::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiToken::Table)
                    .if_not_exists()
                    .col(pk_auto(ApiToken::Id))
                    .col(integer(ApiToken::PersonId))
                    .col(string(ApiToken::Name))
                    .col(string_len(ApiToken::Prefix, 16))
                    .col(string_len_uniq(ApiToken::SecretHash, 64))
                    .col(timestamp_with_time_zone(ApiToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::LastUsedAt))
                    .foreign_key(&mut fk((ApiToken::Table, ApiToken::PersonId), (Person::Table, Person::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .if_not_exists()
                    .col(pk_auto(AuditEvent::Id))
                    .col(timestamp_with_time_zone(AuditEvent::OccurredAt))
                    .col(integer_null(AuditEvent::ActorPersonId))
                    .col(integer_null(AuditEvent::ActorTokenId))
                    .col(string_null(AuditEvent::ActorLabel))
                    .col(string(AuditEvent::Action))
                    .col(string(AuditEvent::TargetType))
                    .col(integer(AuditEvent::TargetId))
                    .col(integer_null(AuditEvent::RegionId))
                    .col(text_null(AuditEvent::Detail))
                    .to_owned(),
            )
            .await?;

        let indexes = [
            Index::create()
                .name("idx_membership_person")
                .table(Membership::Table)
                .col(Membership::PersonId)
                .to_owned(),
            Index::create()
                .name("idx_api_token_person")
                .table(ApiToken::Table)
                .col(ApiToken::PersonId)
                .to_owned(),
            Index::create()
                .name("idx_audit_event_region_time")
                .table(AuditEvent::Table)
                .col(AuditEvent::RegionId)
                .col(AuditEvent::OccurredAt)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }
        // One membership per person and organisation: partial unique indexes, one per
        // organisation column (both SQLite and PostgreSQL support `WHERE` on an index).
        let db = manager.get_connection();
        for column in ["region_id", "cluster_id", "municipality_id", "institution_id"] {
            db.execute_unprepared(&format!(
                "CREATE UNIQUE INDEX uniq_membership_person_{column} ON membership (person_id, {column}) \
                 WHERE {column} IS NOT NULL"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvent::Table.into_iden(),
            ApiToken::Table.into_iden(),
            Membership::Table.into_iden(),
            Person::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
