//! Organisations as one typed tree, and partnerships.
//!
//! Every unit the hub serves is a row of `organisation`: the national body, regions (RSOs),
//! counties, clusters, municipalities, city districts, programmes, sub-programmes, projects,
//! institutions and state partners, each under its `parent`. `organisation_ancestor` is the
//! tree's closure (every organisation with each of its ancestors and itself, at their distance),
//! kept in step in the writing transaction, so "is this need under that organisation?" is one
//! indexed look-up at any depth. The typed tables (region, county, cluster, municipality,
//! institution) keep their facts and gain the id of their organisation.
//!
//! A partnership is a prioritising body (KSF, RSO Vest, Områdesatsingene, Universitetskommunen
//! Oslo), run by its body organisation, with member organisations (whose subtrees it serves; some
//! of them raise needs in it). The first partnership the hub knew was a region's RSO, and every
//! `region_id` column names the body that holds authority (coordinators, rounds, commissions, the
//! audit log, token bounds): so the `region` table becomes `partnership`, keeping its ids and
//! every reference to them, and a region is now an organisation of kind REGION whose RSO is its
//! partnership.
//!
//! Every row an existing database already has in the typed tables gets its organisation here (so
//! later migrations may refer to it); the reference-data loader then places them in the tree,
//! adds the rest of the country and writes the closure.

