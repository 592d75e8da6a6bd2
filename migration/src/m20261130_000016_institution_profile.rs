//! Institutions' profiles: the themes (`institution_theme`) and product types
//! (`institution_product_type`) an institution wants to hear of when a commission opens. No rows
//! means "not narrowed": an institution without a profile hears of every commission. A profile
//! goes with its institution (ON DELETE CASCADE); a theme or product type in a profile cannot be
//! deleted from under it. The second index of each table finds the institutions of a theme or
//! product type (the matching of an opened commission starts from its themes).

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum InstitutionTheme {
    Table,
    ThemeId,
}

#[derive(DeriveIden, Clone, Copy)]
enum InstitutionProductType {
    Table,
    ProductTypeId,
}

/// The column both tables start with.
#[derive(DeriveIden, Clone, Copy)]
enum Profile {
    InstitutionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum Institution {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Theme {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum ProductType {
    Table,
    Id,
}

/// A link table `(institution_id, other)` with its composite key, its foreign keys and the index
/// from `other` back to the institutions.
async fn link(
    manager: &SchemaManager<'_>,
    table: impl IntoIden + Copy + 'static,
    other: impl IntoIden + Copy + 'static,
    target: (impl IntoIden + Copy + 'static, impl IntoIden + Copy + 'static),
    index: &str,
) -> Result<(), DbErr> {
    let institution = Profile::InstitutionId;
    manager
        .create_table(
            Table::create()
                .table(table)
                .col(integer(institution))
                .col(integer(other))
                .primary_key(Index::create().col(institution).col(other))
                .foreign_key(
                    ForeignKey::create()
                        .from(table, institution)
                        .to(Institution::Table, Institution::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(&mut fk((table, other), target))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(Index::create().name(index).table(table).col(other).col(institution).to_owned())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        link(
            manager,
            InstitutionTheme::Table,
            InstitutionTheme::ThemeId,
            (Theme::Table, Theme::Id),
            "idx_institution_theme_theme",
        )
        .await?;
        link(
            manager,
            InstitutionProductType::Table,
            InstitutionProductType::ProductTypeId,
            (ProductType::Table, ProductType::Id),
            "idx_institution_product_type_product_type",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(InstitutionProductType::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(InstitutionTheme::Table).to_owned()).await
    }
}
