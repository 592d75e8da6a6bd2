//! Which needs a statement reads: a filter (`NeedFilter`) and what the viewer may see
//! (`Visibility`), as the conditions of a statement over `need n`, shared by the list, the counts
//! and the history of matching needs.

use chrono::{DateTime, Utc};
use entity::{
    enums::{NeedStatus, Urgency},
    need, need_theme, organisation_ancestor,
};
use sea_orm::{
    Iterable,
    sea_query::{Cond, Condition, Expr, ExprTrait, Query, SelectStatement},
};

use super::{N, n, search};
use crate::{db::organisations::read::OA, domain::needs::is_published};

/// Which needs to list. Empty lists and `None` mean no restriction.
#[derive(Clone, Debug, Default)]
pub struct NeedFilter {
    pub statuses: Vec<NeedStatus>,
    pub theme_ids: Vec<i32>,
    /// Needs raised in this municipality, by it or by a unit within it.
    pub municipality_id: Option<i32>,
    pub product_type_id: Option<i32>,
    /// Needs raised in the subtree of each of these organisations (a filter's cluster and
    /// organisation, and the organisation whose needs are asked for): the unit that raised them
    /// is it or below it.
    pub organisation_ids: Vec<i32>,
    /// Needs in the pool of each of these partnerships (a filter's region and partnership, and
    /// the partnership whose needs are asked for).
    pub partnership_ids: Vec<i32>,
    pub urgency: Option<Urgency>,
    pub submitted_after: Option<DateTime<Utc>>,
    pub submitted_before: Option<DateTime<Utc>>,
    /// Words to find in title, question and background: a need matches when it has each of them,
    /// in any of its forms or as the start of a longer word (see `search`).
    pub search: Vec<String>,
}

/// Whose drafts the caller may see (drafts are visible only to the members of the unit that
/// raised them).
#[derive(Clone, Debug, Default)]
pub struct Visibility {
    pub draft_units: Vec<i32>,
}

/// Narrows a statement over `need n` (its `FROM` and any joins already added) to the needs that
/// `filter` matches and the viewer may see. A search (its words' terms `found`, see
/// `search::resolve`) joins its matches as `s`, with their `rank` (lower is better), those of
/// `stream` when given.
pub(super) fn restrict(
    select: &mut SelectStatement,
    filter: &NeedFilter,
    found: Option<&search::Found>,
    visibility: &Visibility,
    stream: Option<&search::Stream<'_>>,
) {
    if let Some(found) = found {
        search::join(select, found, stream);
    }
    select.cond_where(conditions(filter, visibility));
}

/// The filter's conditions and the viewer's, all of which a need must meet.
fn conditions(filter: &NeedFilter, visibility: &Visibility) -> Condition {
    placed(filter, visibility)
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
        .add_option(filter.product_type_id.map(|id| n(need::Column::ProductTypeId).eq(id)))
        .add_option(filter.urgency.map(|urgency| n(need::Column::Urgency).eq(urgency)))
        .add_option(filter.submitted_after.map(|after| n(need::Column::SubmittedAt).gte(after)))
        .add_option(filter.submitted_before.map(|before| n(need::Column::SubmittedAt).lt(before)))
}

/// The conditions on what the viewer may see, the status and where a need was raised (its unit,
/// municipality and pool), over `n`'s columns `status`, `organisation_id`, `municipality_id` and
/// `partnership_id`: those of `need`, and of the tallies that count needs by them
/// (`super::counts`).
pub(super) fn placed(filter: &NeedFilter, visibility: &Visibility) -> Condition {
    // Unpublished needs (drafts) only of the units the viewer may see them in: the statuses come
    // from the domain's rule, bound like any value.
    let unpublished = NeedStatus::iter().filter(|status| !is_published(*status));
    let visible = Cond::any().add(n(need::Column::Status).is_not_in(unpublished)).add_option(
        (!visibility.draft_units.is_empty())
            .then(|| n(need::Column::OrganisationId).is_in(visibility.draft_units.iter().copied())),
    );
    Cond::all()
        .add(visible)
        .add_option(
            (!filter.statuses.is_empty()).then(|| n(need::Column::Status).is_in(filter.statuses.clone())),
        )
        .add_option(filter.municipality_id.map(|id| n(need::Column::MunicipalityId).eq(id)))
        .add_option(organisations(filter))
}

/// Needs raised under each of the filter's organisations (one `IN` subquery over the closure
/// `organisation_ancestor` each, so the depth of the tree costs nothing and no row is looked up
/// one by one), and in the pool of each of its partnerships.
fn organisations(filter: &NeedFilter) -> Option<Condition> {
    let under = filter.organisation_ids.iter().map(|id| {
        n(need::Column::OrganisationId).in_subquery(
            Query::select()
                .column((OA, organisation_ancestor::Column::OrganisationId))
                .from_as(organisation_ancestor::Entity, OA)
                .and_where(Expr::col((OA, organisation_ancestor::Column::AncestorId)).eq(*id))
                .to_owned(),
        )
    });
    let pooled = filter.partnership_ids.iter().map(|id| n(need::Column::PartnershipId).eq(*id));
    let conditions: Vec<Expr> = under.chain(pooled).collect();
    (!conditions.is_empty()).then(|| conditions.into_iter().fold(Cond::all(), Condition::add))
}
