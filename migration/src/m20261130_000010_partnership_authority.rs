//! Authority by partnership, memberships in any unit, and needs raised in any unit.
//!
//! - Every column that named a region as the body holding authority names it for what it is now,
//!   a partnership: `round`, `commission`, `audit_event`, `membership`, `institution` (the
//!   partnership that registered it), `cluster` and `county` (the regional partnership over
//!   them), `person.home_partnership_id`, `person_partnership` and `api_token_partnership` (the
//!   partnerships a person is registered in and a token is bound to). Ids do not change.
//! - A membership is held in a partnership (COORDINATOR) or in an organisation of any kind:
//!   UNIT_COORDINATOR (what CLUSTER_COORDINATOR was, for any unit), UNIT_MEMBER (what
//!   MUNICIPALITY_MEMBER was) and INSTITUTION_MEMBER. One `organisation_id` replaces the three
//!   typed columns; SQLite rebuilds the table (its CHECK cannot be altered), PostgreSQL alters it.
//! - A need records the organisation it was raised in and the partnership whose pool it is in; a
//!   co-signature the organisation it was given for. Existing rows are filled from their
//!   municipality.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Which organisation column a membership's role takes.
const MEMBERSHIP_ORGANISATION_MATCHES_ROLE: &str = "
    (role = 'COORDINATOR' AND partnership_id IS NOT NULL AND organisation_id IS NULL)
 OR (role IN ('UNIT_COORDINATOR', 'UNIT_MEMBER', 'INSTITUTION_MEMBER')
     AND organisation_id IS NOT NULL AND partnership_id IS NULL)";

/// A membership's organisation, from the typed column it was held in.
const MEMBERSHIP_ORGANISATION: &str = "COALESCE(
    (SELECT organisation_id FROM cluster WHERE cluster.id = membership.cluster_id),
    (SELECT organisation_id FROM municipality WHERE municipality.id = membership.municipality_id),
    (SELECT organisation_id FROM institution WHERE institution.id = membership.institution_id))";

const MEMBERSHIP_ROLE: &str = "CASE role
    WHEN 'CLUSTER_COORDINATOR' THEN 'UNIT_COORDINATOR'
    WHEN 'MUNICIPALITY_MEMBER' THEN 'UNIT_MEMBER'
    ELSE role END";

/// One membership per person and partnership, and per person and organisation; the members of
/// an organisation found by index.
const MEMBERSHIP_INDEXES: &str = "
CREATE INDEX idx_membership_person ON membership (person_id);
CREATE UNIQUE INDEX uniq_membership_person_partnership ON membership (person_id, partnership_id)
    WHERE partnership_id IS NOT NULL;
CREATE UNIQUE INDEX uniq_membership_person_organisation ON membership (person_id, organisation_id)
    WHERE organisation_id IS NOT NULL;
CREATE INDEX idx_membership_organisation ON membership (organisation_id);
";

fn sqlite_membership() -> String {
    format!(
        "BEGIN;
CREATE TABLE membership_new (
    id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
    person_id integer NOT NULL REFERENCES person (id) ON DELETE RESTRICT,
    role varchar(32) NOT NULL,
    partnership_id integer NULL REFERENCES partnership (id) ON DELETE RESTRICT,
    organisation_id integer NULL REFERENCES organisation (id) ON DELETE RESTRICT,
    created_at timestamp_with_timezone_text NOT NULL,
    CHECK ({MEMBERSHIP_ORGANISATION_MATCHES_ROLE}));
INSERT INTO membership_new (id, person_id, role, partnership_id, organisation_id, created_at)
    SELECT id, person_id, {MEMBERSHIP_ROLE}, region_id, {MEMBERSHIP_ORGANISATION}, created_at
    FROM membership ORDER BY id;
-- Ids of removed memberships are never given out again (the audit log names them).
UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = 'membership')
    WHERE name = 'membership_new' AND EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'membership');
