//! How many needs there are, kept in step with the needs: `needStats` and `totalCount` read a
//! few thousand tally rows instead of counting a million needs.
//!
//! Each tally counts needs by the dimensions the counts filter and group by:
//! - `need_tally`: by partnership (pool), organisation (the unit that raised it), municipality and
//!   status;
//! - `need_theme_tally`: the same for each theme a need has (a need with two themes counts under
//!   both);
//! - `need_month_tally`: the same by the month (UTC) it was submitted, `''` for a need never
//!   submitted;
//! - `need_theme_pool_tally` and `need_month_pool_tally`: by theme or month, partnership and
//!   status only, a hundredth of the rows for the counts that ask nothing of the place (the whole
//!   country's, a partnership's).
//!
//! A missing partnership or organisation is kept as 0 (no row has that id), since a key with a
//! NULL in it never conflicts with another and so could not be added to. A count that falls to 0
//! stays as a row: the readers skip groups whose sum is 0.
//!
//! Triggers keep them in step in the writing transaction, whatever writes: a new need, a change
//! of any counted column (a status move, a merge and its undoing, a hand-over to another pool, a
//! submission), themes added or taken away, a need deleted (which first deletes its themes, so
//! their counts are taken away while the need still names its place). PostgreSQL counts each
//! statement's rows at once (statement triggers with transition tables), so a bulk insert adds
//! one sum per group, in the order of the tallies' keys (so two writers lock shared rows in the
//! same order); SQLite, with one writer, counts row by row.
//!
//! The tallies are filled from the needs that exist when this migration runs.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

use crate::common::run_all;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What a tally counts by besides the place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Nothing,
    Theme,
    Month,
}

/// How finely a tally tells where a need was raised.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    /// Partnership, organisation, municipality and status.
    Place,
    /// Partnership and status.
    Pool,
}

/// Whether a tally's groups are spread over slots (PostgreSQL, from the migration `tally_slots`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slots {
    /// One row per group.
    None,
    /// Writes add to the group's row in the slot of the need (`slot` in the key).
    Spread,
}

pub(crate) struct Tally {
    name: &'static str,
    by: By,
    level: Level,
}

pub(crate) const TALLIES: [Tally; 5] = [
    Tally { name: "need_tally", by: By::Nothing, level: Level::Place },
    Tally { name: "need_theme_tally", by: By::Theme, level: Level::Place },
    Tally { name: "need_month_tally", by: By::Month, level: Level::Place },
    Tally { name: "need_theme_pool_tally", by: By::Theme, level: Level::Pool },
    Tally { name: "need_month_pool_tally", by: By::Month, level: Level::Pool },
];

impl Tally {
    /// The key's columns, with how each is computed from a row of `need` (or a row image such
    /// as `NEW.`) named `row`, and its theme id as `theme`; the slot last where the migration
    /// `tally_slots` added it.
    fn key(&self, backend: DbBackend, row: &str, theme: &str, slots: Slots) -> Vec<(&'static str, String)> {
        let mut key = match self.by {
            By::Nothing => vec![],
            By::Theme => vec![("theme_id", theme.to_owned())],
            By::Month => vec![("month", month(backend, row))],
        };
        key.push(("partnership_id", format!("COALESCE({row}partnership_id, 0)")));
        if self.level == Level::Place {
            key.push(("organisation_id", format!("COALESCE({row}organisation_id, 0)")));
            key.push(("municipality_id", format!("{row}municipality_id")));
        }
        key.push(("status", format!("{row}status")));
        if slots == Slots::Spread {
            key.push(("slot", crate::m20261201_000021_tally_slots::slot(row)));
        }
        key
    }

    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// The key's columns, comma-separated.
    pub(crate) fn columns(&self, slots: Slots) -> String {
        self.key(DbBackend::Sqlite, "", "", slots).iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }

    /// An upsert that adds the rows of `source` (the key's values in order, then the count).
    fn add(&self, source: &str, slots: Slots) -> String {
        let (table, columns) = (self.name, self.columns(slots));
        format!(
            "INSERT INTO {table} ({columns}, needs) {source}
             ON CONFLICT ({columns}) DO UPDATE SET needs = {table}.needs + excluded.needs"
        )
    }

