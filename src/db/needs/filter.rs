//! Which needs a statement reads: a filter (`NeedFilter`) and what the viewer may see
//! (`Visibility`), as the conditions of a statement over `need n`, shared by the list, the counts
//! and the history of matching needs.

use chrono::{DateTime, Utc};
use entity::{
    county,
    enums::{NeedStatus, Urgency},
    municipality, need, need_theme, organisation_ancestor, partnership_member,
};
use sea_orm::{
    DatabaseBackend, Iterable,
    sea_query::{Cond, Condition, Expr, ExprTrait, JoinType, Query, SelectStatement},
};

use super::{N, n, search};
use crate::{
    db::organisations::read::{Members, OA, PM, join_members_above},
    domain::needs::is_published,
};

/// Which needs to list. Empty lists and `None` mean no restriction.
#[derive(Clone, Debug, Default)]
pub struct NeedFilter {
    pub statuses: Vec<NeedStatus>,
    pub theme_ids: Vec<i32>,
    pub partnership_id: Option<i32>,
    pub cluster_id: Option<i32>,
    pub municipality_id: Option<i32>,
    pub product_type_id: Option<i32>,
    /// Needs raised in the subtree of each of these organisations (the filter's, and the
    /// organisation whose needs are asked for): their municipality's organisation is it or a
    /// descendant.
    pub organisation_ids: Vec<i32>,
    /// Needs raised in the subtree of a member of each of these partnerships.
    pub partnership_ids: Vec<i32>,
    pub urgency: Option<Urgency>,
    pub submitted_after: Option<DateTime<Utc>>,
    pub submitted_before: Option<DateTime<Utc>>,
    /// Words to find in title, question and background (all must match, as prefixes).
    pub search: Vec<String>,
}

/// Whose drafts the caller may see (drafts are visible only within their municipality).
#[derive(Clone, Debug, Default)]
pub struct Visibility {
    pub draft_municipalities: Vec<i32>,
}

/// Narrows a statement over `need n` (its `FROM` and any joins already added) to the needs that
/// `filter` matches and the viewer may see. A search joins its matches as `s`, with their `rank`
/// (lower is better), narrowed to `candidates` when given.
pub(super) fn restrict(
    select: &mut SelectStatement,
    backend: DatabaseBackend,
    filter: &NeedFilter,
    visibility: &Visibility,
    candidates: Option<&search::Candidates<'_>>,
) {
    if !filter.search.is_empty() {
        search::join(select, backend, &filter.search, candidates);
    }
    select.cond_where(conditions(filter, visibility));
}

/// The filter's conditions and the viewer's, all of which a need must meet.
fn conditions(filter: &NeedFilter, visibility: &Visibility) -> Condition {
    // Unpublished needs (drafts) only of the municipalities the viewer may see them in: the
    // statuses come from the domain's rule, bound like any value.
    let unpublished = NeedStatus::iter().filter(|status| !is_published(*status));
    let visible = Cond::any().add(n(need::Column::Status).is_not_in(unpublished)).add_option(
        (!visibility.draft_municipalities.is_empty())
            .then(|| n(need::Column::MunicipalityId).is_in(visibility.draft_municipalities.iter().copied())),
    );
    Cond::all()
        .add(visible)
        .add_option(
            (!filter.statuses.is_empty()).then(|| n(need::Column::Status).is_in(filter.statuses.clone())),
        )
        .add_option((!filter.theme_ids.is_empty()).then(|| {
            const NT: &str = "nt";
            Expr::exists(
                Query::select()
                    .expr(Expr::Constant(1.into()))
                    .from_as(need_theme::Entity, NT)
                    .and_where(Expr::col((NT, need_theme::Column::NeedId)).equals((N, need::Column::Id)))
                    .and_where(Expr::col((NT, need_theme::Column::ThemeId)).is_in(filter.theme_ids.clone()))
                    .to_owned(),
            )
        }))
        .add_option(filter.municipality_id.map(|id| n(need::Column::MunicipalityId).eq(id)))
        .add_option(filter.cluster_id.map(|id| {
            n(need::Column::MunicipalityId).in_subquery(
                Query::select()
                    .column(municipality::Column::Id)
                    .from(municipality::Entity)
                    .and_where(Expr::col(municipality::Column::ClusterId).eq(id))
                    .to_owned(),
            )
        }))
        .add_option(filter.partnership_id.map(|id| {
            const M: &str = "m";
            const C: &str = "c";
            n(need::Column::MunicipalityId).in_subquery(
                Query::select()
                    .column((M, municipality::Column::Id))
                    .from_as(municipality::Entity, M)
                    .join_as(
                        JoinType::InnerJoin,
                        county::Entity,
                        C,
                        Expr::col((C, county::Column::Id)).equals((M, municipality::Column::CountyId)),
                    )
                    .and_where(Expr::col((C, county::Column::PartnershipId)).eq(id))
                    .to_owned(),
            )
        }))
        .add_option(filter.product_type_id.map(|id| n(need::Column::ProductTypeId).eq(id)))
        .add_option(organisations(filter))
        .add_option(filter.urgency.map(|urgency| n(need::Column::Urgency).eq(urgency)))
        .add_option(filter.submitted_after.map(|after| n(need::Column::SubmittedAt).gte(after)))
        .add_option(filter.submitted_before.map(|before| n(need::Column::SubmittedAt).lt(before)))
}

/// The alias of `municipality` in the subqueries over the organisation tree (whose other
/// aliases are `db::organisations::read`'s).
const M: &str = "m";

/// Needs raised under each of the filter's organisations, and where each of its partnerships
/// takes needs (under a member that accepts them): one `IN` subquery each, through the closure `organisation_ancestor` (and `partnership_member`), so the depth of
/// the tree costs nothing and no row is looked up one by one.
fn organisations(filter: &NeedFilter) -> Option<Condition> {
    let under = filter.organisation_ids.iter().map(|id| {
        let mut municipalities = subtree_municipalities();
        municipalities.and_where(Expr::col((OA, organisation_ancestor::Column::AncestorId)).eq(*id));
        n(need::Column::MunicipalityId).in_subquery(municipalities)
    });
    let served = filter.partnership_ids.iter().map(|id| {
        let mut municipalities = subtree_municipalities();
        join_members_above(&mut municipalities, Members::Accepting)
            .and_where(Expr::col((PM, partnership_member::Column::PartnershipId)).eq(*id));
        n(need::Column::MunicipalityId).in_subquery(municipalities)
    });
    let conditions: Vec<Expr> = under.chain(served).collect();
    (!conditions.is_empty()).then(|| conditions.into_iter().fold(Cond::all(), Condition::add))
}

/// The municipalities (`m.id`) with every ancestor of their organisation (`oa.ancestor_id`, the
/// organisation itself included), for the caller to narrow by ancestor.
fn subtree_municipalities() -> SelectStatement {
    Query::select()
        .column((M, municipality::Column::Id))
        .from_as(municipality::Entity, M)
        .join_as(
            JoinType::InnerJoin,
            organisation_ancestor::Entity,
            OA,
            Expr::col((OA, organisation_ancestor::Column::OrganisationId))
                .equals((M, municipality::Column::OrganisationId)),
        )
        .to_owned()
}
