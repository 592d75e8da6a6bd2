//! The tallies `needStats` and `totalCount` read are kept in step with every write: after random
//! submissions, edits of themes, moves, hand-overs, merges and unmerges, a bulk insert and a
//! deletion, each tally equals a full recount of the needs, before and after the migration that
//! made them is undone and done again; and every count the hub answers from a tally equals the
//! same count made from the needs. The search index is kept in step likewise: it holds each
//! need's terms as the hub computes them, and `search_term` how many needs have each.

use chrono::{TimeZone, Utc};
use entity::enums::{NeedStatus, Urgency};
use knowledge_hub::{
    config::RoleArg,
    db::needs::{self, Grouping, NeedFilter, Visibility},
};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait, FromQueryResult, JsonValue, QueryOrder, Statement,
};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, both_databases, cast, need_input};

/// Runs `query` and answers its rows.
async fn rows(app: &TestApp, query: &str) -> Vec<Value> {
    let conn = app.db().background();
    let statement = Statement::from_string(conn.get_database_backend(), query.to_owned());
    JsonValue::find_by_statement(statement).all(conn).await.expect("rows")
}

/// An id by a natural key.
async fn id_of(app: &TestApp, table: &str, key: &str) -> i32 {
    let by = if table == "organisation" { "key = '{key}' OR code" } else { "key" };
    let found =
        rows(app, &format!("SELECT id FROM {table} WHERE {by} = '{key}'").replace("{key}", key)).await;
    found[0]["id"].as_i64().expect("an id") as i32
}

/// A row of a tally, or of a recount: what a tally does not count by is 0 (or `''`).
#[derive(Debug, PartialEq, Eq, FromQueryResult)]
struct Counted {
    theme_id: i32,
    month: String,
    partnership_id: i32,
    organisation_id: i32,
    municipality_id: i32,
    status: String,
    needs: i64,
}

/// A column of a tally: its name, whether the tally has it, how the needs count it, and what
/// stands for it where the tally has none.
type Column<'a> = (&'a str, bool, &'a str, &'a str);

/// Titles an edit gives a need.
const EDITED_TITLES: [&str; 3] =
    ["Demens i barnehagane", "Skulehelsetenesta og ungdom", "Fallforebygging for eldre"];

/// Each tally as stored (a group's slots added up, but groups at 0) against the same counts made
/// from the needs.
async fn assert_tallies_are_recounts(app: &TestApp, when: &str) {
    let conn = app.db().background();
    let backend = conn.get_database_backend();
    let month = match backend {
        sea_orm::DatabaseBackend::Postgres => {
            "COALESCE(to_char(n.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM'), '')"
        }
        _ => "COALESCE(substr(n.submitted_at, 1, 7), '')",
    };
    let names = "theme_id, month, partnership_id, organisation_id, municipality_id, status";
    for (table, theme, by_month, by_place) in [
        ("need_tally", false, false, true),
        ("need_theme_tally", true, false, true),
        ("need_month_tally", false, true, true),
        ("need_theme_pool_tally", true, false, false),
        ("need_month_pool_tally", false, true, false),
    ] {
        let read = |sql: String| async move {
            let statement = Statement::from_string(backend, sql);
            Counted::find_by_statement(statement).all(conn).await.expect("counts")
        };
        // Each column as the tally has it (or a constant where it has none), and as counted.
        let columns = [
            ("theme_id", theme, "nt.theme_id", "0"),
            ("month", by_month, month, "''"),
            ("partnership_id", true, "COALESCE(n.partnership_id, 0)", "0"),
            ("organisation_id", by_place, "COALESCE(n.organisation_id, 0)", "0"),
            ("municipality_id", by_place, "n.municipality_id", "0"),
            ("status", true, "n.status", "''"),
        ];
        let join = |f: &dyn Fn(&Column<'_>) -> String| {
            columns.iter().map(f).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(", ")
        };
        let stored_columns =
            join(&|(name, has, _, none)| if *has { name.to_string() } else { format!("{none} AS {name}") });
        // A group's rows in every slot (PostgreSQL) added up.
        let key = join(&|(name, has, _, _)| if *has { name.to_string() } else { String::new() });
        let stored = read(format!(
            "SELECT {stored_columns}, CAST(SUM(needs) AS BIGINT) AS needs FROM {table} GROUP BY {key} \
             HAVING SUM(needs) <> 0 ORDER BY {names}"
        ))
        .await;
        let selected = join(&|(name, has, e, none)| format!("{} AS {name}", if *has { e } else { none }));
        let grouped = join(&|(_, has, e, _)| if *has { e.to_string() } else { String::new() });
        let from = if theme { "need n JOIN need_theme nt ON nt.need_id = n.id" } else { "need n" };
        let recounted = read(format!(
            "SELECT {selected}, CAST(COUNT(*) AS BIGINT) AS needs FROM {from} GROUP BY {grouped} ORDER BY {names}"
        ))
        .await;
        assert!(!recounted.is_empty(), "{when}: {table} has something to count");
        assert_eq!(stored, recounted, "{when}: {table} against a recount");
    }
}

