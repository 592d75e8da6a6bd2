//! Coordinators' edits of the reference data: create, rename, move and close organisations, add
//! institutions, create regions and assign counties to them.
//!
//! Each edit is one transaction that keeps the typed row in step with its organisation (a
//! cluster's row, a municipality's `cluster_id`, a county's `partnership_id`), moves the tree only
//! through `tree` (which keeps the closure), sets the organisation's `edited_at` (so a later
//! version of the bundled data leaves it as the coordinator left it) and records an audit event
//! about the organisation, `organisation.<change>`: those events are its history. A need keeps the
//! organisation it was raised in whatever moves, and nothing here can strand one: an organisation
//! closes only once nothing open is left in it.
//!
//! Every writer first takes the tree writers' lock (`tree::lock`), so the rules and bounds it
//! checks still hold when it writes, on PostgreSQL as on SQLite.

use chrono::Utc;
use entity::{
    cluster, county,
    enums::{ClusterMembership, InstitutionKind, NeedStatus, OrganisationKind},
    institution, membership, municipality, need, organisation, partnership, partnership_member,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseTransaction, EntityTrait, IntoActiveModel, Iterable, PaginatorTrait,
    QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor},
        organisations::tree,
    },
    domain::{
        needs::is_open,
        organisations::{MAX_CLUSTERS, MAX_INSTITUTIONS, MAX_PARTNERSHIPS, may_hold, movable},
    },
};

/// The start of the audit actions of this module; `read::histories_of` reads them back.
pub const HISTORY_PREFIX: &str = "organisation.";

/// Who makes an edit, and the partnership through which they may (whose audit log shows it).
#[derive(Clone, Copy, Debug)]
pub struct By {
    pub actor: Actor,
    pub partnership_id: Option<i32>,
}

/// A new organisation of a kind coordinators create (`domain::organisations::CREATABLE`).
#[derive(Clone, Debug)]
pub struct NewOrganisation {
    pub kind: OrganisationKind,
    pub name: String,
    pub parent_id: i32,
    pub key: Option<String>,
    pub code: Option<String>,
    /// A cluster's area (the part of the region it covers); a cluster's key is required too.
    pub area: Option<String>,
}

/// A new institution, registered with a partnership (whose coordinators manage its people).
#[derive(Clone, Debug)]
pub struct NewInstitution {
    pub key: String,
    pub short_name: String,
    pub name: String,
    pub kind: InstitutionKind,
    pub partnership_id: i32,
}

/// A new region with its RSO, under the national organisation, and the counties it covers.
#[derive(Clone, Debug)]
pub struct NewRegion {
    pub key: String,
    pub name: String,
    /// The organisations of the counties.
    pub counties: Vec<i32>,
}

async fn record(
    txn: &DatabaseTransaction,
    by: By,
    change: &str,
    organisation_id: i32,
    detail: serde_json::Value,
) -> Result<(), WriteError> {
    let action = format!("{HISTORY_PREFIX}{change}");
    let event = audit::Event {
        action: &action,
        target_type: NodeType::Organisation,
        target_id: organisation_id,
        partnership_id: by.partnership_id,
        detail: Some(detail),
    };
    audit::record(txn, by.actor, event).await?;
    Ok(())
}

async fn find(
    txn: &DatabaseTransaction,
    id: i32,
    field: &'static str,
) -> Result<organisation::Model, WriteError> {
    organisation::Entity::find_by_id(id).one(txn).await?.ok_or(WriteError::NotFound { field })
}

fn open(o: &organisation::Model, field: &'static str) -> Result<(), WriteError> {
    match o.closed_at {
        Some(_) => Err(WriteError::Conflict { field, message: format!("{} is closed", o.name) }),
        None => Ok(()),
    }
}

fn kind_name(kind: OrganisationKind) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Refuses an organisation of kind `child` under `parent` where the tree has no such edge.
fn may_stand_under(parent: &organisation::Model, child: OrganisationKind) -> Result<(), WriteError> {
    if may_hold(Some(parent.kind), child) {
        return Ok(());
    }
    Err(WriteError::Invalid {
        field: "parent",
        message: format!("a {} cannot stand under a {}", kind_name(child), kind_name(parent.kind)),
    })
}