DROP TABLE membership;
ALTER TABLE membership_new RENAME TO membership;
{MEMBERSHIP_INDEXES}
COMMIT;"
    )
}

fn postgres_membership() -> String {
    format!(
        "ALTER TABLE membership ADD COLUMN organisation_id integer NULL
    REFERENCES organisation (id) ON DELETE RESTRICT;
DO $$ DECLARE c text; BEGIN
    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'membership'::regclass AND contype = 'c'
    LOOP EXECUTE format('ALTER TABLE membership DROP CONSTRAINT %I', c); END LOOP;
END $$;
UPDATE membership SET organisation_id = {MEMBERSHIP_ORGANISATION}, role = {MEMBERSHIP_ROLE};
DROP INDEX idx_membership_person;
DROP INDEX uniq_membership_person_region_id;
ALTER TABLE membership DROP COLUMN cluster_id, DROP COLUMN municipality_id, DROP COLUMN institution_id;
ALTER TABLE membership RENAME COLUMN region_id TO partnership_id;
ALTER TABLE membership ADD CONSTRAINT membership_organisation_matches_role
    CHECK ({MEMBERSHIP_ORGANISATION_MATCHES_ROLE});
{MEMBERSHIP_INDEXES}"
    )
}

/// Columns that name the partnership holding authority, renamed for it.
const RENAMED_COLUMNS: [(&str, &str, &str); 10] = [
    ("round", "region_id", "partnership_id"),
    ("commission", "region_id", "partnership_id"),
    ("audit_event", "region_id", "partnership_id"),
    ("institution", "region_id", "partnership_id"),
    ("cluster", "region_id", "partnership_id"),
    ("county", "region_id", "partnership_id"),
    ("person", "home_region_id", "home_partnership_id"),
    ("person_partnership", "region_id", "partnership_id"),
    ("api_token_partnership", "region_id", "partnership_id"),
    ("api_token", "region_bound", "partnership_bound"),
];

const NEED_COLUMNS: &str = "
ALTER TABLE need ADD COLUMN organisation_id integer NULL REFERENCES organisation (id) ON DELETE RESTRICT;
ALTER TABLE need ADD COLUMN partnership_id integer NULL REFERENCES partnership (id) ON DELETE RESTRICT;
ALTER TABLE need_cosign ADD COLUMN organisation_id integer NULL REFERENCES organisation (id) ON DELETE RESTRICT;
UPDATE need SET
    organisation_id = (SELECT organisation_id FROM municipality m WHERE m.id = need.municipality_id),
    partnership_id = (SELECT c.partnership_id FROM municipality m JOIN county c ON c.id = m.county_id
                      WHERE m.id = need.municipality_id);
UPDATE need_cosign SET
    organisation_id = (SELECT organisation_id FROM municipality m WHERE m.id = need_cosign.municipality_id);
CREATE INDEX idx_need_organisation ON need (organisation_id);
CREATE INDEX idx_need_partnership ON need (partnership_id, status);
CREATE INDEX idx_need_cosign_organisation ON need_cosign (organisation_id);
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (from, to) in
            [("person_region", "person_partnership"), ("api_token_region", "api_token_partnership")]
        {
            manager.rename_table(Table::rename().table(Alias::new(from), Alias::new(to)).to_owned()).await?;
        }
        let membership = match db.get_database_backend() {
            DbBackend::Sqlite => sqlite_membership(),
            _ => postgres_membership(),
        };
        db.execute_unprepared(&membership).await?;
        for (table, from, to) in RENAMED_COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .rename_column(Alias::new(from), Alias::new(to))
                        .to_owned(),
                )
                .await?;
        }
        db.execute_unprepared(NEED_COLUMNS).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // Memberships held in units that were not a cluster, municipality or institution have no
        // place in the old table: going back would lose them.
        Err(DbErr::Migration("authority by partnership cannot be undone; restore a backup instead".into()))
    }
}
