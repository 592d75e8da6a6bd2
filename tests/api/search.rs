//! Search in relevance order: pages read through a word's best entries in the index are the
//! pages of the whole order, on both databases.

use entity::{enums::NeedStatus, municipality};
use knowledge_hub::db::Db;
use knowledge_hub::db::needs::{self, NeedFilter, NeedOrder, Visibility, Window};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{TestApp, both_databases};

/// Every page of `filter` in relevance order, read forwards by `size` from the start or
/// backwards from the end, as the ids of the whole order.
async fn paged(
    db: &Db,
    filter: &NeedFilter,
    visibility: &Visibility,
    size: usize,
    from_end: bool,
) -> Vec<i32> {
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let window = Window {
            size,
            from_end,
            after: if from_end { None } else { cursor.clone() },
            before: if from_end { cursor.clone() } else { None },
        };
        let (page, more) =
            needs::list(db.conn(), filter, visibility, NeedOrder::Relevance, &window).await.expect("a page");
        let edge = if from_end { page.first() } else { page.last() };
        cursor = edge.map(|listed| listed.cursor.clone());
        let page_ids = page.iter().map(|listed| listed.need.id);
        if from_end {
            ids.splice(0..0, page_ids);
        } else {
            ids.extend(page_ids);
        }
        if !more {
            return ids;
        }
    }
}

/// A relevance page of a one-word search is first looked for among the few hundred best entries
/// of the word's terms from the cursor on. With more matches than that, forwards and backwards,
/// with filters that leave those few short, with drafts in and out of sight, with a word whose
/// terms a need has several of (each at another rank) and with two words, the pages are those
/// of the whole order.
#[both_databases]
async fn relevance_pages_are_the_pages_of_the_whole_order(app: TestApp) {
    let db = app.db();
    sample::generate_needs(db, 5_000, 11).await.expect("needs");
    // One of RSO Vest's, where the sample puts its needs.
    let found = municipality::Entity::find()
        .filter(municipality::Column::ClusterId.is_not_null())
        .one(db.conn())
        .await
        .expect("read")
        .expect("a municipality");
    let (some_municipality, some_unit) = (found.id, found.organisation_id.expect("placed"));
    let search = |words: &[&str]| NeedFilter {
        search: words.iter().map(|w| (*w).to_owned()).collect(),
        ..Default::default()
    };
    let cases = [
        (search(&["demens"]), Visibility::default()),
        (search(&["demens"]), Visibility { draft_units: vec![some_unit] }),
        // "pår" is the start of two terms, "pårørand" (a group) and "pårørandestøtt" (a topic):
        // a need with both ranks by the better.
        (search(&["pår"]), Visibility::default()),
        (search(&["psykisk", "ungdom"]), Visibility::default()),
        (NeedFilter { statuses: vec![NeedStatus::Accepted], ..search(&["ernæring"]) }, Visibility::default()),
        (
            NeedFilter { municipality_id: Some(some_municipality), ..search(&["psykisk"]) },
            Visibility::default(),
        ),
    ];
    for (filter, visibility) in cases {
        let whole = Window { size: 100_000, from_end: false, after: None, before: None };
        let (listed, _) = needs::list(db.conn(), &filter, &visibility, NeedOrder::Relevance, &whole)
            .await
            .expect("the whole order");
        let all: Vec<i32> = listed.iter().map(|listed| listed.need.id).collect();
        assert!(!all.is_empty(), "{filter:?}");
        if filter.search.len() == 1 && filter.statuses.is_empty() && filter.municipality_id.is_none() {
            assert!(all.len() > needs::CANDIDATES + 20, "more matches than candidates: {}", all.len());
            // A page deep in a broad search is found among the best entries after its cursor:
            // the word's terms, then the page, not the whole query.
            let deep = Window {
                size: 7,
                from_end: false,
                after: Some(listed[needs::CANDIDATES + 10].cursor.clone()),
                before: None,
            };
            let statements = db.statements_executed();
            let (page, more) = needs::list(db.conn(), &filter, &visibility, NeedOrder::Relevance, &deep)
                .await
                .expect("a page");
            assert_eq!(db.statements_executed() - statements, 2, "two statements");
            let ids: Vec<i32> = page.iter().map(|listed| listed.need.id).collect();
            assert_eq!((ids.as_slice(), more), (&all[needs::CANDIDATES + 11..needs::CANDIDATES + 18], true));
        }
        for size in [7, 50] {
            assert_eq!(
                paged(db, &filter, &visibility, size, false).await,
                all,
                "forwards by {size}: {filter:?}"
            );
            assert_eq!(
                paged(db, &filter, &visibility, size, true).await,
                all,
                "backwards by {size}: {filter:?}"
            );
        }
    }
    // Function words alone find nothing.
    let (none, more) = needs::list(
        db.conn(),
        &search(&["og", "i"]),
        &Visibility::default(),
        NeedOrder::Relevance,
        &Window { size: 20, from_end: false, after: None, before: None },
    )
    .await
    .expect("a page");
    assert!(none.is_empty() && !more);
}