use sea_orm_migration::{prelude::*, schema::*};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organisation {
    Table,
    Id,
    Kind,
    Key,
    Code,
    Name,
    ParentId,
    ClosedAt,
    EditedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OrganisationAncestor {
    Table,
    OrganisationId,
    AncestorId,
    Depth,
}

#[derive(DeriveIden)]
enum Region {
    Table,
}

#[derive(DeriveIden)]
enum Partnership {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PartnershipMember {
    Table,
    PartnershipId,
    OrganisationId,
    AcceptsNeeds,
    CreatedAt,
}

/// The tables whose rows are organisations (or, for a partnership, are run by one) and gain its id.
#[derive(DeriveIden, Clone, Copy)]
enum Typed {
    Partnership,
    County,
    Cluster,
    Municipality,
    Institution,
}

const TYPED: [Typed; 5] =
    [Typed::Partnership, Typed::County, Typed::Cluster, Typed::Municipality, Typed::Institution];

#[derive(DeriveIden)]
enum Typedcol {
    OrganisationId,
    Key,
    Code,
    Name,
}

/// Each typed table, the organisation kind of its rows, and the column that names a row (a key,
/// or an official code), which is how an organisation is found again.
const KINDS: [(Typed, &str, Typedcol); 5] = [
    (Typed::Partnership, "REGION", Typedcol::Key),
    (Typed::County, "COUNTY", Typedcol::Code),
    (Typed::Cluster, "CLUSTER", Typedcol::Key),
    (Typed::Municipality, "MUNICIPALITY", Typedcol::Code),
    (Typed::Institution, "INSTITUTION", Typedcol::Key),
];

/// One organisation for every row of the typed tables that has none, linked to it.
async fn link_existing_rows(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let now = sea_orm_migration::sea_orm::prelude::ChronoUtc::now();
    for (table, kind, naming) in KINDS {
        let naming = naming.to_string();
        let (key, code) = match naming.as_str() {
            "code" => (Expr::cust("NULL"), Expr::col((table, Typedcol::Code))),
            _ => (Expr::col((table, Typedcol::Key)), Expr::cust("NULL")),
        };
        let insert = Query::insert()
            .into_table(Organisation::Table)
            .columns([
                Organisation::Kind,
                Organisation::Key,
                Organisation::Code,
                Organisation::Name,
                Organisation::CreatedAt,
            ])
            .select_from(
                Query::select()
                    .expr(Expr::val(kind))
                    .expr(key)
                    .expr(code)
                    .column((table, Typedcol::Name))
                    .expr(Expr::val(now))
                    .from(table)
                    .and_where(Expr::col((table, Typedcol::OrganisationId)).is_null())
                    .order_by((table, Alias::new("id")), Order::Asc)
                    .to_owned(),
            )
            .map_err(|e| DbErr::Migration(e.to_string()))?
            .to_owned();
        db.execute(&insert).await?;
        let naming_column = Alias::new(naming.as_str());
        let link = Query::update()
            .table(table)
            .value(
                Typedcol::OrganisationId,
                Expr::expr(SimpleExpr::SubQuery(
                    None,
                    Box::new(
                        Query::select()
                            .column((Organisation::Table, Organisation::Id))
                            .from(Organisation::Table)
                            .and_where(Expr::col((Organisation::Table, Organisation::Kind)).eq(kind))
                            .and_where(
                                Expr::col((Organisation::Table, naming_column.clone()))
                                    .equals((table, naming_column.clone())),
                            )
                            .to_owned()
                            .into_sub_query_statement(),
                    ),
                )),
            )
            .and_where(Expr::col((table, Typedcol::OrganisationId)).is_null())
            .to_owned();
        db.execute(&link).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Organisation::Table)
                    .col(pk_auto(Organisation::Id))
                    .col(string_len(Organisation::Kind, 16))
                    .col(string_null(Organisation::Key).unique_key())
                    .col(string_null(Organisation::Code).unique_key())
                    .col(string(Organisation::Name))
                    .col(integer_null(Organisation::ParentId))
                    .col(timestamp_with_time_zone_null(Organisation::ClosedAt))
                    .col(timestamp_with_time_zone_null(Organisation::EditedAt))
                    .col(timestamp_with_time_zone(Organisation::CreatedAt))
                    .foreign_key(&mut fk(
                        (Organisation::Table, Organisation::ParentId),
                        (Organisation::Table, Organisation::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_organisation_parent", Organisation::ParentId),
            ("idx_organisation_kind", Organisation::Kind),
        ] {
            manager
                .create_index(Index::create().name(name).table(Organisation::Table).col(col).to_owned())
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(OrganisationAncestor::Table)
                    .col(integer(OrganisationAncestor::OrganisationId))
                    .col(integer(OrganisationAncestor::AncestorId))
                    .col(integer(OrganisationAncestor::Depth))
                    .primary_key(
                        Index::create()
                            .col(OrganisationAncestor::OrganisationId)
                            .col(OrganisationAncestor::AncestorId),
                    )
                    .foreign_key(&mut fk(
                        (OrganisationAncestor::Table, OrganisationAncestor::OrganisationId),
                        (Organisation::Table, Organisation::Id),
                    ))
                    .foreign_key(&mut fk(
                        (OrganisationAncestor::Table, OrganisationAncestor::AncestorId),
                        (Organisation::Table, Organisation::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // Descendants of an organisation: the scope of a coordinator, a filter, a dashboard.
        manager
            .create_index(
                Index::create()
                    .name("idx_organisation_ancestor_descendants")
                    .table(OrganisationAncestor::Table)
                    .col(OrganisationAncestor::AncestorId)
                    .col(OrganisationAncestor::OrganisationId)
                    .to_owned(),
            )
            .await?;
        // Both databases carry the foreign keys that name `region` over to the new name.
        manager.rename_table(Table::rename().table(Region::Table, Partnership::Table).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(PartnershipMember::Table)
                    .col(integer(PartnershipMember::PartnershipId))
                    .col(integer(PartnershipMember::OrganisationId))
                    .col(boolean(PartnershipMember::AcceptsNeeds).default(false))
                    .col(timestamp_with_time_zone(PartnershipMember::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(PartnershipMember::PartnershipId)
                            .col(PartnershipMember::OrganisationId),
                    )
                    .foreign_key(&mut fk(
                        (PartnershipMember::Table, PartnershipMember::PartnershipId),
                        (Partnership::Table, Partnership::Id),
                    ))
                    .foreign_key(&mut fk(
                        (PartnershipMember::Table, PartnershipMember::OrganisationId),
                        (Organisation::Table, Organisation::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_partnership_member_organisation")
                    .table(PartnershipMember::Table)
                    .col(PartnershipMember::OrganisationId)
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per ALTER TABLE, and a foreign key only inline; the loader sets
        // these for every row, and the unique index keeps one row per organisation.
        for table in TYPED {
            manager
                .alter_table(
                    Table::alter().table(table).add_column(integer_null(Typedcol::OrganisationId)).to_owned(),
                )
                .await?;
            manager
                .create_index(
                    Index::create()
                        .name(format!("idx_{}_organisation", table.to_string()))
                        .table(table)
                        .col(Typedcol::OrganisationId)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        link_existing_rows(manager).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TYPED {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("idx_{}_organisation", table.to_string()))
                        .table(table)
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(Table::alter().table(table).drop_column(Typedcol::OrganisationId).to_owned())
                .await?;
        }
        manager.drop_table(Table::drop().table(PartnershipMember::Table).to_owned()).await?;
        manager.rename_table(Table::rename().table(Partnership::Table, Region::Table).to_owned()).await?;
        for table in [OrganisationAncestor::Table.into_iden(), Organisation::Table.into_iden()] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
