//! Knowledge needs: the need, its themes, co-signatures, history and evidence; full-text search
//! (FTS5 on SQLite, a `norwegian` tsvector with a GIN index on PostgreSQL); municipality population.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

use crate::common::fk;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Need {
    Table,
    Id,
    MunicipalityId,
    CreatedByPersonId,
    ContactPersonId,
    Title,
    Question,
    Background,
    IntendedUse,
    TargetGroup,
    Urgency,
    ProductTypeId,
    Population,
    Intervention,
    Comparison,
    Outcome,
    Status,
    Version,
    MergedIntoId,
    CosignerCount,
    SubmittedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum NeedTheme {
    Table,
    NeedId,
    ThemeId,
}

#[derive(DeriveIden)]
enum NeedCosign {
    Table,
    Id,
    NeedId,
    MunicipalityId,
    PersonId,
    CarriedFromNeedId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum NeedEvent {
    Table,
    Id,
    NeedId,
    OccurredAt,
    ActorPersonId,
    Kind,
    FromStatus,
    ToStatus,
    Reason,
    RelatedNeedId,
    MunicipalityId,
}

#[derive(DeriveIden)]
enum NeedEvidence {
    Table,
    Id,
    NeedId,
    Title,
    Url,
    Doi,
    Note,
    CreatedByPersonId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Municipality {
    Table,
    Id,
    Population,
}

#[derive(DeriveIden)]
enum Person {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Theme {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProductType {
    Table,
    Id,
}

fn index(name: &str, table: impl IntoIden, cols: Vec<Need>) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for col in cols {
        index.col(col);
    }
    index.to_owned()
}

pub(crate) const SQLITE_SEARCH: &[&str] = &[
    // Diacritics are kept, so "å", "æ" and "ø" stay distinct letters; FTS5 has no Norwegian
    // stemmer, so queries add prefix matching instead (see db::needs).
    "CREATE VIRTUAL TABLE need_fts USING fts5(title, question, background, content='need', content_rowid='id',
        tokenize = 'unicode61 remove_diacritics 0')",
    "CREATE TRIGGER need_fts_insert AFTER INSERT ON need BEGIN
        INSERT INTO need_fts(rowid, title, question, background) VALUES (new.id, new.title, new.question, new.background);
     END",
    "CREATE TRIGGER need_fts_delete AFTER DELETE ON need BEGIN
        INSERT INTO need_fts(need_fts, rowid, title, question, background)
        VALUES ('delete', old.id, old.title, old.question, old.background);
     END",
    "CREATE TRIGGER need_fts_update AFTER UPDATE OF title, question, background ON need BEGIN
        INSERT INTO need_fts(need_fts, rowid, title, question, background)
        VALUES ('delete', old.id, old.title, old.question, old.background);
        INSERT INTO need_fts(rowid, title, question, background) VALUES (new.id, new.title, new.question, new.background);
     END",
];

const POSTGRES_SEARCH: &[&str] = &[
    // The `norwegian` configuration stems bokmål (and much of nynorsk) and keeps æ, ø, å.
    "ALTER TABLE need ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('norwegian', title), 'A') ||
        setweight(to_tsvector('norwegian', question), 'B') ||
        setweight(to_tsvector('norwegian', background), 'C')) STORED",
    "CREATE INDEX idx_need_search ON need USING GIN (search)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Municipality::Table)
                    .add_column(integer_null(Municipality::Population))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Need::Table)
                    .if_not_exists()
                    .col(pk_auto(Need::Id))
                    .col(integer(Need::MunicipalityId))
                    .col(integer(Need::CreatedByPersonId))
                    .col(integer_null(Need::ContactPersonId))
                    .col(string(Need::Title))
                    .col(text(Need::Question))
                    .col(text(Need::Background))
                    .col(text(Need::IntendedUse))
                    .col(text(Need::TargetGroup))
                    .col(string_len(Need::Urgency, 16))
                    .col(integer_null(Need::ProductTypeId))
                    .col(text_null(Need::Population))
                    .col(text_null(Need::Intervention))
                    .col(text_null(Need::Comparison))
                    .col(text_null(Need::Outcome))
                    .col(string_len(Need::Status, 40))
                    .col(integer(Need::Version))
                    .col(integer_null(Need::MergedIntoId))
                    .col(integer(Need::CosignerCount).default(0))
                    .col(timestamp_with_time_zone_null(Need::SubmittedAt))
                    .col(timestamp_with_time_zone(Need::CreatedAt))
                    .col(timestamp_with_time_zone(Need::UpdatedAt))
                    .foreign_key(&mut fk(
                        (Need::Table, Need::MunicipalityId),
                        (Municipality::Table, Municipality::Id),
                    ))
                    .foreign_key(&mut fk((Need::Table, Need::CreatedByPersonId), (Person::Table, Person::Id)))
                    .foreign_key(&mut fk((Need::Table, Need::ContactPersonId), (Person::Table, Person::Id)))
                    .foreign_key(&mut fk(
                        (Need::Table, Need::ProductTypeId),
                        (ProductType::Table, ProductType::Id),
                    ))
                    .foreign_key(&mut fk((Need::Table, Need::MergedIntoId), (Need::Table, Need::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NeedTheme::Table)
                    .if_not_exists()
                    .col(integer(NeedTheme::NeedId))
                    .col(integer(NeedTheme::ThemeId))
                    .primary_key(Index::create().col(NeedTheme::NeedId).col(NeedTheme::ThemeId))
                    .foreign_key(&mut fk((NeedTheme::Table, NeedTheme::NeedId), (Need::Table, Need::Id)))
                    .foreign_key(&mut fk((NeedTheme::Table, NeedTheme::ThemeId), (Theme::Table, Theme::Id)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NeedCosign::Table)
                    .if_not_exists()
                    .col(pk_auto(NeedCosign::Id))
                    .col(integer(NeedCosign::NeedId))
                    .col(integer(NeedCosign::MunicipalityId))
                    .col(integer_null(NeedCosign::PersonId))
                    .col(integer_null(NeedCosign::CarriedFromNeedId))
                    .col(timestamp_with_time_zone(NeedCosign::CreatedAt))
                    .foreign_key(&mut fk((NeedCosign::Table, NeedCosign::NeedId), (Need::Table, Need::Id)))
                    .foreign_key(&mut fk(
                        (NeedCosign::Table, NeedCosign::MunicipalityId),
                        (Municipality::Table, Municipality::Id),
                    ))
                    .foreign_key(&mut fk(
                        (NeedCosign::Table, NeedCosign::PersonId),
                        (Person::Table, Person::Id),
                    ))
                    .foreign_key(&mut fk(
                        (NeedCosign::Table, NeedCosign::CarriedFromNeedId),
                        (Need::Table, Need::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NeedEvent::Table)
                    .if_not_exists()
                    .col(pk_auto(NeedEvent::Id))
                    .col(integer(NeedEvent::NeedId))
                    .col(timestamp_with_time_zone(NeedEvent::OccurredAt))
                    .col(integer_null(NeedEvent::ActorPersonId))
                    .col(string_len(NeedEvent::Kind, 40))
                    .col(string_len_null(NeedEvent::FromStatus, 40))
                    .col(string_len_null(NeedEvent::ToStatus, 40))
                    .col(text_null(NeedEvent::Reason))
                    .col(integer_null(NeedEvent::RelatedNeedId))
                    .col(integer_null(NeedEvent::MunicipalityId))
                    .foreign_key(&mut fk((NeedEvent::Table, NeedEvent::NeedId), (Need::Table, Need::Id)))
                    .foreign_key(&mut fk(
                        (NeedEvent::Table, NeedEvent::ActorPersonId),
                        (Person::Table, Person::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NeedEvidence::Table)
                    .if_not_exists()
                    .col(pk_auto(NeedEvidence::Id))
                    .col(integer(NeedEvidence::NeedId))
                    .col(text(NeedEvidence::Title))
                    .col(text_null(NeedEvidence::Url))
                    .col(string_null(NeedEvidence::Doi))
                    .col(text_null(NeedEvidence::Note))
                    .col(integer_null(NeedEvidence::CreatedByPersonId))
                    .col(timestamp_with_time_zone(NeedEvidence::CreatedAt))
                    .foreign_key(&mut fk(
                        (NeedEvidence::Table, NeedEvidence::NeedId),
                        (Need::Table, Need::Id),
                    ))
                    .to_owned(),
            )
            .await?;

        for statement in [
            index("idx_need_status", Need::Table, vec![Need::Status, Need::Id]),
            index("idx_need_municipality", Need::Table, vec![Need::MunicipalityId, Need::Id]),
            index("idx_need_submitted", Need::Table, vec![Need::SubmittedAt, Need::Id]),
            index("idx_need_updated", Need::Table, vec![Need::UpdatedAt, Need::Id]),
            index("idx_need_created", Need::Table, vec![Need::CreatedAt, Need::Id]),
            index("idx_need_reach", Need::Table, vec![Need::CosignerCount, Need::Id]),
            index("idx_need_merged_into", Need::Table, vec![Need::MergedIntoId]),
        ] {
            manager.create_index(statement).await?;
        }
        let db = manager.get_connection();
        for sql in [
            "CREATE INDEX idx_need_theme_theme ON need_theme (theme_id, need_id)",
            "CREATE UNIQUE INDEX uniq_need_cosign ON need_cosign (need_id, municipality_id)",
            "CREATE INDEX idx_need_cosign_municipality ON need_cosign (municipality_id)",
            "CREATE INDEX idx_need_event_need ON need_event (need_id, id)",
            "CREATE INDEX idx_need_evidence_need ON need_evidence (need_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        let search = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_SEARCH,
            _ => SQLITE_SEARCH,
        };
        for sql in search {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DatabaseBackend::Sqlite {
            for sql in [
                "DROP TRIGGER need_fts_insert",
                "DROP TRIGGER need_fts_delete",
                "DROP TRIGGER need_fts_update",
                "DROP TABLE need_fts",
            ] {
                db.execute_unprepared(sql).await?;
            }
        }
        for table in [
            NeedEvidence::Table.into_iden(),
            NeedEvent::Table.into_iden(),
            NeedCosign::Table.into_iden(),
            NeedTheme::Table.into_iden(),
            Need::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager
            .alter_table(
                Table::alter().table(Municipality::Table).drop_column(Municipality::Population).to_owned(),
            )
            .await
    }
}
