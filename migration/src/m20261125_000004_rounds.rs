//! Prioritisation rounds: the round, its criteria, its candidate needs and the organisations' scores.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Round {
    Table,
    Id,
    RegionId,
    Name,
    ClosesAt,
    PrioritiseCount,
    Status,
    CreatedByPersonId,
    CreatedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum RoundCriterion {
    Table,
    Id,
    RoundId,
    Key,
    LabelNb,
    LabelNn,
    LabelEn,
    Weight,
}

#[derive(DeriveIden)]
enum RoundCandidate {
    Table,
    RoundId,
    NeedId,
    Outcome,
    Position,
}

#[derive(DeriveIden)]
enum RoundScore {
    Table,
    Id,
    RoundId,
    NeedId,
    CriterionId,
    ClusterId,
    InstitutionId,
    Value,
    PersonId,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Need {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Cluster {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Institution {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Round::Table)
                    .if_not_exists()
                    .col(pk_auto(Round::Id))
                    .col(integer(Round::RegionId))
                    .col(string(Round::Name))
                    .col(timestamp_with_time_zone(Round::ClosesAt))
                    .col(integer(Round::PrioritiseCount))
                    .col(string_len(Round::Status, 16))
                    .col(integer(Round::CreatedByPersonId))
                    .col(timestamp_with_time_zone(Round::CreatedAt))
                    .col(timestamp_with_time_zone_null(Round::ClosedAt))
                    .foreign_key(&mut fk((Round::Table, Round::RegionId), (Region::Table, Region::Id)))
                    .foreign_key(&mut fk(
                        (Round::Table, Round::CreatedByPersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoundCriterion::Table)
                    .if_not_exists()
                    .col(pk_auto(RoundCriterion::Id))
                    .col(integer(RoundCriterion::RoundId))
                    .col(string(RoundCriterion::Key))
                    .col(string(RoundCriterion::LabelNb))
                    .col(string(RoundCriterion::LabelNn))
                    .col(string(RoundCriterion::LabelEn))
                    .col(double(RoundCriterion::Weight))
                    .foreign_key(&mut fk(
                        (RoundCriterion::Table, RoundCriterion::RoundId),
                        (Round::Table, Round::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoundCandidate::Table)
                    .if_not_exists()
                    .col(integer(RoundCandidate::RoundId))
                    .col(integer(RoundCandidate::NeedId))
                    .col(string_len_null(RoundCandidate::Outcome, 40))
                    .col(integer_null(RoundCandidate::Position))
                    .primary_key(Index::create().col(RoundCandidate::RoundId).col(RoundCandidate::NeedId))
                    .foreign_key(&mut fk(
                        (RoundCandidate::Table, RoundCandidate::RoundId),
                        (Round::Table, Round::Id),
                    ))
                    .foreign_key(&mut fk(
                        (RoundCandidate::Table, RoundCandidate::NeedId),
                        (Need::Table, Need::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RoundScore::Table)
                    .if_not_exists()
                    .col(pk_auto(RoundScore::Id))
                    .col(integer(RoundScore::RoundId))
                    .col(integer(RoundScore::NeedId))
                    .col(integer(RoundScore::CriterionId))
                    .col(integer_null(RoundScore::ClusterId))
                    .col(integer_null(RoundScore::InstitutionId))
                    .col(integer(RoundScore::Value))
                    .col(integer(RoundScore::PersonId))
                    .col(timestamp_with_time_zone(RoundScore::UpdatedAt))
                    .check(Expr::cust(
                        "(cluster_id IS NULL) <> (institution_id IS NULL) AND value BETWEEN 1 AND 5",
                    ))
                    .foreign_key(&mut fk((RoundScore::Table, RoundScore::RoundId), (Round::Table, Round::Id)))
                    .foreign_key(&mut fk((RoundScore::Table, RoundScore::NeedId), (Need::Table, Need::Id)))
                    .foreign_key(&mut fk(
                        (RoundScore::Table, RoundScore::CriterionId),
                        (RoundCriterion::Table, RoundCriterion::Id),
                    ))
                    .foreign_key(&mut fk(
                        (RoundScore::Table, RoundScore::ClusterId),
                        (Cluster::Table, Cluster::Id),
                    ))
                    .foreign_key(&mut fk(
                        (RoundScore::Table, RoundScore::InstitutionId),
                        (Institution::Table, Institution::Id),
                    ))
                    .foreign_key(&mut fk(
                        (RoundScore::Table, RoundScore::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX idx_round_region ON round (region_id, id)",
            "CREATE UNIQUE INDEX uniq_round_criterion ON round_criterion (round_id, key)",
            "CREATE INDEX idx_round_candidate_need ON round_candidate (need_id)",
            "CREATE INDEX idx_round_score_round ON round_score (round_id, need_id)",
            // One value per organisation, need and criterion.
            "CREATE UNIQUE INDEX uniq_round_score_cluster ON round_score (round_id, need_id, criterion_id, cluster_id)
                WHERE cluster_id IS NOT NULL",
            "CREATE UNIQUE INDEX uniq_round_score_institution ON round_score (round_id, need_id, criterion_id, institution_id)
                WHERE institution_id IS NOT NULL",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RoundScore::Table.into_iden(),
            RoundCandidate::Table.into_iden(),
            RoundCriterion::Table.into_iden(),
            Round::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