/// Every grouping of every filter the tallies answer, counted from the tallies and from the needs.
/// The search index holds each need's terms as the `words` crate computes them from its texts,
/// and `search_term` counts the needs of each term.
async fn assert_index_is_the_needs_terms(app: &TestApp, when: &str) {
    let text = |row: &Value, column: &str| row[column].as_str().expect("a text").to_owned();
    let mut expected: Vec<(i64, String, i64)> = Vec::new();
    for need in rows(app, "SELECT id, title, question, background FROM need").await {
        let id = need["id"].as_i64().expect("an id");
        let terms =
            words::need_terms(&text(&need, "title"), &text(&need, "question"), &text(&need, "background"));
        expected.extend(terms.into_iter().map(|t| (id, t.term.clone(), i64::from(t.rank()))));
    }
    expected.sort();
    let indexed: Vec<(i64, String, i64)> =
        rows(app, "SELECT need_id, term, rank FROM need_term ORDER BY need_id, term")
            .await
            .iter()
            .map(|r| {
                (r["need_id"].as_i64().expect("an id"), text(r, "term"), r["rank"].as_i64().expect("a rank"))
            })
            .collect();
    assert_eq!(indexed, expected, "the index {when}");
    let mut needs_of = std::collections::BTreeMap::<String, i64>::new();
    for (_, term, _) in &expected {
        *needs_of.entry(term.clone()).or_default() += 1;
    }
    #[derive(FromQueryResult)]
    struct TermCount {
        term: String,
        needs: i64,
    }
    let conn = app.db().background();
    let sum = "SELECT term, CAST(SUM(needs) AS BIGINT) AS needs FROM search_term GROUP BY term \
               HAVING SUM(needs) <> 0 ORDER BY term";
    let statement = Statement::from_string(conn.get_database_backend(), sum.to_owned());
    let counted: Vec<(String, i64)> = TermCount::find_by_statement(statement)
        .all(conn)
        .await
        .expect("the terms' counts")
        .into_iter()
        .map(|t| (t.term, t.needs))
        .collect();
    assert_eq!(counted, needs_of.into_iter().collect::<Vec<_>>(), "the terms' counts {when}");
}

