//! Reading organisations and partnerships: lists by kind, parent, subtree and partnership; one
//! organisation by its key or official number; and, for a whole page of organisations or
//! partnerships in one statement each, their ancestors, the partnerships that serve them and
//! the members of partnerships. Every relation goes through the closure (`organisation_ancestor`),
//! never by walking `parent_id`, so a statement's cost does not grow with the tree's depth.

use std::collections::HashMap;

use entity::{
    audit_event, enums::OrganisationKind, organisation, organisation_ancestor, partnership,
    partnership_member,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, Iterable, QueryFilter,
    QueryOrder, QueryResult,
    sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};

/// The aliases of the statements of this module: `organisation o`, `organisation_ancestor oa`,
/// `partnership_member pm` (also in the needs filter's subqueries) and `partnership p`.
const O: &str = "o";
pub(crate) const OA: &str = "oa";
pub(crate) const PM: &str = "pm";
const P: &str = "p";

/// Joins `partnership_member pm` to a statement over `organisation_ancestor oa`: the members
/// through which a partnership serves `oa`'s organisation. A partnership serves an organisation
/// that is a member itself, and everything under a member that accepts needs (a member that
/// accepts none, such as Oslo kommune in Områdesatsingene or an institution, takes part itself
/// but brings nothing under it along).
pub(crate) fn join_serving_members(select: &mut SelectStatement) -> &mut SelectStatement {
    let stands_for = Expr::col((PM, partnership_member::Column::AcceptsNeeds)).eq(true).or(Expr::col((
        OA,
        organisation_ancestor::Column::Depth,
    ))
    .eq(0));
    select.join_as(
        JoinType::InnerJoin,
        partnership_member::Entity,
        PM,
        Expr::col((PM, partnership_member::Column::OrganisationId))
            .equals((OA, organisation_ancestor::Column::AncestorId))
            .and(stands_for),
    )
}

/// A set of organisation kinds, as a filter (none: any kind). A bit per kind, so the set is a
/// small `Copy` value that batch keys and `db::pages::Children` can carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Kinds(u16);

impl Kinds {
    pub fn of(kinds: &[OrganisationKind]) -> Self {
        Self(kinds.iter().fold(0, |set, kind| set | Self::bit(*kind)))
    }

    fn bit(kind: OrganisationKind) -> u16 {
        OrganisationKind::iter().position(|k| k == kind).map_or(0, |i| 1 << i)
    }

    /// No kind named: every kind matches.
    pub fn is_any(self) -> bool {
        self.0 == 0
    }

    pub fn kinds(self) -> Vec<OrganisationKind> {
        OrganisationKind::iter().filter(|kind| self.0 & Self::bit(*kind) != 0).collect()
    }

    /// `column IN (the kinds)`, or `None` when every kind matches.
    pub fn condition(self, column: Expr) -> Option<Expr> {
        (!self.is_any()).then(|| column.is_in(self.kinds()))
    }
}

/// Which organisations to list. All conditions hold; `None` and an empty set mean no restriction.
#[derive(Debug, Default)]
pub struct OrganisationFilter {
    pub kinds: Kinds,
    /// The members of this partnership (not their subtrees).
    pub partnership_id: Option<i32>,
    /// The direct children of this organisation.
    pub parent_id: Option<i32>,
    /// Every descendant of this organisation, at any depth (not itself).
    pub under_id: Option<i32>,
    /// Part of the name (any case), or the start of the official number.
    pub search: Option<String>,
}

/// The organisations `filter` matches, in id order.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &OrganisationFilter,
) -> Result<Vec<organisation::Model>, DbErr> {
    let under = |ancestor: i32| {
        Query::select()
            .column(organisation_ancestor::Column::OrganisationId)
            .from(organisation_ancestor::Entity)
            .and_where(organisation_ancestor::Column::AncestorId.eq(ancestor))
            .and_where(organisation_ancestor::Column::Depth.gt(0))
            .to_owned()
    };
    let members = |partnership: i32| {
        Query::select()
            .column(partnership_member::Column::OrganisationId)
            .from(partnership_member::Entity)
            .and_where(partnership_member::Column::PartnershipId.eq(partnership))
            .to_owned()
    };
    let rows = organisation::Entity::find()
        .filter(
            Condition::all()
                .add_option(filter.kinds.condition(Expr::col(organisation::Column::Kind)))
                .add_option(filter.parent_id.map(|id| organisation::Column::ParentId.eq(id)))
                .add_option(filter.under_id.map(|id| organisation::Column::Id.in_subquery(under(id))))
                .add_option(
                    filter.partnership_id.map(|id| organisation::Column::Id.in_subquery(members(id))),
                ),
        )
        .order_by_asc(organisation::Column::Id)
        .all(db)
        .await?;
    // The search runs here rather than in SQL, as the municipalities' does: a few hundred rows,
    // and Rust's Unicode case folding treats "Østensjø" and "østensjø" alike on both databases
    // (SQLite's LIKE folds ASCII only).
    Ok(match filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(search) => {
            let needle = search.to_lowercase();
            rows.into_iter()
                .filter(|o| {
                    o.name.to_lowercase().contains(&needle)
                        || o.code.as_deref().is_some_and(|code| code.starts_with(search))
                })
                .collect()
        }
        None => rows,
    })
}

