//! Reference data: regions, counties, clusters, municipalities, institutions, themes,
//! product types and criteria, plus the record of which reference-data version was loaded.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Region {
    Table,
    Id,
    Key,
    Name,
}

#[derive(DeriveIden)]
enum County {
    Table,
    Id,
    Code,
    Name,
    RegionId,
}

#[derive(DeriveIden)]
enum Cluster {
    Table,
    Id,
    Key,
    RegionId,
    Name,
    Area,
}

#[derive(DeriveIden)]
enum Municipality {
    Table,
    Id,
    Code,
    Name,
    CountyId,
    ClusterId,
    ClusterMembership,
}

#[derive(DeriveIden)]
enum Institution {
    Table,
    Id,
    Key,
    RegionId,
    ShortName,
    Name,
    Kind,
}

#[derive(DeriveIden)]
enum Labelled {
    Id,
    Key,
    LabelNb,
    LabelNn,
    LabelEn,
}

#[derive(DeriveIden)]
enum Theme {
    Table,
}

#[derive(DeriveIden)]
enum ProductType {
    Table,
}

#[derive(DeriveIden)]
enum Criterion {
    Table,
    Weight,
    QuestionEn,
}

#[derive(DeriveIden)]
enum ReferenceDataLoad {
    Table,
    Version,
    LoadedAt,
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// A table of a key and labels in the three languages; themes, product types and criteria share it.
fn labelled_table(table: impl IntoIden) -> TableCreateStatement {
    Table::create()
        .table(table)
        .if_not_exists()
        .col(pk_auto(Labelled::Id))
        .col(string_uniq(Labelled::Key))
        .col(string(Labelled::LabelNb))
        .col(string(Labelled::LabelNn))
        .col(string(Labelled::LabelEn))
        .to_owned()
}

/// An index on a foreign-key column, so relation look-ups (and DataLoader batches) are indexed.
fn fk_index(name: &str, table: impl IntoIden, col: impl IntoIden) -> IndexCreateStatement {
    Index::create().if_not_exists().name(name).table(table).col(col).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Region::Table)
                    .if_not_exists()
                    .col(pk_auto(Region::Id))
                    .col(string_uniq(Region::Key))
                    .col(string(Region::Name))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(County::Table)
                    .if_not_exists()
                    .col(pk_auto(County::Id))
                    .col(string_uniq(County::Code))
                    .col(string(County::Name))
                    .col(integer_null(County::RegionId))
                    .foreign_key(&mut fk(County::Table, County::RegionId, Region::Table, Region::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Cluster::Table)
                    .if_not_exists()
                    .col(pk_auto(Cluster::Id))
                    .col(string_uniq(Cluster::Key))
                    .col(integer(Cluster::RegionId))
                    .col(string(Cluster::Name))
                    .col(string(Cluster::Area))
                    .foreign_key(&mut fk(Cluster::Table, Cluster::RegionId, Region::Table, Region::Id))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Municipality::Table)
                    .if_not_exists()
                    .col(pk_auto(Municipality::Id))
                    .col(string_len_uniq(Municipality::Code, 4))
                    .col(string(Municipality::Name))
                    .col(integer(Municipality::CountyId))
                    .col(integer_null(Municipality::ClusterId))
                    .col(string_len(Municipality::ClusterMembership, 16))
                    .foreign_key(&mut fk(
                        Municipality::Table,
                        Municipality::CountyId,
                        County::Table,
                        County::Id,
                    ))
                    .foreign_key(&mut fk(
                        Municipality::Table,
                        Municipality::ClusterId,
                        Cluster::Table,
                        Cluster::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Institution::Table)
                    .if_not_exists()
                    .col(pk_auto(Institution::Id))
                    .col(string_uniq(Institution::Key))
                    .col(integer(Institution::RegionId))
                    .col(string(Institution::ShortName))
                    .col(string(Institution::Name))
                    .col(string_len(Institution::Kind, 32))
                    .foreign_key(&mut fk(
                        Institution::Table,
                        Institution::RegionId,
                        Region::Table,
                        Region::Id,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_table(labelled_table(Theme::Table)).await?;
        manager.create_table(labelled_table(ProductType::Table)).await?;
        manager
            .create_table(
                labelled_table(Criterion::Table)
                    .col(double(Criterion::Weight))
                    .col(text(Criterion::QuestionEn))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReferenceDataLoad::Table)
                    .if_not_exists()
                    .col(string(ReferenceDataLoad::Version).primary_key())
                    .col(timestamp_with_time_zone(ReferenceDataLoad::LoadedAt))
                    .to_owned(),
            )
            .await?;

        for index in [
            fk_index("idx_county_region", County::Table, County::RegionId),
            fk_index("idx_cluster_region", Cluster::Table, Cluster::RegionId),
            fk_index("idx_municipality_county", Municipality::Table, Municipality::CountyId),
            fk_index("idx_municipality_cluster", Municipality::Table, Municipality::ClusterId),
            fk_index("idx_institution_region", Institution::Table, Institution::RegionId),
        ] {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ReferenceDataLoad::Table.into_iden(),
            Criterion::Table.into_iden(),
            ProductType::Table.into_iden(),
            Theme::Table.into_iden(),
            Institution::Table.into_iden(),
            Municipality::Table.into_iden(),
            Cluster::Table.into_iden(),
            County::Table.into_iden(),
            Region::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