    fn create(&self, backend: DbBackend) -> String {
        let count = match backend {
            DbBackend::Postgres => "bigint",
            _ => "integer",
        };
        let columns: String = self
            .key(backend, "", "", Slots::None)
            .iter()
            .map(|(column, _)| {
                let ty = match *column {
                    "month" => "varchar(7)",
                    "status" => "varchar(40)",
                    _ => "integer",
                };
                format!("{column} {ty} NOT NULL, ")
            })
            .collect();
        format!(
            "CREATE TABLE {} ({columns}needs {count} NOT NULL, PRIMARY KEY ({}))",
            self.name,
            self.columns(Slots::None)
        )
    }

    /// Fills the tally from the needs there are.
    fn fill(&self, backend: DbBackend) -> String {
        let key = self.key(backend, "n.", "nt.theme_id", Slots::None);
        let values = key.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join(", ");
        let from = match self.by {
            By::Theme => "need n JOIN need_theme nt ON nt.need_id = n.id",
            _ => "need n",
        };
        // `WHERE true`: SQLite's parser needs it before an upsert's ON CONFLICT.
        self.add(&format!("SELECT {values}, COUNT(*) FROM {from} WHERE true GROUP BY {values}"), Slots::None)
    }
}

/// A row's submission month.
fn month(backend: DbBackend, row: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("COALESCE(to_char({row}submitted_at AT TIME ZONE 'UTC', 'YYYY-MM'), '')")
        }
        // SQLite keeps timestamps as ISO text starting with the UTC date.
        _ => format!("COALESCE(substr({row}submitted_at, 1, 7), '')"),
    }
}

/// Statements joined as a trigger's body.
fn body(statements: impl IntoIterator<Item = String>) -> String {
    statements.into_iter().map(|s| format!("{s};")).collect::<Vec<_>>().join("\n")
}

/// PostgreSQL: adds `rows` (a query over the transition tables, or a row image: rows of `need`
/// with a `delta` of +1 or -1, and a `theme_id` where `theme` says so) to `tallies`, each group
/// once, in key order. A theme tally counts each theme of a need, joined from `need_theme` where
/// `rows` names none.
fn postgres_apply(rows: &str, tallies: &[&Tally], theme: Option<&str>, slots: Slots) -> String {
    let backend = DbBackend::Postgres;
    body(tallies.iter().map(|tally| {
        let key = tally.key(backend, "r.", theme.unwrap_or("nt.theme_id"), slots);
        let values = key.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join(", ");
        let from = match (tally.by, theme) {
            (By::Theme, None) => format!("({rows}) r JOIN need_theme nt ON nt.need_id = r.id"),
            _ => format!("({rows}) r"),
        };
        tally.add(
            &format!(
                "SELECT {values}, SUM(r.delta) FROM {from} GROUP BY {values} HAVING SUM(r.delta) <> 0 ORDER BY \
                 {values}"
            ),
            slots,
        )
    }))
}

/// A PL/pgSQL trigger function running `body` (made, or replaced where it exists).
pub(crate) fn postgres_function(name: &str, body: String) -> String {
    format!(
        "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
         {body}
         RETURN NULL;
         END $$"
    )
}

/// PostgreSQL: the function this migration's statement trigger on updates of `need` runs.
pub(crate) fn postgres_updated_function() -> String {
    let all: Vec<&Tally> = TALLIES.iter().collect();
    postgres_function(
        "need_tally_updated",
        postgres_apply(
            "SELECT o.*, -1 AS delta FROM old_rows o UNION ALL SELECT n.*, 1 AS delta FROM new_rows n",
            &all,
            None,
            Slots::None,
        ),
    )
}

/// PostgreSQL: the statement trigger on updates of `need` this migration makes.
pub(crate) const POSTGRES_UPDATE_TRIGGER: &str =
    "CREATE TRIGGER need_tally_update AFTER UPDATE ON need REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
     FOR EACH STATEMENT EXECUTE FUNCTION need_tally_updated()";

/// The columns of `need` a tally counts by.
pub(crate) const COUNTED: [&str; 5] =
    ["status", "organisation_id", "municipality_id", "partnership_id", "submitted_at"];