/// The organisation whose key, or else whose official number, is `value` (`rso-vest`, `4601`,
/// `030115`); `None` if there is none.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn by_key_or_code(
    db: &impl ConnectionTrait,
    value: &str,
) -> Result<Option<organisation::Model>, DbErr> {
    let rows = organisation::Entity::find()
        .filter(
            Condition::any()
                .add(organisation::Column::Key.eq(value))
                .add(organisation::Column::Code.eq(value)),
        )
        .all(db)
        .await?;
    // Keys are words and numbers digits, so two rows cannot both match; if they ever did, the
    // key would win.
    let by_key = rows.iter().position(|o| o.key.as_deref() == Some(value));
    Ok(by_key.or((!rows.is_empty()).then_some(0)).and_then(|i| rows.into_iter().nth(i)))
}

/// The organisation of `kind` whose official number is `code`; `None` if there is none, or if
/// the organisation with that number is of another kind.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn by_code(
    db: &impl ConnectionTrait,
    kind: OrganisationKind,
    code: &str,
) -> Result<Option<organisation::Model>, DbErr> {
    organisation::Entity::find()
        .filter(organisation::Column::Code.eq(code))
        .filter(organisation::Column::Kind.eq(kind))
        .one(db)
        .await
}

/// The select list of every column of `organisation o`.
fn organisation_columns() -> SelectStatement {
    Query::select().exprs(organisation::Column::iter().map(|c| Expr::col((O, c)))).to_owned()
}

#[derive(FromQueryResult)]
struct Of {
    of_id: i32,
}

/// Rows of a statement that selects an `organisation` or `partnership` model and `of_id`, grouped
/// by `of_id` in the order they came.
fn grouped<M: FromQueryResult>(rows: Vec<QueryResult>) -> Result<HashMap<i32, Vec<M>>, DbErr> {
    let mut grouped: HashMap<i32, Vec<M>> = HashMap::new();
    for row in rows {
        let of = Of::from_query_result(&row, "")?.of_id;
        grouped.entry(of).or_default().push(M::from_query_result(&row, "")?);
    }
    Ok(grouped)
}

/// The ancestors of each of `ids`, nearest first (its parent, its parent's parent, ... the
/// root), by organisation: one statement over the closure, whatever the depth.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ancestors_of(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<organisation::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let oa = |column: organisation_ancestor::Column| Expr::col((OA, column));
    let select = organisation_columns()
        .expr_as(oa(organisation_ancestor::Column::OrganisationId), "of_id")
        .from_as(organisation_ancestor::Entity, OA)
        .join_as(
            JoinType::InnerJoin,
            organisation::Entity,
            O,
            Expr::col((O, organisation::Column::Id)).equals((OA, organisation_ancestor::Column::AncestorId)),
        )
        .and_where(oa(organisation_ancestor::Column::OrganisationId).is_in(ids.iter().copied()))
        .and_where(oa(organisation_ancestor::Column::Depth).gt(0))
        .order_by((OA, organisation_ancestor::Column::OrganisationId), Order::Asc)
        .order_by((OA, organisation_ancestor::Column::Depth), Order::Asc)
        .to_owned();
    grouped(db.query_all(&select).await?)
}