/// Refuses a key or an official number another organisation has (both name one organisation
/// across every kind).
async fn name_is_free(txn: &DatabaseTransaction, field: &'static str, value: &str) -> Result<(), WriteError> {
    let taken = organisation::Entity::find()
        .filter(
            Condition::any()
                .add(organisation::Column::Key.eq(value))
                .add(organisation::Column::Code.eq(value)),
        )
        .count(txn)
        .await?;
    match taken {
        0 => Ok(()),
        _ => Err(WriteError::Conflict { field, message: format!("`{value}` names another organisation") }),
    }
}

/// Refuses a new row past one of the bounds lists are priced at.
fn within(count: u64, bound: usize, field: &'static str, what: &str) -> Result<(), WriteError> {
    if usize::try_from(count).unwrap_or(usize::MAX) < bound {
        return Ok(());
    }
    Err(WriteError::Conflict { field, message: format!("the hub holds at most {bound} {what}") })
}

/// Inserts an organisation, edited now (the bundled data never changes it), and attaches it.
async fn insert(
    txn: &DatabaseTransaction,
    kind: OrganisationKind,
    key: Option<String>,
    code: Option<String>,
    name: String,
    parent_id: Option<i32>,
) -> Result<organisation::Model, WriteError> {
    let now = Utc::now();
    let made = organisation::ActiveModel {
        kind: Set(kind),
        key: Set(key),
        code: Set(code),
        name: Set(name),
        parent_id: Set(parent_id),
        closed_at: Set(None),
        edited_at: Set(Some(now)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await
    .map_err(crate::db::duplicate_is_conflict("key", "the key or number names another organisation"))?;
    tree::attach(txn, made.id, parent_id).await?;
    Ok(made)
}

/// Marks an organisation edited now (`edited_at`), with its new name or closing time if any.
async fn touch(
    txn: &DatabaseTransaction,
    found: organisation::Model,
    name: Option<String>,
    close: bool,
) -> Result<organisation::Model, WriteError> {
    let now = Utc::now();
    let mut model = found.into_active_model();
    if let Some(name) = name {
        model.name = Set(name);
    }
    if close {
        model.closed_at = Set(Some(now));
    }
    model.edited_at = Set(Some(now));
    Ok(model.update(txn).await?)
}

/// Creates an organisation under `parent_id`; a cluster gets its typed row, in the partnership of
/// the region it stands under.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(db: &Db, by: By, new: NewOrganisation) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    tree::lock(&txn).await?;
    let parent = find(&txn, new.parent_id, "parent").await?;
    open(&parent, "parent")?;
    may_stand_under(&parent, new.kind)?;
    for (field, value) in [("key", &new.key), ("code", &new.code)] {
        if let Some(value) = value {
            name_is_free(&txn, field, value).await?;
        }
    }
    let region = match new.kind {
        OrganisationKind::Cluster => {
            let region = partnership::Entity::find()
                .filter(partnership::Column::OrganisationId.eq(parent.id))
                .one(&txn)
                .await?
                .ok_or(WriteError::Invalid {
                    field: "parent",
                    message: "a cluster stands under a region".into(),
                })?;
            within(cluster::Entity::find().count(&txn).await?, MAX_CLUSTERS, "kind", "clusters")?;
            Some(region)
        }
        _ => None,
    };
    let made = insert(&txn, new.kind, new.key.clone(), new.code, new.name, Some(parent.id)).await?;
    if let Some(region) = region {
        let key =
            new.key.ok_or(WriteError::Invalid { field: "key", message: "a cluster needs a key".into() })?;
        cluster::ActiveModel {
            key: Set(key),
            partnership_id: Set(region.id),
            name: Set(made.name.clone()),
            area: Set(new.area.unwrap_or_default()),
            organisation_id: Set(Some(made.id)),
            ..Default::default()
        }
        .insert(&txn)
        .await
        .map_err(crate::db::duplicate_is_conflict("key", "another cluster has this key"))?;
    }
    let detail = json!({ "kind": kind_name(made.kind), "name": made.name, "parent": parent.id });
    record(&txn, by, "create", made.id, detail).await?;
    db.commit(txn, Effect::Created(NodeType::Organisation, made.id)).await?;
    Ok(made)
}

/// Renames an organisation, and its typed row (a region's RSO too) with it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rename(db: &Db, by: By, id: i32, name: String) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = find(&txn, id, "organisation").await?;
    let from = found.name.clone();
    let kind = found.kind;
    let renamed = touch(&txn, found, Some(name.clone()), false).await?;
    macro_rules! rename_typed {
        ($entity:ident) => {{
            $entity::Entity::update_many()
                .col_expr($entity::Column::Name, Expr::value(name.clone()))
                .filter($entity::Column::OrganisationId.eq(id))
                .exec(&txn)
                .await?;
        }};
    }
    // The typed rows keep a name of their own, which the older fields (`municipalities`, ...) show.
    match kind {
        OrganisationKind::Region => rename_typed!(partnership),
        OrganisationKind::County => rename_typed!(county),
        OrganisationKind::Cluster => rename_typed!(cluster),
        OrganisationKind::Municipality => rename_typed!(municipality),
        OrganisationKind::Institution => rename_typed!(institution),
        _ => {}
    }
    record(&txn, by, "rename", id, json!({ "from": from, "to": name })).await?;
    db.commit(txn, Effect::Changed(NodeType::Organisation, id)).await?;
    Ok(renamed)
}

