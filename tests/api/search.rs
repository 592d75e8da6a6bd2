//! Search in relevance order: pages read through the best-ranked candidates are the pages of the
//! whole order, on both databases.

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

/// A relevance page is first looked for among the best-ranked few hundred matches.
/// With more matches than that, forwards and backwards, with filters that leave those few
/// short and with drafts in and out of sight, the pages are those of the whole order.
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
        if filter.statuses.is_empty() && filter.municipality_id.is_none() {
            assert!(all.len() > needs::CANDIDATES + 20, "more matches than candidates: {}", all.len());
            // A page deep in a broad search is found among the candidates after its cursor:
            // one statement, not the whole query again.
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
            assert_eq!(db.statements_executed() - statements, 1, "one statement");
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
}