/// A condition on a statement over `organisation_ancestor oa` joined to its serving members
/// (`join_serving_members`): only the members nearest above `oa`'s organisation. The partnerships
/// they belong to manage the organisation's people: RSO Vest for Bergen (not KSF, which serves it
/// from further up), Områdesatsingene and Universitetskommunen Oslo both for Søndre Nordstrand,
/// KSF where no nearer partnership serves.
pub(crate) fn nearest_members_only() -> Expr {
    const OA2: &str = "oa2";
    const PM2: &str = "pm2";
    let depth = |alias: &'static str| Expr::col((alias, organisation_ancestor::Column::Depth));
    let nearest = Query::select()
        .expr(Func::min(depth(OA2)))
        .from_as(organisation_ancestor::Entity, OA2)
        .join_as(
            JoinType::InnerJoin,
            partnership_member::Entity,
            PM2,
            Expr::col((PM2, partnership_member::Column::OrganisationId))
                .equals((OA2, organisation_ancestor::Column::AncestorId))
                .and(
                    Expr::col((PM2, partnership_member::Column::AcceptsNeeds)).eq(true).or(depth(OA2).eq(0)),
                ),
        )
        .and_where(
            Expr::col((OA2, organisation_ancestor::Column::OrganisationId))
                .equals((OA, organisation_ancestor::Column::OrganisationId)),
        )
        .to_owned();
    depth(OA).eq(Expr::SubQuery(None, Box::new(nearest.into())))
}

/// The partnerships that serve each of `ids` (a member is the organisation or one of its
/// ancestors), in id order, by organisation: one statement, each partnership once however many
/// of its members are above the organisation.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn partnerships_serving(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<partnership::Model>>, DbErr> {
    serving(db, ids, false).await
}

/// The partnerships that manage the people of each of `ids`: those serving it through the
/// members nearest above it (see `nearest_members_only`), by organisation; one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn partnerships_managing(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<partnership::Model>>, DbErr> {
    serving(db, ids, true).await
}

async fn serving(
    db: &impl ConnectionTrait,
    ids: &[i32],
    nearest: bool,
) -> Result<HashMap<i32, Vec<partnership::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = Query::select();
    select
        .distinct()
        .exprs(partnership::Column::iter().map(|c| Expr::col((P, c))))
        .expr_as(Expr::col((OA, organisation_ancestor::Column::OrganisationId)), "of_id")
        .from_as(organisation_ancestor::Entity, OA);
    join_serving_members(&mut select)
        .join_as(
            JoinType::InnerJoin,
            partnership::Entity,
            P,
            Expr::col((P, partnership::Column::Id)).equals((PM, partnership_member::Column::PartnershipId)),
        )
        .and_where(Expr::col((OA, organisation_ancestor::Column::OrganisationId)).is_in(ids.iter().copied()))
        .and_where_option(nearest.then(nearest_members_only))
        .order_by(Alias::new("of_id"), Order::Asc)
        .order_by((P, partnership::Column::Id), Order::Asc);
    grouped(db.query_all(&select).await?)
}

/// A member of a partnership: the organisation, and whether needs may be raised there.
#[derive(Clone, Debug)]
pub struct Member {
    pub organisation: organisation::Model,
    pub accepts_needs: bool,
}

#[derive(FromQueryResult)]
struct AcceptsNeeds {
    accepts_needs: bool,
}

/// The members of each of `partnership_ids`, in the id order of their organisations, with the
/// kinds in `kinds` (any when empty), by partnership: one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn members_of(
    db: &impl ConnectionTrait,
    partnership_ids: &[i32],
    kinds: Kinds,
) -> Result<HashMap<i32, Vec<Member>>, DbErr> {
    if partnership_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let pm = |column: partnership_member::Column| Expr::col((PM, column));
    let mut select = organisation_columns();
    select
        .expr_as(pm(partnership_member::Column::PartnershipId), "of_id")
        .expr_as(pm(partnership_member::Column::AcceptsNeeds), "accepts_needs")
        .from_as(partnership_member::Entity, PM)
        .join_as(
            JoinType::InnerJoin,
            organisation::Entity,
            O,
            Expr::col((O, organisation::Column::Id)).equals((PM, partnership_member::Column::OrganisationId)),
        )
        .and_where(pm(partnership_member::Column::PartnershipId).is_in(partnership_ids.iter().copied()))
        .and_where_option(kinds.condition(Expr::col((O, organisation::Column::Kind))))
        .order_by((PM, partnership_member::Column::PartnershipId), Order::Asc)
        .order_by((O, organisation::Column::Id), Order::Asc);
    let mut members: HashMap<i32, Vec<Member>> = HashMap::new();
    for row in db.query_all(&select).await? {
        let of = Of::from_query_result(&row, "")?.of_id;
        members.entry(of).or_default().push(Member {
            organisation: organisation::Model::from_query_result(&row, "")?,
            accepts_needs: AcceptsNeeds::from_query_result(&row, "")?.accepts_needs,
        });
    }
    Ok(members)
}