/// Moves an organisation (with everything under it) under `parent_id`. Only the kinds
/// `domain::organisations::movable` names move, and only where the tree has such an edge; a
/// municipality moves between the clusters of its county's region, or out of its cluster to its
/// county, and its typed row follows. The needs raised in it keep their organisation.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn move_to(db: &Db, by: By, id: i32, parent_id: i32) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    tree::lock(&txn).await?;
    let found = find(&txn, id, "organisation").await?;
    if !movable(found.kind) {
        return Err(WriteError::Invalid {
            field: "organisation",
            message: format!(
                "a {} does not move here (a county moves with assignCounty; clusters, regions and \
                 institutions stay where they are)",
                kind_name(found.kind)
            ),
        });
    }
    let parent = find(&txn, parent_id, "parent").await?;
    open(&parent, "parent")?;
    may_stand_under(&parent, found.kind)?;
    if found.kind == OrganisationKind::Municipality {
        place_municipality(&txn, id, &parent).await?;
    }
    let from = found.parent_id;
    tree::reparent(&txn, id, Some(parent.id)).await?;
    let moved = touch(&txn, find(&txn, id, "organisation").await?, None, false).await?;
    record(&txn, by, "move", id, json!({ "from": from, "to": parent.id })).await?;
    db.commit(txn, Effect::Changed(NodeType::Organisation, id)).await?;
    Ok(moved)
}

/// Keeps a moving municipality's typed row in step: into a cluster of its county's region, or
/// out of its cluster to its own county.
async fn place_municipality(
    txn: &DatabaseTransaction,
    organisation_id: i32,
    parent: &organisation::Model,
) -> Result<(), WriteError> {
    let found = municipality::Entity::find()
        .filter(municipality::Column::OrganisationId.eq(organisation_id))
        .one(txn)
        .await?
        .ok_or(WriteError::NotFound { field: "organisation" })?;
    let county = county::Entity::find_by_id(found.county_id)
        .one(txn)
        .await?
        .ok_or(WriteError::NotFound { field: "organisation" })?;
    let (cluster_id, membership) = match parent.kind {
        OrganisationKind::Cluster => {
            let cluster = cluster::Entity::find()
                .filter(cluster::Column::OrganisationId.eq(parent.id))
                .one(txn)
                .await?
                .ok_or(WriteError::NotFound { field: "parent" })?;
            if county.partnership_id != Some(cluster.partnership_id) {
                return Err(WriteError::Invalid {
                    field: "parent",
                    message: "a municipality moves between the clusters of its county's region".into(),
                });
            }
            (Some(cluster.id), ClusterMembership::Published)
        }
        _ if county.organisation_id == Some(parent.id) => (None, ClusterMembership::Default),
        _ => {
            return Err(WriteError::Invalid {
                field: "parent",
                message: "a municipality stands under a cluster of its region or under its own county".into(),
            });
        }
    };
    let mut model = found.into_active_model();
    model.cluster_id = Set(cluster_id);
    model.cluster_membership = Set(membership);
    model.update(txn).await?;
    Ok(())
}

