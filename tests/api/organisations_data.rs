//! The national reference data as organisations: the tree the loader makes over the typed rows,
//! its closure (after loading and after moves), the partnerships, loading again, and the upgrade
//! of a database that had only RSO Vest.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use entity::{
    cluster, county, enums::OrganisationKind, institution, municipality, organisation, organisation_ancestor,
    partnership, partnership_member,
};
use knowledge_hub::{
    app::prepare_database,
    db::{
        Db,
        audit::Actor,
        needs,
        organisations::tree::{self, TreeError},
        reference_data::{self, Bundle, Outcome},
    },
    domain::organisations::MAX_DEPTH,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::helpers::{Backend, TestApp, both_databases};

/// Checks that the closure is exactly what the parents give: each organisation with itself at
/// depth 0 and every ancestor at its distance, nothing else. Returns how many organisations there
/// are.
pub(crate) async fn closure_follows_the_parents(conn: &impl ConnectionTrait) -> usize {
    let organisations = organisation::Entity::find().all(conn).await.expect("organisations");
    let parent: HashMap<i32, Option<i32>> = organisations.iter().map(|o| (o.id, o.parent_id)).collect();
    let mut expected = BTreeSet::new();
    for o in &organisations {
        let (mut at, mut depth) = (Some(o.id), 0);
        while let Some(ancestor) = at {
            expected.insert((o.id, ancestor, depth));
            depth += 1;
            assert!(depth <= MAX_DEPTH + 1, "organisation {} is in a cycle or too deep", o.id);
            at = parent[&ancestor];
        }
    }
    let actual: BTreeSet<(i32, i32, i32)> = organisation_ancestor::Entity::find()
        .all(conn)
        .await
        .expect("the closure")
        .into_iter()
        .map(|a| (a.organisation_id, a.ancestor_id, a.depth))
        .collect();
    let missing: Vec<_> = expected.difference(&actual).take(5).collect();
    let extra: Vec<_> = actual.difference(&expected).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    organisations.len()
}

/// Checks that every typed row has an organisation of its kind, with its key or code and its name.
async fn every_typed_row_has_its_organisation(conn: &impl ConnectionTrait) {
    let organisations: HashMap<i32, organisation::Model> =
        organisation::Entity::find().all(conn).await.expect("read").into_iter().map(|o| (o.id, o)).collect();
    let check = |link: Option<i32>,
                 kind: OrganisationKind,
                 key: Option<&str>,
                 code: Option<&str>,
                 name: &str| {
        let o = &organisations[&link.unwrap_or_else(|| panic!("{key:?}{code:?} has no organisation"))];
        assert_eq!((o.kind, o.key.as_deref(), o.code.as_deref(), o.name.as_str()), (kind, key, code, name));
    };
    // A partnership is run by the organisation of its own key: a region's RSO by the region.
    for p in partnership::Entity::find().all(conn).await.expect("read") {
        let body = &organisations[&p.organisation_id.unwrap_or_else(|| panic!("{} has no body", p.key))];
        assert_eq!((body.key.as_deref(), body.name.as_str()), (Some(p.key.as_str()), p.name.as_str()));
        if p.key.starts_with("rso-") {
            assert_eq!(body.kind, OrganisationKind::Region, "{}", p.key);
        }
    }
    for c in county::Entity::find().all(conn).await.expect("read") {
        check(c.organisation_id, OrganisationKind::County, None, Some(&c.code), &c.name);
    }
    for c in cluster::Entity::find().all(conn).await.expect("read") {
        check(c.organisation_id, OrganisationKind::Cluster, Some(&c.key), None, &c.name);
    }
    for m in municipality::Entity::find().all(conn).await.expect("read") {
        check(m.organisation_id, OrganisationKind::Municipality, None, Some(&m.code), &m.name);
    }
    for i in institution::Entity::find().all(conn).await.expect("read") {
        check(i.organisation_id, OrganisationKind::Institution, Some(&i.key), None, &i.name);
    }
}

/// The tree by what people know its organisations by: kind, key or code, name, and the parent's
/// key or code; the same on any database loaded with the same data, whatever the ids.
async fn tree_by_name(conn: &impl ConnectionTrait) -> BTreeSet<(String, String, String, Option<String>)> {
    let organisations = organisation::Entity::find().all(conn).await.expect("read");
    let ident: HashMap<i32, String> = organisations
        .iter()
        .map(|o| (o.id, o.key.clone().or_else(|| o.code.clone()).expect("a key or a code")))
        .collect();
    organisations
        .iter()
        .map(|o| {
            (
                format!("{:?}", o.kind),
                ident[&o.id].clone(),
                o.name.clone(),
                o.parent_id.map(|p| ident[&p].clone()),
            )
        })
        .collect()
}

/// Each partnership by key: its body's key, and its members' keys or codes with `accepts_needs`.
async fn partnerships(conn: &impl ConnectionTrait) -> BTreeMap<String, (String, BTreeSet<(String, bool)>)> {
    let ident: HashMap<i32, String> = organisation::Entity::find()
        .all(conn)
        .await
        .expect("read")
        .into_iter()
        .map(|o| (o.id, o.key.or(o.code).expect("a key or a code")))
        .collect();
    let members = partnership_member::Entity::find().all(conn).await.expect("read");
    partnership::Entity::find()
        .all(conn)
        .await
        .expect("read")
        .into_iter()
        .map(|p| {
            let of = members
                .iter()
                .filter(|m| m.partnership_id == p.id)
                .map(|m| (ident[&m.organisation_id].clone(), m.accepts_needs))
                .collect();
            (p.key, (p.organisation_id.map(|o| ident[&o].clone()).unwrap_or_default(), of))
        })
        .collect()
}

async fn population(conn: &impl ConnectionTrait, code: &str) -> Option<i32> {
    municipality::Entity::find()
        .filter(municipality::Column::Code.eq(code))
        .one(conn)
        .await
        .expect("read")
        .expect("the municipality")
        .population
}

/// A migrated database with nothing loaded, on the backend `app` runs on, and what keeps it.
async fn empty_database(app: &TestApp) -> (Db, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a directory");
    let url = if app.database_url.starts_with("sqlite:") {
        format!("sqlite:{}", dir.path().join("older.db").display())
    } else {
        crate::postgres::empty_database().await
    };
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    (db, url, dir)
}

#[both_databases]
async fn every_unit_of_the_nation_is_an_organisation_in_one_tree(app: TestApp) {
    let conn = app.db().conn();
    assert_eq!(closure_follows_the_parents(conn).await, 2 + 15 + 4 + 357 + 12 + 17 + 9 + 4);
    every_typed_row_has_its_organisation(conn).await;
    let tree = tree_by_name(conn).await;
    let under = |parent: &str| -> BTreeSet<String> {
        tree.iter().filter(|o| o.3.as_deref() == Some(parent)).map(|o| o.1.clone()).collect()
    };
    let districts: Vec<_> = tree.iter().filter(|o| o.0 == "District").collect();
    assert_eq!(districts.len(), 17, "15 districts, Sentrum and Marka");
    assert!(districts.iter().all(|d| d.3.as_deref() == Some("0301")), "all under Oslo");
    assert!(tree.contains(&(
        "District".into(),
        "030115".into(),
        "Søndre Nordstrand".into(),
        Some("0301".into())
    )));
    assert_eq!(
        under("ksf"),
        [
            "03",
            "15",
            "18",
            "31",
            "32",
            "33",
            "34",
            "39",
            "40",
            "42",
            "55",
            "56",
            "arbeids-og-velferdsdirektoratet",
            "bufdir",
            "helsedirektoratet",
            "rso-midt",
            "rso-vest",
            "udir"
        ]
        .map(String::from)
        .into(),
        "the counties no region covers, the regions and the state partners"
    );
    assert_eq!(
        under("rso-vest"),
        ["11", "46", "fousam", "kunnskapskommunen", "sogn-og-fjordane", "sor-rogaland"]
            .map(String::from)
            .into()
    );
    assert_eq!(under("rso-midt"), ["50".to_owned()].into());
    assert_eq!(under("50").len(), 38, "Trøndelag's municipalities, which have no cluster");
    assert_eq!(under("46").len(), 0, "Vestland's municipalities are under their clusters");
    assert_eq!(under("kunnskapskommunen").len(), 15);
    assert_eq!(under("03"), ["0301".to_owned()].into());
    assert_eq!(under("0301").len(), 17 + 2, "the districts, Områdesatsingene and Universitetskommunen Oslo");
    assert_eq!(
        under("omradesatsingene"),
        [
            "groruddalssatsingen",
            "naermiljo",
            "oppvekst-og-utdanning",
            "oslo-indre-ost",
            "oslo-sor",
            "sysselsetting"
        ]
        .map(String::from)
        .into()
    );
    let roots: BTreeSet<_> = tree.iter().filter(|o| o.3.is_none()).map(|o| o.1.clone()).collect();
    assert_eq!(roots.len(), 1 + 12, "the national level, and the institutions");
    assert!(roots.contains("ksf") && roots.contains("uib"));
    let municipalities = app
        .data(
            r#"{ municipalities { totalCount } region(key: "rso-vest") { municipalities { totalCount } } }"#,
        )
        .await;
    assert_eq!(municipalities["municipalities"]["totalCount"], 357);
    assert_eq!(municipalities["region"]["municipalities"]["totalCount"], 66);
    assert_eq!(population(conn, "4601").await, Some(293_709), "SSB's figure for 1 January 2025");
    assert_eq!(population(conn, "0301").await, Some(724_290));
}

#[both_databases]
async fn the_partnerships_and_their_members_are_loaded(app: TestApp) {
    let found = partnerships(app.db().conn()).await;
    let members = |list: &[(&str, bool)]| -> BTreeSet<(String, bool)> {
        list.iter().map(|(o, accepts)| ((*o).to_owned(), *accepts)).collect()
    };
    let institutions = [
        "uib",
        "uis",
        "hvl",
        "vid",
        "norce",
        "fhi",
        "helse-bergen",
        "helse-stavanger",
        "helse-fonna",
        "helse-forde",
        "haraldsplass",
    ];
    let mut vest = vec![("rso-vest", true)];
    vest.extend(institutions.iter().map(|i| (*i, false)));
    let expected: BTreeMap<String, (String, BTreeSet<(String, bool)>)> = [
        ("ksf", members(&[("ksf", true)])),
        ("rso-vest", members(&vest)),
        ("rso-midt", members(&[("rso-midt", true)])),
        (
            "omradesatsingene",
            members(&[
                ("omradesatsingene", true),
                ("030101", true),
                ("030109", true),
                ("030110", true),
                ("030111", true),
                ("030112", true),
                ("030115", true),
                ("0301", false),
                ("oslomet", false),
            ]),
        ),
        (
            "universitetskommunen-oslo",
            members(&[
                ("universitetskommunen-oslo", true),
                ("0301", false),
                ("030115", true),
                ("oslomet", false),
            ]),
        ),
    ]
    .into_iter()
    .map(|(key, of)| (key.to_owned(), (key.to_owned(), of)))
    .collect();
    assert_eq!(found, expected, "each run by the organisation of its own key");
}

/// The closure stays the closure of the parents through moves of whole subtrees, and a move
/// into its own subtree or below the depth bound changes nothing.
#[both_databases]
async fn moves_keep_the_closure_and_refuse_cycles_and_depth(app: TestApp) {
    let db = app.db();
    let conn = db.conn();
    let ids: Vec<i32> =
        organisation::Entity::find().all(conn).await.expect("read").into_iter().map(|o| o.id).collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let (mut moved, mut cycles, mut too_deep) = (0, 0, 0);
    for round in 0..60 {
        let organisation = ids[next(ids.len())];
        // Every third move goes into the organisation's own subtree: refused.
        let new_parent = if round % 3 == 0 {
            let subtree: Vec<i32> = organisation_ancestor::Entity::find()
                .filter(organisation_ancestor::Column::AncestorId.eq(organisation))
                .all(conn)
                .await
                .expect("read")
                .into_iter()
                .map(|a| a.organisation_id)
                .collect();
            Some(subtree[next(subtree.len())])
        } else if round % 10 == 1 {
            None
        } else {
            Some(ids[next(ids.len())])
        };
        let before = tree_by_name(conn).await;
        let txn = db.begin_write().await.expect("a transaction");
        match tree::reparent(&txn, organisation, new_parent).await {
            Ok(()) => {
                txn.commit().await.expect("commit");
                moved += 1;
            }
            Err(refused) => {
                drop(txn);
                match refused {
                    TreeError::Cycle => cycles += 1,
                    TreeError::TooDeep => too_deep += 1,
                    other => panic!("{other:?}"),
                }
                assert_eq!(tree_by_name(conn).await, before, "a refused move changes nothing");
            }
        }
        closure_follows_the_parents(conn).await;
    }
    assert!(moved > 20 && cycles >= 20, "moved {moved}, cycles {cycles}, too deep {too_deep}");

    // A chain of leaves, each under the one before, from the top: the one that would be
    // MAX_DEPTH + 1 steps down is refused.
    let organisations = organisation::Entity::find().all(conn).await.expect("read");
    let leaves: Vec<i32> = organisations
        .iter()
        .filter(|o| !organisations.iter().any(|child| child.parent_id == Some(o.id)))
        .map(|o| o.id)
        .collect();
    let mut parent = None;
    for (depth, leaf) in
        leaves.iter().copied().enumerate().take(usize::try_from(MAX_DEPTH).expect("small") + 2)
    {
        let txn = db.begin_write().await.expect("a transaction");
        let done = tree::reparent(&txn, leaf, parent).await;
        if depth <= usize::try_from(MAX_DEPTH).expect("small") {
            done.unwrap_or_else(|e| panic!("depth {depth}: {e:?}"));
            txn.commit().await.expect("commit");
            parent = Some(leaf);
        } else {
            assert!(matches!(done, Err(TreeError::TooDeep)), "depth {depth}: {done:?}");
        }
    }
    closure_follows_the_parents(conn).await;

    // A new organisation under the deepest one is refused too; under a shallower one it is attached.
    for (parent, fits) in [(parent, false), (Some(leaves[3]), true)] {
        let txn = db.begin_write().await.expect("a transaction");
        let project = organisation::ActiveModel {
            kind: sea_orm::ActiveValue::Set(OrganisationKind::Project),
            key: sea_orm::ActiveValue::Set(Some(format!("project-{fits}"))),
            name: sea_orm::ActiveValue::Set("Prosjekt".into()),
            parent_id: sea_orm::ActiveValue::Set(parent),
            created_at: sea_orm::ActiveValue::Set(chrono::Utc::now()),
            ..Default::default()
        };
        let project = sea_orm::ActiveModelTrait::insert(project, &txn).await.expect("insert");
        let attached = tree::attach(&txn, project.id, parent).await;
        if fits {
            attached.expect("attached");
            txn.commit().await.expect("commit");
        } else {
            assert!(matches!(attached, Err(TreeError::TooDeep)), "{attached:?}");
        }
    }
    assert_eq!(closure_follows_the_parents(conn).await, ids.len() + 1);
}

#[both_databases]
async fn loading_again_changes_nothing(app: TestApp) {
    let db = app.db();
    let before = (tree_by_name(db.conn()).await, partnerships(db.conn()).await);
    let bundle = Bundle::bundled().expect("the bundle");
    assert_eq!(
        reference_data::load_bundle(db, &bundle, "a later version").await.expect("load"),
        Outcome::Loaded
    );
    closure_follows_the_parents(db.conn()).await;
    every_typed_row_has_its_organisation(db.conn()).await;
    assert_eq!((tree_by_name(db.conn()).await, partnerships(db.conn()).await), before);
}

/// A database as the version before left it: migrated up to 000008, with RSO Vest's data (its
/// region, 2 counties, 4 clusters, 66 municipalities and 11 institutions, written as that version's
/// loader wrote them) and a population a coordinator set for Bergen. Returns its URL.
async fn older_database(app: &TestApp, dir: &tempfile::TempDir) -> String {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ActiveEnum, Database};
    let url = if app.database_url.starts_with("sqlite:") {
        format!("sqlite:{}?mode=rwc", dir.path().join("older.db").display())
    } else {
        crate::postgres::empty_database().await
    };
    let db = Database::connect(&url).await.expect("connect");
    Migrator::up(&db, Some(8)).await.expect("the migrations before organisations");
    let b = Bundle::bundled().expect("the bundle");
    let text = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let values = |rows: Vec<String>| rows.join(", ");
    let mut statements = vec![
        "INSERT INTO region (id, key, name) VALUES (1, 'rso-vest', 'Regionalt samarbeidsorgan Vest')"
            .to_owned(),
        "INSERT INTO county (code, name, region_id) VALUES ('46', 'Vestland', 1), ('11', 'Rogaland', 1)"
            .to_owned(),
    ];
    statements.push(format!(
        "INSERT INTO cluster (key, region_id, name, area) VALUES {}",
        values(
            b.clusters
                .iter()
                .map(|c| format!("({}, 1, {}, {})", text(&c.key), text(&c.name), text(&c.area)))
                .collect()
        )
    ));
    statements.push(format!(
        "INSERT INTO municipality (code, name, county_id, cluster_id, cluster_membership) VALUES {}",
        values(
            b.municipalities
                .iter()
                .filter_map(|m| {
                    Some(format!(
                        "({}, {}, (SELECT id FROM county WHERE code = {}), (SELECT id FROM cluster WHERE key = {}), {})",
                        text(&m.code),
                        text(&m.name),
                        text(&m.county),
                        text(m.cluster.as_deref()?),
                        text(&m.membership?.to_value()),
                    ))
                })
                .collect()
        )
    ));
    statements.push(format!(
        "INSERT INTO institution (key, region_id, short_name, name, kind) VALUES {}",
        values(
            b.institutions
                .iter()
                .filter(|i| i.partnership == "rso-vest")
                .map(|i| format!(
                    "({}, 1, {}, {}, {})",
                    text(&i.key),
                    text(&i.short),
                    text(&i.name),
                    text(&i.kind.to_value())
                ))
                .collect()
        )
    ));
    statements.push(
        "INSERT INTO reference_data_load (version, loaded_at) VALUES ('2026-11-25', '2026-11-25T00:00:00Z')"
            .into(),
    );
    statements.push("UPDATE municipality SET population = 300000 WHERE code = '4601'".into());
    for statement in statements {
        db.execute_unprepared(&statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    db.close().await.expect("close");
    url
}

/// A database of the version before (RSO Vest only, no organisations) is migrated and loaded by
/// the new version: it gains the rest of the nation, the organisation tree over what it had (the
/// migration gave its rows organisations; the loader places them) and the partnerships, and keeps
/// a population a coordinator set, or cleared.
#[both_databases]
async fn an_older_database_gains_the_nation_and_keeps_what_coordinators_set(app: TestApp) {
    let dir = tempfile::tempdir().expect("a directory");
    let url = older_database(&app, &dir).await;
    let upgraded = prepare_database(&url).await.expect("the new version starts");
    let conn = upgraded.conn();
    assert_eq!(municipality::Entity::find().all(conn).await.expect("read").len(), 357);
    assert_eq!(population(conn, "4601").await, Some(300_000), "the coordinator's figure stays");
    assert_eq!(population(conn, "4627").await, Some(30_377), "an empty one is filled");
    every_typed_row_has_its_organisation(conn).await;
    closure_follows_the_parents(conn).await;
    let fresh = app.db().conn();
    assert_eq!(tree_by_name(conn).await, tree_by_name(fresh).await, "the same tree as a fresh database's");
    assert_eq!(partnerships(conn).await, partnerships(fresh).await);

    // A population a coordinator cleared stays cleared through a later version.
    let askoy = municipality::Entity::find()
        .filter(municipality::Column::Code.eq("4627"))
        .one(conn)
        .await
        .expect("read")
        .expect("Askøy");
    needs::set_population(&upgraded, Actor::CommandLine, askoy.id, None, None).await.expect("cleared");
    let full = Bundle::bundled().expect("the bundle");
    assert_eq!(reference_data::load_bundle(&upgraded, &full, "later").await.expect("load"), Outcome::Loaded);
    assert_eq!(population(conn, "4627").await, None);
    upgraded.close().await.expect("close");
}

/// How many statements and how long a first load takes (printed; the count is bounded so that no
/// step becomes one statement per row).
#[both_databases]
async fn a_first_load_runs_a_bounded_number_of_statements(app: TestApp) {
    let (db, _url, _dir) = empty_database(&app).await;
    let bundle = Bundle::bundled().expect("the bundle");
    let (before, started) = (db.statements_executed(), std::time::Instant::now());
    assert_eq!(
        reference_data::load_bundle(&db, &bundle, reference_data::VERSION).await.expect("load"),
        Outcome::Loaded
    );
    let (statements, took) = (db.statements_executed() - before, started.elapsed());
    let backend = if app.database_url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
    eprintln!("first load on {backend:?}: {statements} statements in {took:?}");
    assert!(statements <= 60, "{statements}");
    closure_follows_the_parents(db.conn()).await;
    db.close().await.expect("close");
}

/// Two instances starting at once on a new database load the data once between them: the second
/// waits for the first's rows, adds nothing, and starts as well.
#[both_databases]
async fn two_instances_starting_at_once_load_the_data_once(app: TestApp) {
    let (db, url, _dir) = empty_database(&app).await;
    let other = Db::connect(&url).await.expect("a second instance");
    let bundle = Bundle::bundled().expect("the bundle");
    let (one, two) = tokio::join!(
        reference_data::load_bundle(&db, &bundle, reference_data::VERSION),
        reference_data::load_bundle(&other, &bundle, reference_data::VERSION),
    );
    let mut outcomes = [one.expect("the first loads"), two.expect("the second starts too")];
    outcomes.sort_by_key(|o| *o == Outcome::AlreadyLoaded);
    assert_eq!(outcomes, [Outcome::Loaded, Outcome::AlreadyLoaded]);
    assert_eq!(closure_follows_the_parents(db.conn()).await, 2 + 15 + 4 + 357 + 12 + 17 + 9 + 4);
    every_typed_row_has_its_organisation(db.conn()).await;
    assert_eq!(partnerships(db.conn()).await, partnerships(app.db().conn()).await);
    other.close().await.expect("close");
    db.close().await.expect("close");
}

/// People, memberships and a need as the version before wrote them, into the older database at
/// `url`: a coordinator of RSO Vest, a cluster coordinator of Kunnskapskommunen, a member of
/// Bergen (with a need and a co-signature for Askøy) and a member of UiB; membership 5, removed,
/// leaves its id behind.
async fn older_people(url: &str) {
    use sea_orm::Database;
    let db = Database::connect(url).await.expect("connect");
    let at = "'2026-11-20T00:00:00Z'";
    let cluster = "(SELECT id FROM cluster WHERE key = 'kunnskapskommunen')";
    let bergen = "(SELECT id FROM municipality WHERE code = '4601')";
    let askoy = "(SELECT id FROM municipality WHERE code = '4627')";
    let uib = "(SELECT id FROM institution WHERE key = 'uib')";
    for statement in [
        format!(
            "INSERT INTO person (id, name, email, home_region_id, created_at) VALUES
             (1, 'Kari', 'kari@example.no', 1, {at}), (2, 'Ola', 'ola@example.no', 1, {at}),
             (3, 'Ingrid', 'ingrid@example.no', 1, {at}), (4, 'Siri', 'siri@example.no', 1, {at})"
        ),
        format!(
            "INSERT INTO membership (id, person_id, role, region_id, cluster_id, municipality_id, institution_id, created_at)
             VALUES (1, 1, 'COORDINATOR', 1, NULL, NULL, NULL, {at}),
                    (2, 2, 'CLUSTER_COORDINATOR', NULL, {cluster}, NULL, NULL, {at}),
                    (3, 3, 'MUNICIPALITY_MEMBER', NULL, NULL, {bergen}, NULL, {at}),
                    (4, 4, 'INSTITUTION_MEMBER', NULL, NULL, NULL, {uib}, {at}),
                    (5, 4, 'MUNICIPALITY_MEMBER', NULL, NULL, {askoy}, NULL, {at})"
        ),
        "DELETE FROM membership WHERE id = 5".to_owned(),
        format!(
            "INSERT INTO need (id, municipality_id, created_by_person_id, title, question, background,
             intended_use, target_group, urgency, status, version, cosigner_count, submitted_at, created_at, updated_at)
             VALUES (1, {bergen}, 3, 'Ensomhet blant eldre', 'Hva virker?', 'Mange er ensomme', 'Tiltak',
             'Eldre', 'MEDIUM', 'SUBMITTED', 1, 1, {at}, {at}, {at})"
        ),
        format!("INSERT INTO need_cosign (need_id, municipality_id, person_id, created_at) VALUES (1, {askoy}, NULL, {at})"),
    ] {
        db.execute_unprepared(&statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // Rows written with their ids: PostgreSQL's sequence hands out what it would have after them.
    if url.starts_with("postgres") {
        for (table, last) in [("person", 4), ("membership", 5), ("need", 1)] {
            let statement = format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})");
            db.execute_unprepared(&statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
    }
    db.close().await.expect("close");
}

/// The upgrade carries people's memberships and needs into the organisation tree: a membership
/// is held in its cluster's, municipality's or institution's organisation under the new role
/// names (a coordinator's stays in the partnership), a removed membership's id is not given out
/// again, and a need is raised in its municipality's organisation and pooled in its region's
/// partnership.
#[both_databases]
async fn an_older_database_keeps_its_memberships_and_needs_in_the_tree(app: TestApp) {
    use entity::{enums::Role, membership, need, need_cosign};
    let dir = tempfile::tempdir().expect("a directory");
    let url = older_database(&app, &dir).await;
    older_people(&url).await;
    let upgraded = prepare_database(&url).await.expect("the new version starts");
    let conn = upgraded.conn();
    let organisation_of = |table: &'static str, naming: &'static str, value: &'static str| async move {
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                format!("SELECT organisation_id FROM {table} WHERE {naming} = '{value}'"),
            ))
            .await
            .expect("read")
            .expect("a row");
        row.try_get::<Option<i32>>("", "organisation_id").expect("organisation_id")
    };
    let memberships = membership::Entity::find().all(conn).await.expect("memberships");
    let held: Vec<(i32, Role, Option<i32>, Option<i32>)> =
        memberships.iter().map(|m| (m.id, m.role, m.partnership_id, m.organisation_id)).collect();
    assert_eq!(
        held,
        vec![
            (1, Role::Coordinator, Some(1), None),
            (2, Role::UnitCoordinator, None, organisation_of("cluster", "key", "kunnskapskommunen").await),
            (3, Role::UnitMember, None, organisation_of("municipality", "code", "4601").await),
            (4, Role::InstitutionMember, None, organisation_of("institution", "key", "uib").await),
        ]
    );
    let need = need::Entity::find_by_id(1).one(conn).await.expect("read").expect("the need");
    assert_eq!(need.organisation_id, organisation_of("municipality", "code", "4601").await);
    assert_eq!(need.partnership_id, Some(1), "pooled in RSO Vest");
    let cosign = need_cosign::Entity::find().one(conn).await.expect("read").expect("the co-signature");
    assert_eq!(cosign.organisation_id, organisation_of("municipality", "code", "4627").await);

    // A new membership takes a fresh id, never a removed one's.
    let next = membership::ActiveModel {
        person_id: sea_orm::ActiveValue::Set(4),
        role: sea_orm::ActiveValue::Set(Role::UnitMember),
        organisation_id: sea_orm::ActiveValue::Set(organisation_of("municipality", "code", "4627").await),
        created_at: sea_orm::ActiveValue::Set(chrono::Utc::now()),
        ..Default::default()
    };
    let inserted = membership::Entity::insert(next).exec(conn).await.expect("insert");
    assert!(inserted.last_insert_id > 5, "got {}", inserted.last_insert_id);
    upgraded.close().await.expect("close");
}