async fn assert_counts_are_recounts(app: &TestApp) {
    let conn = app.db().conn();
    let theme = rows(app, "SELECT id FROM theme ORDER BY id").await[0]["id"].as_i64().expect("an id") as i32;
    let bergen = id_of(app, "organisation", "4601").await;
    let filters = vec![
        NeedFilter::default(),
        NeedFilter {
            partnership_ids: vec![id_of(app, "partnership", "rso-vest").await],
            ..Default::default()
        },
        NeedFilter { partnership_ids: vec![id_of(app, "partnership", "ksf").await], ..Default::default() },
        NeedFilter {
            organisation_ids: vec![id_of(app, "organisation", "kunnskapskommunen").await],
            ..Default::default()
        },
        NeedFilter { organisation_ids: vec![id_of(app, "organisation", "0301").await], ..Default::default() },
        NeedFilter {
            municipality_id: Some(
                rows(app, "SELECT id FROM municipality WHERE code = '4601'").await[0]["id"]
                    .as_i64()
                    .expect("an id") as i32,
            ),
            ..Default::default()
        },
        NeedFilter { statuses: vec![NeedStatus::Submitted, NeedStatus::Merged], ..Default::default() },
        NeedFilter { theme_ids: vec![theme], ..Default::default() },
        NeedFilter {
            submitted_after: Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).single(),
            submitted_before: Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single(),
            ..Default::default()
        },
        // Counted from the needs: a period not at a month's start, and an urgency.
        NeedFilter {
            submitted_after: Utc.with_ymd_and_hms(2020, 1, 2, 0, 0, 0).single(),
            ..Default::default()
        },
        NeedFilter { urgency: Some(Urgency::High), ..Default::default() },
    ];
    let groupings = [
        Grouping::Status,
        Grouping::Theme,
        Grouping::Cluster,
        Grouping::Municipality,
        Grouping::District,
        Grouping::SubmittedMonth,
    ];
    for visibility in [Visibility::default(), Visibility { draft_units: vec![bergen] }] {
        for filter in &filters {
            let mut total = 0;
            for grouping in groupings {
                let counted = needs::count_by(conn, filter, &visibility, grouping).await.expect("counts");
                let recounted =
                    needs::recount_by(conn, filter, &visibility, grouping).await.expect("recounts");
                assert_eq!(counted, recounted, "{grouping:?} of {filter:?} for {visibility:?}");
                if grouping == Grouping::Status {
                    total = recounted.iter().map(|g| g.n).sum::<i64>();
                }
            }
            let count = needs::count(conn, filter, &visibility).await.expect("a count");
            assert_eq!(count, total, "the total of {filter:?} for {visibility:?}");
        }
    }
}

/// The need's version as `token` reads it, if it may.
async fn version(app: &TestApp, token: &str, need: &Value) -> Option<i64> {
    let (_, body) = app
        .query_as(
            token,
            "query($id: ID!) { node(id: $id) { ... on Need { version } } }",
            json!({ "id": need }),
        )
        .await;
    body["data"]["node"]["version"].as_i64()
}

/// Runs a mutation as the first of `tokens` it succeeds for; whether any did.
async fn act(app: &TestApp, tokens: &[&str], field: &str, input_type: &str, input: Value) -> bool {
    let query =
        format!("mutation($input: {input_type}!) {{ {field}(input: $input) {{ userErrors {{ code }} }} }}");
    for token in tokens {
        let mut input = input.clone();
        if let Some(need) = input.get("need").cloned()
            && input.get("version").is_some()
        {
            match version(app, token, &need).await {
                Some(v) => input["version"] = json!(v),
                None => continue,
            }
        }
        let (_, body) = app.query_as(token, &query, json!({ "input": input })).await;
        if crate::helpers::error_codes(&body) == ["FORBIDDEN"] {
            continue;
        }
        assert!(body.get("errors").is_none(), "{field}: {body}");
        if body["data"][field]["userErrors"].as_array().is_some_and(Vec::is_empty) {
            return true;
        }
    }
    false
}