/// Closes an organisation: it keeps its history and its needs' records, and takes nothing new.
/// Refused (a `Conflict` on `organisation`) while anything open is left in it: an organisation
/// under it that is not closed, a membership in it (or, for a region, in its RSO), or a need
/// raised in it that is still open.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn close(db: &Db, by: By, id: i32) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    tree::lock(&txn).await?;
    let found = find(&txn, id, "organisation").await?;
    open(&found, "organisation")?;
    let left = |n: u64, what: &str, how: &str| match n {
        0 => Ok(()),
        n => Err(WriteError::Conflict {
            field: "organisation",
            message: format!("{n} {what} still open in it: {how} first"),
        }),
    };
    let children = organisation::Entity::find()
        .filter(organisation::Column::ParentId.eq(id))
        .filter(organisation::Column::ClosedAt.is_null())
        .count(&txn)
        .await?;
    left(children, "organisation(s) under it are", "close or move them")?;
    let its_partnerships = Query::select()
        .column(partnership::Column::Id)
        .from(partnership::Entity)
        .and_where(Expr::col(partnership::Column::OrganisationId).eq(id))
        .to_owned();
    let members = membership::Entity::find()
        .filter(
            Condition::any()
                .add(membership::Column::OrganisationId.eq(id))
                .add(membership::Column::PartnershipId.in_subquery(its_partnerships)),
        )
        .count(&txn)
        .await?;
    left(members, "membership(s) are", "remove them")?;
    let open_statuses: Vec<NeedStatus> = NeedStatus::iter().filter(|s| is_open(*s)).collect();
    let needs = need::Entity::find()
        .filter(need::Column::OrganisationId.eq(id))
        .filter(need::Column::Status.is_in(open_statuses))
        .count(&txn)
        .await?;
    left(needs, "need(s) raised in it are", "finish, withdraw or reject them")?;
    let closed = touch(&txn, found, None, true).await?;
    record(&txn, by, "close", id, json!({})).await?;
    db.commit(txn, Effect::Changed(NodeType::Organisation, id)).await?;
    Ok(closed)
}

/// Adds an institution as the bundled data has them: an organisation apart from the tree, its
/// typed row registered with a partnership, and a member of that partnership (which raises no
/// needs there).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_institution(
    db: &Db,
    by: By,
    new: NewInstitution,
) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    tree::lock(&txn).await?;
    name_is_free(&txn, "key", &new.key).await?;
    within(institution::Entity::find().count(&txn).await?, MAX_INSTITUTIONS, "key", "institutions")?;
    let made =
        insert(&txn, OrganisationKind::Institution, Some(new.key.clone()), None, new.name.clone(), None)
            .await?;
    institution::ActiveModel {
        key: Set(new.key),
        partnership_id: Set(new.partnership_id),
        short_name: Set(new.short_name),
        name: Set(new.name),
        kind: Set(new.kind),
        organisation_id: Set(Some(made.id)),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(crate::db::duplicate_is_conflict("key", "another institution has this key"))?;
    member(&txn, new.partnership_id, made.id, false).await?;
    let detail =
        json!({ "kind": kind_name(made.kind), "name": made.name, "partnership": new.partnership_id });
    record(&txn, by, "create", made.id, detail).await?;
    db.commit(txn, Effect::Created(NodeType::Organisation, made.id)).await?;
    Ok(made)
}

async fn member(
    txn: &DatabaseTransaction,
    partnership_id: i32,
    organisation_id: i32,
    accepts_needs: bool,
) -> Result<(), WriteError> {
    partnership_member::ActiveModel {
        partnership_id: Set(partnership_id),
        organisation_id: Set(organisation_id),
        accepts_needs: Set(accepts_needs),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Creates a region under the national organisation, with its RSO (a partnership run by the
/// region, which is its member and takes the needs raised under it, as the bundled regions are),
/// and assigns it `counties`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_region(
    db: &Db,
    by: By,
    national_id: i32,
    new: NewRegion,
) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    tree::lock(&txn).await?;
    name_is_free(&txn, "key", &new.key).await?;
    let taken = partnership::Entity::find().filter(partnership::Column::Key.eq(new.key.as_str())).count(&txn);
    if taken.await? > 0 {
        return Err(WriteError::Conflict {
            field: "key",
            message: "another partnership has this key".into(),
        });
    }
    within(partnership::Entity::find().count(&txn).await?, MAX_PARTNERSHIPS, "key", "partnerships")?;
    let national = find(&txn, national_id, "national").await?;
    let made = insert(
        &txn,
        OrganisationKind::Region,
        Some(new.key.clone()),
        None,
        new.name.clone(),
        Some(national.id),
    )
    .await?;
    let rso = partnership::ActiveModel {
        key: Set(new.key),
        name: Set(new.name),
        organisation_id: Set(Some(made.id)),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(crate::db::duplicate_is_conflict("key", "another partnership has this key"))?;
    member(&txn, rso.id, made.id, true).await?;
    let detail = json!({ "kind": kind_name(made.kind), "name": made.name, "parent": national.id });
    record(&txn, by, "create", made.id, detail).await?;
    for county in new.counties {
        assign(&txn, by, &rso, made.id, county, "counties").await?;
    }
    db.commit(txn, Effect::Created(NodeType::Organisation, made.id)).await?;
    Ok(made)
}

/// Assigns a county that no region covers yet to a region: the county moves under the region's
/// organisation, and the needs raised under it from then on go to the region's RSO. A county a
/// region covers already is refused rather than taken from it (its clusters, rounds and people
/// are that region's).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn assign_county(
    db: &Db,
    by: By,
    region_partnership_id: i32,
    county_id: i32,
) -> Result<organisation::Model, WriteError> {
    let txn = db.begin_write().await?;
    tree::lock(&txn).await?;
    let rso = partnership::Entity::find_by_id(region_partnership_id)
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "region" })?;
    let region =
        find(&txn, rso.organisation_id.ok_or(WriteError::NotFound { field: "region" })?, "region").await?;
    if region.kind != OrganisationKind::Region {
        return Err(WriteError::NotFound { field: "region" });
    }
    open(&region, "region")?;
    let moved = assign(&txn, by, &rso, region.id, county_id, "county").await?;
    db.commit(txn, Effect::Changed(NodeType::Organisation, county_id)).await?;
    Ok(moved)
}

