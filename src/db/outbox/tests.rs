//! Tests of the relay: a relayed change shows its commission as its event left it, and a
//! need with its place and themes.

use entity::{
    enums::{CommissionEventKind, CommissionStatus},
    partnership, person, product_type,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set};

use super::*;

fn commission_of(change: Option<Change>) -> CommissionChange {
    match change {
        Some(Change::Commission(change)) => Arc::unwrap_or_clone(change),
        other => panic!("expected a commission's change, got {other:?}"),
    }
}

fn need_of(change: Option<Change>) -> NeedChange {
    match change {
        Some(Change::Need(change)) => Arc::unwrap_or_clone(change),
        other => panic!("expected a need's change, got {other:?}"),
    }
}

/// Each relayed change shows the commission with the status its event left, even when later
/// moves were committed before the relay read it.
#[tokio::test]
async fn a_relayed_commission_has_the_status_of_its_event() {
    let scratch = crate::db::Scratch::new("relay").await;
    let db = &scratch.db;
    let conn = db.conn();
    let now = chrono::Utc::now();
    let region = partnership::Entity::find().one(conn).await.expect("read").expect("a region");
    let product = product_type::Entity::find().one(conn).await.expect("read").expect("a product type");
    let person = person::ActiveModel {
        name: Set("Kari Nordmann".into()),
        email: Set("kari@example.no".into()),
        created_at: Set(now),
        language: Set(entity::enums::Language::Nb),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("a person");
    // The commission as it is now: three moves on.
    let commission = commission::ActiveModel {
        partnership_id: Set(region.id),
        question: Set("Kva verkar?".into()),
        product_type_id: Set(product.id),
        deadline: Set(now),
        status: Set(CommissionStatus::InProgress),
        created_by_person_id: Set(person.id),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("a commission");
    use CommissionEventKind::{Created, Interest, MilestoneAdded, Progress, StatusChanged};
    use CommissionStatus::{Awarded, Draft, InProgress, Open};
    let history = [
        (Created, None, Some(Draft), Draft),
        (StatusChanged, Some(Draft), Some(Open), Open),
        (Interest, None, None, Open),
        (StatusChanged, Some(Open), Some(Awarded), Awarded),
        (MilestoneAdded, None, None, Awarded),
        (Progress, Some(Awarded), Some(InProgress), InProgress),
    ];
    let mut events = Vec::new();
    for (kind, from, to, _) in history {
        let event = commission_event::ActiveModel {
            commission_id: Set(commission.id),
            occurred_at: Set(now),
            kind: Set(kind),
            from_status: Set(from),
            to_status: Set(to),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("an event");
        events.push(event);
    }
    for (event, (kind, _, _, expected)) in events.into_iter().zip(history) {
        let change = commission_of(commission_change(conn, event).await.expect("read"));
        assert_eq!(change.commission.status, expected, "after {kind}");
    }
}

/// A need in each of the first five municipalities, with one or two themes and its CREATED
/// event: what the relay reads. (The sample datasets are a crate that depends on this one, so
/// a unit test here cannot use them.)
async fn fill_needs(conn: &sea_orm::DatabaseConnection) {
    use entity::{
        enums::{NeedStatus, Urgency},
        municipality, theme,
    };
    let now = chrono::Utc::now();
    let person = person::ActiveModel {
        name: Set("Ingrid Berg".into()),
        email: Set("ingrid@example.no".into()),
        created_at: Set(now),
        language: Set(entity::enums::Language::Nb),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("a person");
    let themes = theme::Entity::find().order_by_asc(theme::Column::Id).all(conn).await.expect("read");
    let counties = entity::county::Entity::find().all(conn).await.expect("read");
    let municipalities = municipality::Entity::find().order_by_asc(municipality::Column::Id).all(conn);
    for (i, municipality) in municipalities.await.expect("read").into_iter().take(5).enumerate() {
        // Raised in the municipality, pooled in its county's region's partnership, as a write does.
        let pool = counties.iter().find(|c| c.id == municipality.county_id).and_then(|c| c.partnership_id);
        let need = need::ActiveModel {
            municipality_id: Set(municipality.id),
            organisation_id: Set(municipality.organisation_id),
            partnership_id: Set(pool),
            created_by_person_id: Set(person.id),
            title: Set(format!("Behov {i} i {}", municipality.name)),
            question: Set("Kva verkar?".into()),
            background: Set("Bakgrunn".into()),
            intended_use: Set("Planlegging".into()),
            target_group: Set("Eldre".into()),
            urgency: Set(Urgency::Medium),
            status: Set(NeedStatus::Submitted),
            version: Set(1),
            cosigner_count: Set(0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("a need");
        let tags = themes.iter().skip(i).take(2 - i % 2);
        let tags = tags.map(|t| need_theme::ActiveModel { need_id: Set(need.id), theme_id: Set(t.id) });
        need_theme::Entity::insert_many(tags).exec_without_returning(conn).await.expect("themes");
        need_event::ActiveModel {
            need_id: Set(need.id),
            occurred_at: Set(now),
            actor_person_id: Set(Some(person.id)),
            kind: Set(entity::enums::NeedEventKind::Created),
            to_status: Set(Some(NeedStatus::Submitted)),
            ..Default::default()
        }
        .insert(conn)
        .await
        .expect("an event");
    }
}

/// A need's change carries its municipality's cluster and region (read with the need, in
/// one statement) and its themes.
#[tokio::test]
async fn a_relayed_need_has_its_place_and_themes() {
    let scratch = crate::db::Scratch::new("relay-need").await;
    let db = &scratch.db;
    let conn = db.conn();
    fill_needs(conn).await;
    let in_cluster: Vec<i32> = entity::municipality::Entity::find()
        .filter(entity::municipality::Column::ClusterId.is_not_null())
        .all(conn)
        .await
        .expect("read")
        .into_iter()
        .map(|m| m.id)
        .collect();
    let need = need::Entity::find()
        .filter(need::Column::MunicipalityId.is_in(in_cluster))
        .one(conn)
        .await
        .expect("read")
        .expect("a need in a cluster");
    let event = need_event::Entity::find()
        .filter(need_event::Column::NeedId.eq(need.id))
        .one(conn)
        .await
        .expect("read")
        .expect("an event");
    let municipality = entity::municipality::Entity::find_by_id(need.municipality_id)
        .one(conn)
        .await
        .expect("read")
        .expect("its municipality");
    let county = entity::county::Entity::find_by_id(municipality.county_id)
        .one(conn)
        .await
        .expect("read")
        .expect("a county");
    let mut themes: Vec<i32> = crate::db::needs::themes_of(conn, &[need.id])
        .await
        .expect("read")
        .remove(&need.id)
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let change = need_of(need_changes(conn, vec![event]).await.expect("read").pop());
    assert_eq!(change.need, need);
    assert_eq!(change.need.partnership_id, county.partnership_id);
    // The unit that raised it, its cluster and everything above: as the closure has them.
    let mut above: Vec<i32> = entity::organisation_ancestor::Entity::find()
        .filter(
            entity::organisation_ancestor::Column::OrganisationId
                .eq(municipality.organisation_id.expect("placed")),
        )
        .all(conn)
        .await
        .expect("read")
        .into_iter()
        .map(|a| a.ancestor_id)
        .collect();
    above.sort_unstable();
    assert_eq!(change.ancestors, above);
    let cluster = entity::cluster::Entity::find_by_id(municipality.cluster_id.expect("in a cluster"))
        .one(conn)
        .await
        .expect("read")
        .expect("its cluster");
    assert!(change.ancestors.contains(&cluster.organisation_id.expect("placed")));
    let mut relayed = change.theme_ids.clone();
    relayed.sort_unstable();
    themes.sort_unstable();
    assert_eq!(relayed, themes);
}

/// Announcements read together: the needs' changes in the order announced, in two statements
/// however many; a row that is not there is left out; the commissions' after them.
#[tokio::test]
async fn announcements_are_read_together_in_their_order() {
    let scratch = crate::db::Scratch::new("relay-batch").await;
    let db = &scratch.db;
    let conn = db.conn();
    fill_needs(conn).await;
    let events =
        need_event::Entity::find().order_by_asc(need_event::Column::Id).all(conn).await.expect("read");
    assert_eq!(events.len(), 5);
    // Announced out of id order, one twice, with a row that does not exist.
    let mut announced: Vec<(Topic, i32)> = events.iter().rev().map(|e| (Topic::Need, e.id)).collect();
    announced.insert(2, (Topic::Need, i32::MAX));
    announced.push((Topic::Need, events[0].id));
    let before = db.statements_executed();
    let changes = read_all(conn, &announced).await.expect("read");
    assert_eq!(db.statements_executed() - before, 2, "the events, then their needs with places and themes");
    let read: Vec<i32> = changes.into_iter().map(|c| need_of(Some(c)).event.id).collect();
    // The event announced twice is read once.
    let expected: Vec<i32> = events.iter().rev().map(|e| e.id).collect();
    assert_eq!(read, expected);
    // Each change has its own need, as read alone.
    for event in &events {
        let alone = need_of(need_changes(conn, vec![event.clone()]).await.expect("read").pop());
        assert_eq!(alone.need.id, event.need_id);
    }
    assert!(read_all(conn, &[]).await.expect("read").is_empty());
}