#[both_databases]
async fn the_tallies_equal_a_full_recount_after_random_writes(app: TestApp) {
    let c = cast(&app).await;
    let district = app.token_for("Ali Khan", RoleArg::UnitMember, "030101").await;
    let oslo = app.token_for("Oda Lie", RoleArg::Coordinator, "omradesatsingene").await;
    let ksf = app.token_for("Kåre Nes", RoleArg::Coordinator, "ksf").await;
    let members = [&c.bergen, &c.askoy, &c.stavanger, &c.bergen_colleague, &district];
    let coordinators = [c.coordinator.as_str(), oslo.as_str(), ksf.as_str()];
    let themes: Vec<Value> = app.data("{ themes { nodes { id } } }").await["themes"]["nodes"]
        .as_array()
        .expect("themes")
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    let mut rng = sample::Rng::new(11);
    // Each need and the member who raised it.
    let mut raised: Vec<(Value, usize)> = Vec::new();
    // How many writes of each kind were allowed.
    let mut done: std::collections::BTreeMap<&str, usize> = Default::default();
    for step in 0..160 {
        let pick = |rng: &mut sample::Rng, n: usize| rng.below(n);
        let some_themes = |rng: &mut sample::Rng| {
            let first = rng.below(themes.len());
            let mut chosen = vec![themes[first].clone()];
            if rng.chance(40) {
                chosen.push(themes[(first + 1 + rng.below(themes.len() - 1)) % themes.len()].clone());
            }
            chosen
        };
        let action = if raised.len() < 4 { 0 } else { rng.below(12) };
        let (kind, succeeded) = match action {
            0..=2 => {
                let owner = pick(&mut rng, members.len());
                let mut input = need_input(&format!("Behov {step}"), &themes[0]);
                input["themes"] = json!(some_themes(&mut rng));
                input["draft"] = json!(rng.chance(25));
                let (_, body) = app
                    .query_as(
                        members[owner],
                        "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } \
                         userErrors { code } } }",
                        json!({ "input": input }),
                    )
                    .await;
                let id = body["data"]["submitNeed"]["need"]["id"].clone();
                assert!(id.is_string(), "{body}");
                raised.push((id, owner));
                ("submitNeed", true)
            }
            3 => {
                let (need, owner) = raised[pick(&mut rng, raised.len())].clone();
                let mut input = json!({ "need": need, "version": 0, "themes": some_themes(&mut rng) });
                if pick(&mut rng, 2) == 0 {
                    // A new title: the need's terms change.
                    input["title"] = json!(EDITED_TITLES[pick(&mut rng, EDITED_TITLES.len())]);
                }
                ("updateNeed", act(&app, &[members[owner]], "updateNeed", "UpdateNeedInput", input).await)
            }
            4 | 5 => {
                let survivor = raised[pick(&mut rng, raised.len())].0.clone();
                let duplicate = raised[pick(&mut rng, raised.len())].0.clone();
                let input = json!({ "survivor": survivor, "duplicates": [duplicate] });
                ("mergeNeeds", act(&app, &coordinators, "mergeNeeds", "MergeNeedsInput", input).await)
            }
            6 => {
                let need = raised[pick(&mut rng, raised.len())].0.clone();
                let input = json!({ "need": need });
                ("unmergeNeed", act(&app, &coordinators, "unmergeNeed", "UnmergeNeedInput", input).await)
            }
            _ => {
                let (need, owner) = raised[pick(&mut rng, raised.len())].clone();
                let input = json!({ "need": need, "version": 0, "reason": "Slik vart det." });
                let (field, by_owner) = [
                    ("resubmitNeed", true),
                    ("withdrawNeed", true),
                    ("acceptNeed", false),
                    ("returnNeed", false),
                    ("rejectNeed", false),
                    ("forwardNeed", false),
                    ("closeNeedWithExistingEvidence", false),
                ][pick(&mut rng, 7)];
                let tokens: Vec<&str> = if by_owner { vec![members[owner]] } else { coordinators.to_vec() };
                (field, act(&app, &tokens, field, "NeedMoveInput", input).await)
            }
        };
        *done.entry(kind).or_default() += usize::from(succeeded);
    }
    // Then the writes chance may have left out, in an order that allows them: a need forwarded
    // to the national pool, one closed, a merge undone.
    let mut fresh = Vec::new();
    for owner in [0, 4, 2, 3] {
        let (_, body) = app
            .query_as(
                members[owner],
                "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
                json!({ "input": need_input("Eit behov til slutt", &themes[owner]) }),
            )
            .await;
        fresh.push(body["data"]["submitNeed"]["need"]["id"].clone());
    }
    let move_input = |need: &Value| json!({ "need": need, "version": 0, "reason": "Slik vart det." });
    for (need, last) in [(&fresh[0], "forwardNeed"), (&fresh[1], "closeNeedWithExistingEvidence")] {
        let evidence = json!({ "need": need, "title": "Ei oversikt", "url": "https://example.no/oversikt" });
        assert!(act(&app, &coordinators, "linkEvidence", "LinkEvidenceInput", evidence).await);
        for field in ["acceptNeed", last] {
            let succeeded = act(&app, &coordinators, field, "NeedMoveInput", move_input(need)).await;
            assert!(succeeded, "{field}");
            *done.entry(field).or_default() += 1;
        }
    }
    let merge = json!({ "survivor": fresh[2], "duplicates": [fresh[3]] });
    assert!(act(&app, &coordinators, "mergeNeeds", "MergeNeedsInput", merge).await);
    assert!(act(&app, &coordinators, "unmergeNeed", "UnmergeNeedInput", json!({ "need": fresh[3] })).await);
    *done.entry("unmergeNeed").or_default() += 1;
    assert_eq!(done.len(), 11, "{done:?}");
    assert!(done.values().all(|n| *n > 0), "every kind of write was allowed at least once: {done:?}");
    let statuses = rows(&app, "SELECT DISTINCT status FROM need ORDER BY status").await;
    assert!(statuses.len() >= 6, "the needs are spread over statuses: {statuses:?}");
    assert_tallies_are_recounts(&app, "after random writes").await;
    assert_index_is_the_needs_terms(&app, "after random writes").await;
    assert_counts_are_recounts(&app).await;

    // A bulk insert (one statement of many needs, then one of their themes), and a deletion.
    let conn = app.db().background();
    let template = entity::need::Entity::find()
        .order_by_desc(entity::need::Column::Id)
        .one(conn)
        .await
        .expect("a need")
        .expect("a need");
    let next = template.id + 1;
    let bulk: Vec<entity::need::ActiveModel> = (0..20)
        .map(|i| {
            let mut need: entity::need::ActiveModel = template.clone().into();
            need.id = Set(next + i);
            need.status =
                Set([NeedStatus::Submitted, NeedStatus::Accepted, NeedStatus::Draft][i as usize % 3]);
            need.submitted_at = Set(Utc.with_ymd_and_hms(2025, 1 + (i as u32 % 12), 3, 0, 0, 0).single());
            need
        })
        .collect();
    entity::need::Entity::insert_many(bulk).exec_without_returning(conn).await.expect("a bulk insert");
    let theme_ids = rows(&app, "SELECT id FROM theme ORDER BY id").await;
    let links: Vec<entity::need_theme::ActiveModel> = (0..20)
        .flat_map(|i| (0..1 + i as usize % 2).map(move |k| (i, k)))
        .map(|(i, k)| entity::need_theme::ActiveModel {
            need_id: Set(next + i),
            theme_id: Set(theme_ids[k]["id"].as_i64().expect("an id") as i32),
        })
        .collect();
    entity::need_theme::Entity::insert_many(links).exec_without_returning(conn).await.expect("their themes");
    // The deleted need had index terms: they go with it (on PostgreSQL by a trigger, not a key
    // checked for each term), and so do their counts.
    let terms: Vec<entity::need_term::ActiveModel> = ["slettast", "barnehag"]
        .into_iter()
        .map(|term| entity::need_term::ActiveModel {
            need_id: Set(next + 1),
            term: Set(term.into()),
            rank: Set(-2),
        })
        .collect();
    entity::need_term::Entity::insert_many(terms).exec_without_returning(conn).await.expect("its terms");
    entity::need::Entity::delete_by_id(next + 1).exec(conn).await.expect("a deletion");
    let left = rows(&app, &format!("SELECT term FROM need_term WHERE need_id = {}", next + 1)).await;
    assert!(left.is_empty(), "a deleted need's terms are left: {left:?}");
    assert_tallies_are_recounts(&app, "after a bulk insert and a deletion").await;
    assert_counts_are_recounts(&app).await;

    // Undone and done again (with those after them), the migrations fill the tallies and the
    // search index from the needs there are, those written around the hub included.
    use migration::{Migrator, MigratorTrait};
    let names: Vec<String> = Migrator::migrations().iter().map(|m| m.name().to_owned()).collect();
    let tallies =
        names.iter().position(|n| n == "m20261201_000018_need_tally").expect("the tallies' migration");
    Migrator::down(conn, Some((names.len() - tallies) as u32)).await.expect("the tallies undone");
    Migrator::up(conn, None).await.expect("the tallies made again");
    assert_tallies_are_recounts(&app, "after the migration again").await;
    assert_index_is_the_needs_terms(&app, "after the migration again").await;
}