/// PostgreSQL: the function of a row trigger on updates of `need` (its row images `OLD` and
/// `NEW`), the one the migration `tally_row_update` puts in place of the statement trigger.
pub(crate) fn postgres_row_updated_function(name: &str, slots: Slots) -> String {
    let all: Vec<&Tally> = TALLIES.iter().collect();
    postgres_function(
        name,
        postgres_apply("SELECT (OLD).*, -1 AS delta UNION ALL SELECT (NEW).*, 1 AS delta", &all, None, slots),
    )
}

/// PostgreSQL: the functions of the statement triggers on inserts and deletes of `need` and on
/// every write of `need_theme`, which count the changed rows of each statement by group.
pub(crate) fn postgres_counting_functions(slots: Slots) -> Vec<String> {
    let unthemed: Vec<&Tally> = TALLIES.iter().filter(|t| t.by != By::Theme).collect();
    let themed: Vec<&Tally> = TALLIES.iter().filter(|t| t.by == By::Theme).collect();
    // A need's themes are counted through the theme rows: at insert it has none yet.
    let inserted = postgres_apply("SELECT n.*, 1 AS delta FROM new_rows n", &unthemed, None, slots);
    let deleted = postgres_apply("SELECT o.*, -1 AS delta FROM old_rows o", &unthemed, None, slots);
    // Theme rows, each counted with its need's place.
    let theme_rows = |rows: &str| {
        postgres_apply(
            &format!("SELECT n.*, t.theme_id, t.delta FROM ({rows}) t JOIN need n ON n.id = t.need_id"),
            &themed,
            Some("r.theme_id"),
            slots,
        )
    };
    vec![
        postgres_function("need_tally_inserted", inserted),
        postgres_function("need_tally_deleted", deleted),
        postgres_function(
            "need_theme_tally_inserted",
            theme_rows("SELECT need_id, theme_id, 1 AS delta FROM new_rows"),
        ),
        postgres_function(
            "need_theme_tally_updated",
            theme_rows(
                "SELECT need_id, theme_id, -1 AS delta FROM old_rows
                 UNION ALL SELECT need_id, theme_id, 1 AS delta FROM new_rows",
            ),
        ),
        postgres_function(
            "need_theme_tally_deleted",
            theme_rows("SELECT need_id, theme_id, -1 AS delta FROM old_rows"),
        ),
    ]
}

/// PostgreSQL: statement triggers that count the changed rows of each statement by group.
fn postgres_triggers() -> Vec<String> {
    let mut statements = postgres_counting_functions(Slots::None);
    statements.push(postgres_updated_function());
    statements.extend([
        // Before a need goes, its themes go (their counts taken away while the need is there).
        "CREATE FUNCTION need_tally_deleting() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
         DELETE FROM need_theme WHERE need_id = OLD.id;
         RETURN OLD;
         END $$"
            .into(),
        "CREATE TRIGGER need_tally_insert AFTER INSERT ON need REFERENCING NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION need_tally_inserted()"
            .into(),
        POSTGRES_UPDATE_TRIGGER.into(),
        "CREATE TRIGGER need_tally_delete AFTER DELETE ON need REFERENCING OLD TABLE AS old_rows
         FOR EACH STATEMENT EXECUTE FUNCTION need_tally_deleted()"
            .into(),
        "CREATE TRIGGER need_tally_deleting BEFORE DELETE ON need FOR EACH ROW EXECUTE FUNCTION need_tally_deleting()"
            .into(),
        "CREATE TRIGGER need_theme_tally_insert AFTER INSERT ON need_theme REFERENCING NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION need_theme_tally_inserted()"
            .into(),
        "CREATE TRIGGER need_theme_tally_update AFTER UPDATE ON need_theme
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
         FOR EACH STATEMENT EXECUTE FUNCTION need_theme_tally_updated()"
            .into(),
        "CREATE TRIGGER need_theme_tally_delete AFTER DELETE ON need_theme REFERENCING OLD TABLE AS old_rows
         FOR EACH STATEMENT EXECUTE FUNCTION need_theme_tally_deleted()"
            .into(),
    ]);
    statements
}