/// The partnership whose key is `key`, e.g. `omradesatsingene`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn partnership_by_key(
    db: &impl ConnectionTrait,
    key: &str,
) -> Result<Option<partnership::Model>, DbErr> {
    partnership::Entity::find().filter(partnership::Column::Key.eq(key)).one(db).await
}

/// The partnership of the national level (a partnership whose body organisation is NATIONAL,
/// KSF) that serves organisation `organisation_id`; `None` if none does.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn national_partnership_serving(
    db: &impl ConnectionTrait,
    organisation_id: i32,
) -> Result<Option<i32>, DbErr> {
    let mut select = Query::select();
    select.column((P, partnership::Column::Id)).from_as(organisation_ancestor::Entity, OA);
    join_serving_members(&mut select)
        .join_as(
            JoinType::InnerJoin,
            partnership::Entity,
            P,
            Expr::col((P, partnership::Column::Id)).equals((PM, partnership_member::Column::PartnershipId)),
        )
        .join_as(
            JoinType::InnerJoin,
            organisation::Entity,
            O,
            Expr::col((O, organisation::Column::Id)).equals((P, partnership::Column::OrganisationId)),
        )
        .and_where(Expr::col((OA, organisation_ancestor::Column::OrganisationId)).eq(organisation_id))
        .and_where(Expr::col((O, organisation::Column::Kind)).eq(OrganisationKind::National))
        .order_by((P, partnership::Column::Id), Order::Asc)
        .limit(1);
    let row = db.query_one(&select).await?;
    row.map(|r| r.try_get::<i32>("", "id")).transpose()
}

/// Whether partnership `partnership_id` is of the national level: its body is NATIONAL.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn is_national(db: &impl ConnectionTrait, partnership_id: i32) -> Result<bool, DbErr> {
    let found = partnership::Entity::find_by_id(partnership_id)
        .filter(partnership::Column::OrganisationId.in_subquery(national_bodies()))
        .one(db)
        .await?;
    Ok(found.is_some())
}

/// Every partnership, in id order.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn partnerships(db: &impl ConnectionTrait) -> Result<Vec<partnership::Model>, DbErr> {
    partnership::Entity::find().order_by_asc(partnership::Column::Id).all(db).await
}

/// The national partnership (KSF): the one whose body is the organisation of kind NATIONAL; none
/// before the reference data is loaded.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn national_partnership(db: &impl ConnectionTrait) -> Result<Option<partnership::Model>, DbErr> {
    partnership::Entity::find()
        .filter(partnership::Column::OrganisationId.in_subquery(national_bodies()))
        .order_by_asc(partnership::Column::Id)
        .one(db)
        .await
}

/// The organisations of the national level (kind NATIONAL), as a subquery of their ids.
fn national_bodies() -> SelectStatement {
    Query::select()
        .column(organisation::Column::Id)
        .from(organisation::Entity)
        .and_where(organisation::Column::Kind.eq(OrganisationKind::National))
        .to_owned()
}

/// The changes coordinators made to each of `ids` (the audit log's `organisation.*` events
/// about it, which `write` records), newest first, by organisation: one statement over the log's
/// index on its target.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn histories_of(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<audit_event::Model>>, DbErr> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = audit_event::Entity::find()
        .filter(audit_event::Column::TargetType.eq(crate::domain::nodes::NodeType::Organisation.name()))
        .filter(audit_event::Column::TargetId.is_in(ids.iter().copied()))
        .filter(audit_event::Column::Action.starts_with(super::write::HISTORY_PREFIX))
        .order_by_desc(audit_event::Column::Id)
        .all(db)
        .await?;
    let mut grouped: HashMap<i32, Vec<audit_event::Model>> = HashMap::new();
    for row in rows {
        if let Some(id) = row.target_id {
            grouped.entry(id).or_default().push(row);
        }
    }
    Ok(grouped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_of_kinds_holds_exactly_the_kinds_named() {
        assert!(Kinds::default().is_any());
        let set =
            Kinds::of(&[OrganisationKind::District, OrganisationKind::National, OrganisationKind::District]);
        assert_eq!(set.kinds(), [OrganisationKind::National, OrganisationKind::District]);
        for kind in OrganisationKind::iter() {
            assert_eq!(Kinds::of(&[kind]).kinds(), [kind], "{kind:?}");
        }
        assert_eq!(Kinds::of(&OrganisationKind::iter().collect::<Vec<_>>()).kinds().len(), 11);
    }
}