/// The tables whose counts writes spread over slots: the tallies and the search terms' counts.
const SLOTTED: [&str; 6] = [
    "need_tally",
    "need_theme_tally",
    "need_month_tally",
    "need_theme_pool_tally",
    "need_month_pool_tally",
    "search_term",
];

/// How many rows of the tallies and the terms' counts are in slots 1 and up.
async fn slotted_rows(conn: &impl sea_orm::ConnectionTrait) -> i64 {
    let mut slotted = 0;
    for table in SLOTTED {
        let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE slot <> 0");
        let statement = Statement::from_string(conn.get_database_backend(), sql);
        let row = JsonValue::find_by_statement(statement).one(conn).await.expect("a count").expect("a row");
        slotted += row["n"].as_i64().expect("a count");
    }
    slotted
}

/// On PostgreSQL a write adds to its groups (and its terms' counts) in the slot of its need
/// (1 + id % 16), not to one row per group that every writer waits for; folds running while sixty needs are submitted by
/// four writers at once move the slots' counts into slot 0 without losing or doubling one.
#[tokio::test]
async fn folds_while_writing_keep_every_count_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let c = cast(&app).await;
    let theme = app.data("{ themes(first: 1) { nodes { id } } }").await["themes"]["nodes"][0]["id"].clone();
    let conn = app.db().background();

    let writers = [&c.bergen, &c.askoy, &c.stavanger, &c.bergen_colleague].map(|token| {
        let (app, theme) = (&app, &theme);
        async move {
            for i in 0..15 {
                let (_, body) = app
                    .query_as(
                        token,
                        "mutation($input: SubmitNeedInput!) { submitNeed(input: $input) { need { id } } }",
                        json!({ "input": need_input(&format!("Samtidig behov {i}"), theme) }),
                    )
                    .await;
                assert!(body["data"]["submitNeed"]["need"]["id"].is_string(), "{body}");
            }
        }
    });
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    let (written, folded) = (AtomicBool::new(false), AtomicU64::new(0));
    let writing = async {
        futures_util::future::join_all(writers).await;
        written.store(true, SeqCst);
    };
    let folding = async {
        while !written.load(SeqCst) {
            folded.fetch_add(needs::fold_tallies(app.db()).await.expect("a fold"), SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::join!(writing, folding);
    assert!(folded.load(SeqCst) > 0, "the folds ran while the needs were written");
    // What the last writes added, folded (a fold of the hub's own may hold rows a moment).
    for _ in 0..50 {
        needs::fold_tallies(app.db()).await.expect("a fold");
        if slotted_rows(conn).await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(slotted_rows(conn).await, 0, "every slot folded");
    assert_tallies_are_recounts(&app, "after folds while writing").await;
    assert_counts_are_recounts(&app).await;

    // Inside a writing transaction (which the hub's own folds skip), the need's rows are in its
    // slot in every tally.
    let txn = sea_orm::TransactionTrait::begin(conn).await.expect("a transaction");
    let template = entity::need::Entity::find()
        .order_by_desc(entity::need::Column::Id)
        .one(&txn)
        .await
        .expect("a need")
        .expect("a need");
    let mut need: entity::need::ActiveModel = template.clone().into();
    need.id = Set(template.id + 1000);
    entity::need::Entity::insert(need).exec_without_returning(&txn).await.expect("a need");
    let link = entity::need_theme::ActiveModel {
        need_id: Set(template.id + 1000),
        theme_id: Set(
            rows(&app, "SELECT id FROM theme ORDER BY id").await[0]["id"].as_i64().expect("an id") as i32
        ),
    };
    entity::need_theme::Entity::insert(link).exec_without_returning(&txn).await.expect("its theme");
    let term =
        format!("INSERT INTO need_term (need_id, term, rank) VALUES ({}, 'prøveord', 1)", template.id + 1000);
    txn.execute_unprepared(&term).await.expect("a term");
    for table in SLOTTED {
        let sql = format!("SELECT DISTINCT slot FROM {table} WHERE slot <> 0 ORDER BY slot");
        let statement = Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql);
        let slots = JsonValue::find_by_statement(statement).all(&txn).await.expect("slots");
        assert_eq!(slots, [json!({ "slot": 1 + (template.id + 1000) % 16 })], "{table}");
    }
    txn.rollback().await.expect("rolled back");
}