/// SQLite: row triggers, each adding one need (or theme row) to or taking it from its groups.
fn sqlite_triggers() -> Vec<String> {
    let backend = DbBackend::Sqlite;
    // `need`'s row image `row` added to the tallies with `delta` (the theme tallies only where
    // `themes`, for each theme row of the need).
    let apply = |row: &str, delta: i32, themes: bool| {
        body(TALLIES.iter().filter(|t| themes || t.by != By::Theme).map(|tally| {
            let key = tally.key(backend, row, "theme_id", Slots::None);
            let values = key.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join(", ");
            match tally.by {
                // `WHERE true`: SQLite's parser needs it before an upsert's ON CONFLICT.
                By::Theme => tally.add(
                    &format!("SELECT {values}, {delta} FROM need_theme WHERE need_id = {row}id AND true"),
                    Slots::None,
                ),
                _ => tally.add(&format!("VALUES ({values}, {delta})"), Slots::None),
            }
        }))
    };
    // A theme row `row` added with `delta`, with its need's place.
    let theme_row = |row: &str, delta: i32| {
        body(TALLIES.iter().filter(|t| t.by == By::Theme).map(|tally| {
            let key = tally.key(backend, "n.", &format!("{row}theme_id"), Slots::None);
            let values = key.iter().map(|(_, e)| e.as_str()).collect::<Vec<_>>().join(", ");
            tally.add(
                &format!("SELECT {values}, {delta} FROM need n WHERE n.id = {row}need_id AND true"),
                Slots::None,
            )
        }))
    };
    let changed = changed("IS NOT");
    vec![
        format!(
            "CREATE TRIGGER need_tally_insert AFTER INSERT ON need BEGIN {} END",
            apply("NEW.", 1, false)
        ),
        format!(
            "CREATE TRIGGER need_tally_update AFTER UPDATE OF {} ON need WHEN {changed} BEGIN {} {} END",
            COUNTED.join(", "),
            apply("OLD.", -1, true),
            apply("NEW.", 1, true)
        ),
        format!(
            "CREATE TRIGGER need_tally_delete BEFORE DELETE ON need BEGIN
             DELETE FROM need_theme WHERE need_id = OLD.id; {} END",
            apply("OLD.", -1, false)
        ),
        format!(
            "CREATE TRIGGER need_theme_tally_insert AFTER INSERT ON need_theme BEGIN {} END",
            theme_row("NEW.", 1)
        ),
        format!(
            "CREATE TRIGGER need_theme_tally_update AFTER UPDATE ON need_theme BEGIN {} {} END",
            theme_row("OLD.", -1),
            theme_row("NEW.", 1)
        ),
        format!(
            "CREATE TRIGGER need_theme_tally_delete AFTER DELETE ON need_theme BEGIN {} END",
            theme_row("OLD.", -1)
        ),
    ]
}

/// Whether a counted column of `need` changed from `OLD` to `NEW`, `distinct` being the
/// database's operator for "differs, NULL being a value".
pub(crate) fn changed(distinct: &str) -> String {
    COUNTED.iter().map(|c| format!("OLD.{c} {distinct} NEW.{c}")).collect::<Vec<_>>().join(" OR ")
}

fn up(backend: DbBackend) -> Vec<String> {
    let mut statements: Vec<String> = TALLIES.iter().map(|t| t.create(backend)).collect();
    statements.extend(TALLIES.iter().map(|t| t.fill(backend)));
    statements.extend(match backend {
        DbBackend::Postgres => postgres_triggers(),
        _ => sqlite_triggers(),
    });
    statements
}

fn down(backend: DbBackend) -> Vec<String> {
    let mut statements: Vec<String> = match backend {
        DbBackend::Postgres => [
            "need_tally_inserted",
            "need_tally_updated",
            "need_tally_deleted",
            "need_tally_deleting",
            "need_theme_tally_inserted",
            "need_theme_tally_updated",
            "need_theme_tally_deleted",
        ]
        .iter()
        .map(|f| format!("DROP FUNCTION {f}() CASCADE"))
        .collect(),
        _ => [
            "need_tally_insert",
            "need_tally_update",
            "need_tally_delete",
            "need_theme_tally_insert",
            "need_theme_tally_update",
            "need_theme_tally_delete",
        ]
        .iter()
        .map(|t| format!("DROP TRIGGER {t}"))
        .collect(),
    };
    statements.extend(TALLIES.iter().map(|t| format!("DROP TABLE {}", t.name)));
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, up(manager.get_database_backend())).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_all(manager, down(manager.get_database_backend())).await
    }
}
