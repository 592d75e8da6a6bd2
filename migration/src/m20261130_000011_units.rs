//! Units of any kind score, co-sign and are named in a need's history.
//!
//! - A round is scored by a unit (an organisation of the tree, coordinated by a UNIT_COORDINATOR)
//!   or an institution: `round_score.organisation_id` replaces `cluster_id`, and existing scores
//!   move to their cluster's organisation. SQLite rebuilds the table (a column in a foreign key
//!   cannot be dropped there), PostgreSQL alters it.
//! - A co-signature is one per need and unit (two districts of Oslo may both co-sign); its
//!   `municipality_id` stays, as the municipality the unit is in.
//! - A history event names the unit that co-signed, or the national authority a need was passed
//!   on to (`need_event.organisation_id`, filled for existing co-signatures from their
//!   municipality), and the partnership whose pool a forwarded need left
//!   (`need_event.partnership_id`).

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The organisation of a score's cluster.
const SCORE_ORGANISATION: &str =
    "(SELECT organisation_id FROM cluster WHERE cluster.id = round_score.cluster_id)";

/// One value per scoring organisation, need and criterion.
const SCORE_INDEXES: &str = "
CREATE INDEX idx_round_score_round ON round_score (round_id, need_id);
CREATE UNIQUE INDEX uniq_round_score_unit ON round_score (round_id, need_id, criterion_id, organisation_id)
    WHERE organisation_id IS NOT NULL;
CREATE UNIQUE INDEX uniq_round_score_institution ON round_score (round_id, need_id, criterion_id, institution_id)
    WHERE institution_id IS NOT NULL;
";

const SCORER_CHECK: &str = "(organisation_id IS NULL) <> (institution_id IS NULL) AND value BETWEEN 1 AND 5";

fn sqlite() -> String {
    format!(
        "BEGIN;
CREATE TABLE round_score_new (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    round_id integer NOT NULL REFERENCES round (id) ON DELETE RESTRICT,
    need_id integer NOT NULL REFERENCES need (id) ON DELETE RESTRICT,
    criterion_id integer NOT NULL REFERENCES round_criterion (id) ON DELETE RESTRICT,
    organisation_id integer NULL REFERENCES organisation (id) ON DELETE RESTRICT,
    institution_id integer NULL REFERENCES institution (id) ON DELETE RESTRICT,
    value integer NOT NULL,
    person_id integer NOT NULL REFERENCES person (id) ON DELETE RESTRICT,
    updated_at timestamp_with_timezone_text NOT NULL,
    CHECK ({SCORER_CHECK}));
INSERT INTO round_score_new
    (id, round_id, need_id, criterion_id, organisation_id, institution_id, value, person_id, updated_at)
    SELECT id, round_id, need_id, criterion_id, {SCORE_ORGANISATION}, institution_id, value, person_id,
        updated_at
    FROM round_score ORDER BY id;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'round_score')
    WHERE name = 'round_score_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'round_score');
DROP TABLE round_score;
ALTER TABLE round_score_new RENAME TO round_score;
{SCORE_INDEXES}
COMMIT;"
    )
}

fn postgres() -> String {
    format!(
        "ALTER TABLE round_score ADD COLUMN organisation_id integer NULL
    REFERENCES organisation (id) ON DELETE RESTRICT;
DO $$ DECLARE c text; BEGIN
    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'round_score'::regclass AND contype = 'c'
    LOOP EXECUTE format('ALTER TABLE round_score DROP CONSTRAINT %I', c); END LOOP;
END $$;
UPDATE round_score SET organisation_id = {SCORE_ORGANISATION};
DROP INDEX idx_round_score_round;
DROP INDEX uniq_round_score_cluster;
DROP INDEX uniq_round_score_institution;
ALTER TABLE round_score DROP COLUMN cluster_id;
ALTER TABLE round_score ADD CONSTRAINT round_score_one_scorer CHECK ({SCORER_CHECK});
{SCORE_INDEXES}"
    )
}

const COSIGNS_BY_UNIT: &str = "
DROP INDEX uniq_need_cosign;
CREATE UNIQUE INDEX uniq_need_cosign_unit ON need_cosign (need_id, organisation_id);
ALTER TABLE need_event ADD COLUMN organisation_id integer NULL REFERENCES organisation (id) ON DELETE RESTRICT;
ALTER TABLE need_event ADD COLUMN partnership_id integer NULL REFERENCES partnership (id) ON DELETE RESTRICT;
UPDATE need_event SET organisation_id =
    (SELECT organisation_id FROM municipality m WHERE m.id = need_event.municipality_id)
    WHERE municipality_id IS NOT NULL;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let sql = match db.get_database_backend() {
            DbBackend::Sqlite => sqlite(),
            _ => postgres(),
        };
        db.execute_unprepared(&sql).await?;
        db.execute_unprepared(COSIGNS_BY_UNIT).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Scores given by units that are not clusters have no place in the old table.
        Err(DbErr::Migration("unit scores cannot be undone; restore a backup instead".into()))
    }
}
