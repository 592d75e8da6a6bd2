//! Commissions, institutions' interest, milestones, history, knowledge summaries and uptake.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Commission {
    Table,
    Id,
    RegionId,
    Question,
    ProductTypeId,
    Deadline,
    BudgetNok,
    Status,
    AwardedInstitutionId,
    CreatedByPersonId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CommissionNeed {
    Table,
    CommissionId,
    NeedId,
}

#[derive(DeriveIden)]
enum CommissionInterest {
    Table,
    Id,
    CommissionId,
    InstitutionId,
    Proposal,
    PersonId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CommissionEvent {
    Table,
    Id,
    CommissionId,
    OccurredAt,
    ActorPersonId,
    Kind,
    FromStatus,
    ToStatus,
    Note,
}

#[derive(DeriveIden)]
enum Milestone {
    Table,
    Id,
    CommissionId,
    Title,
    DueAt,
    DoneAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Summary {
    Table,
    Id,
    CommissionId,
    Title,
    AbstractText,
    Language,
    Url,
    Doi,
    Authors,
    DeliveredByPersonId,
    DeliveredAt,
    PublishedAt,
}

#[derive(DeriveIden)]
enum Uptake {
    Table,
    Id,
    SummaryId,
    MunicipalityId,
    Status,
    Note,
    PersonId,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProductType {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Institution {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Need {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Municipality {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Commission::Table)
                    .if_not_exists()
                    .col(pk_auto(Commission::Id))
                    .col(integer(Commission::RegionId))
                    .col(text(Commission::Question))
                    .col(integer(Commission::ProductTypeId))
                    .col(timestamp_with_time_zone(Commission::Deadline))
                    .col(big_integer_null(Commission::BudgetNok))
                    .col(string_len(Commission::Status, 16))
                    .col(integer_null(Commission::AwardedInstitutionId))
                    .col(integer(Commission::CreatedByPersonId))
                    .col(timestamp_with_time_zone(Commission::CreatedAt))
                    .col(timestamp_with_time_zone(Commission::UpdatedAt))
                    .foreign_key(&mut fk(
                        (Commission::Table, Commission::RegionId),
                        (Region::Table, Region::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Commission::Table, Commission::ProductTypeId),
                        (ProductType::Table, ProductType::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Commission::Table, Commission::AwardedInstitutionId),
                        (Institution::Table, Institution::Id),
                    ))
                    .foreign_key(&mut fk(
                        (Commission::Table, Commission::CreatedByPersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommissionNeed::Table)
                    .if_not_exists()
                    .col(integer(CommissionNeed::CommissionId))
                    .col(integer(CommissionNeed::NeedId))
                    .primary_key(
                        Index::create().col(CommissionNeed::CommissionId).col(CommissionNeed::NeedId),
                    )
                    .foreign_key(&mut fk(
                        (CommissionNeed::Table, CommissionNeed::CommissionId),
                        (Commission::Table, Commission::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CommissionNeed::Table, CommissionNeed::NeedId),
                        (Need::Table, Need::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommissionInterest::Table)
                    .if_not_exists()
                    .col(pk_auto(CommissionInterest::Id))
                    .col(integer(CommissionInterest::CommissionId))
                    .col(integer(CommissionInterest::InstitutionId))
                    .col(text(CommissionInterest::Proposal))
                    .col(integer(CommissionInterest::PersonId))
                    .col(timestamp_with_time_zone(CommissionInterest::CreatedAt))
                    .col(timestamp_with_time_zone(CommissionInterest::UpdatedAt))
                    .foreign_key(&mut fk(
                        (CommissionInterest::Table, CommissionInterest::CommissionId),
                        (Commission::Table, Commission::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CommissionInterest::Table, CommissionInterest::InstitutionId),
                        (Institution::Table, Institution::Id),
                    ))
                    .foreign_key(&mut fk(
                        (CommissionInterest::Table, CommissionInterest::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CommissionEvent::Table)
                    .if_not_exists()
                    .col(pk_auto(CommissionEvent::Id))
                    .col(integer(CommissionEvent::CommissionId))
                    .col(timestamp_with_time_zone(CommissionEvent::OccurredAt))
                    .col(integer_null(CommissionEvent::ActorPersonId))
                    .col(string_len(CommissionEvent::Kind, 32))
                    .col(string_len_null(CommissionEvent::FromStatus, 16))
                    .col(string_len_null(CommissionEvent::ToStatus, 16))
                    .col(text_null(CommissionEvent::Note))
                    .foreign_key(&mut fk(
                        (CommissionEvent::Table, CommissionEvent::CommissionId),
                        (Commission::Table, Commission::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Milestone::Table)
                    .if_not_exists()
                    .col(pk_auto(Milestone::Id))
                    .col(integer(Milestone::CommissionId))
                    .col(string(Milestone::Title))
                    .col(timestamp_with_time_zone(Milestone::DueAt))
                    .col(timestamp_with_time_zone_null(Milestone::DoneAt))
                    .col(timestamp_with_time_zone(Milestone::CreatedAt))
                    .foreign_key(&mut fk(
                        (Milestone::Table, Milestone::CommissionId),
                        (Commission::Table, Commission::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Summary::Table)
                    .if_not_exists()
                    .col(pk_auto(Summary::Id))
                    .col(integer_uniq(Summary::CommissionId))
                    .col(text(Summary::Title))
                    .col(text(Summary::AbstractText))
                    .col(string_len(Summary::Language, 8))
                    .col(text_null(Summary::Url))
                    .col(string_null(Summary::Doi))
                    .col(text(Summary::Authors))
                    .col(integer(Summary::DeliveredByPersonId))
                    .col(timestamp_with_time_zone(Summary::DeliveredAt))
                    .col(timestamp_with_time_zone_null(Summary::PublishedAt))
                    .foreign_key(&mut fk(
                        (Summary::Table, Summary::CommissionId),
                        (Commission::Table, Commission::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Uptake::Table)
                    .if_not_exists()
                    .col(pk_auto(Uptake::Id))
                    .col(integer(Uptake::SummaryId))
                    .col(integer(Uptake::MunicipalityId))
                    .col(string_len(Uptake::Status, 16))
                    .col(text_null(Uptake::Note))
                    .col(integer(Uptake::PersonId))
                    .col(timestamp_with_time_zone(Uptake::RecordedAt))
                    .foreign_key(&mut fk((Uptake::Table, Uptake::SummaryId), (Summary::Table, Summary::Id)))
                    .foreign_key(&mut fk(
                        (Uptake::Table, Uptake::MunicipalityId),
                        (Municipality::Table, Municipality::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX idx_commission_region ON commission (region_id, id)",
            "CREATE INDEX idx_commission_status ON commission (status, id)",
            "CREATE INDEX idx_commission_institution ON commission (awarded_institution_id)",
            "CREATE INDEX idx_commission_need_need ON commission_need (need_id)",
            "CREATE UNIQUE INDEX uniq_commission_interest ON commission_interest (commission_id, institution_id)",
            "CREATE INDEX idx_commission_event ON commission_event (commission_id, id)",
            "CREATE INDEX idx_milestone_commission ON milestone (commission_id)",
            "CREATE UNIQUE INDEX uniq_uptake ON uptake (summary_id, municipality_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Uptake::Table.into_iden(),
            Summary::Table.into_iden(),
            Milestone::Table.into_iden(),
            CommissionEvent::Table.into_iden(),
            CommissionInterest::Table.into_iden(),
            CommissionNeed::Table.into_iden(),
            Commission::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