async fn assign(
    txn: &DatabaseTransaction,
    by: By,
    rso: &partnership::Model,
    region_id: i32,
    county_organisation: i32,
    field: &'static str,
) -> Result<organisation::Model, WriteError> {
    let found = county::Entity::find()
        .filter(county::Column::OrganisationId.eq(county_organisation))
        .one(txn)
        .await?
        .ok_or(WriteError::NotFound { field })?;
    if found.partnership_id.is_some() {
        return Err(WriteError::Conflict {
            field,
            message: format!(
                "{} is covered by a region already; a county is not taken from its region",
                found.name
            ),
        });
    }
    let from = find(txn, county_organisation, field).await?.parent_id;
    let mut model = found.into_active_model();
    model.partnership_id = Set(Some(rso.id));
    model.update(txn).await?;
    tree::reparent(txn, county_organisation, Some(region_id)).await?;
    let moved = touch(txn, find(txn, county_organisation, field).await?, None, false).await?;
    let detail = json!({ "from": from, "to": region_id, "partnership": rso.id });
    record(txn, by, "move", county_organisation, detail).await?;
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::db::reference_data::Bundle;

    /// Every edge of the tree the bundled data makes is one the rules allow, so a coordinator can
    /// put back what the bundle had.
    #[test]
    fn every_edge_of_the_bundled_tree_is_allowed() {
        use OrganisationKind::*;
        let b = Bundle::bundled().expect("bundled data parses");
        let mut kind: HashMap<&str, OrganisationKind> = HashMap::new();
        kind.extend(b.regions.iter().map(|r| (r.key.as_str(), Region)));
        kind.extend(b.counties.iter().map(|c| (c.code.as_str(), County)));
        kind.extend(b.clusters.iter().map(|c| (c.key.as_str(), Cluster)));
        kind.extend(b.municipalities.iter().map(|m| (m.code.as_str(), Municipality)));
        kind.extend(b.districts.iter().map(|d| (d.code.as_str(), District)));
        kind.extend(b.organisations.iter().map(|o| (o.key.as_str(), o.kind)));
        let mut edges = vec![(Some(National), Region), (Some(National), County), (Some(Region), County)];
        edges.extend(b.clusters.iter().map(|_| (Some(Region), Cluster)));
        edges.extend(
            b.municipalities
                .iter()
                .map(|m| (Some(if m.cluster.is_some() { Cluster } else { County }), Municipality)),
        );
        edges.extend(b.districts.iter().map(|d| (kind.get(d.municipality.as_str()).copied(), District)));
        edges.extend(
            b.organisations.iter().map(|o| (o.parent.as_deref().and_then(|p| kind.get(p).copied()), o.kind)),
        );
        edges.extend(b.institutions.iter().map(|_| (None, Institution)));
        for (parent, child) in edges {
            assert!(may_hold(parent, child), "{parent:?} holds {child:?}");
        }
    }

    /// The bundled data keeps the bounds the writers here keep, which lists are priced at.
    #[test]
    fn the_bundled_data_is_within_the_bounds() {
        let b = Bundle::bundled().expect("bundled data parses");
        assert!(b.partnerships.len() < MAX_PARTNERSHIPS);
        assert!(b.clusters.len() < MAX_CLUSTERS);
        assert!(b.institutions.len() < MAX_INSTITUTIONS);
    }
}
