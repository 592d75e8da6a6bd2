//! Reading commissions: the page and count of those a viewer may see, narrowed by a filter; the
//! commissions of needs; published summaries (searched); a milestone and an uptake record by id.

use entity::{commission, commission_need, enums::CommissionStatus, milestone, need_theme, summary, uptake};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::db::pages::KeyWindow;

/// The commissions a viewer may see, as conditions a query can apply: published ones, the drafts
/// of `draft_regions`, and past draft those of `regions` (or all of them). The same rule as
/// `Action::SeeCommission` in `auth::policy` (a test holds them together).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommissionScope {
    pub draft_regions: Vec<i32>,
    pub all_past_draft: bool,
    pub regions: Vec<i32>,
}

/// Which commissions to list: those of `scope`, narrowed by the rest. An empty list and `None`
/// mean no restriction.
#[derive(Clone, Debug, Default)]
pub struct CommissionFilter {
    /// The commissions the viewer may see.
    pub scope: CommissionScope,
    pub statuses: Vec<CommissionStatus>,
    /// Awarded to this institution.
    pub institution_id: Option<i32>,
    pub product_type_id: Option<i32>,
    /// Answering a need with this theme.
    pub theme_id: Option<i32>,
}

/// The commissions of `scope` (see [`CommissionScope`]), as a condition.
fn in_scope(scope: &CommissionScope) -> Condition {
    let status = commission::Column::Status;
    let mut visible = Condition::any().add(status.eq(CommissionStatus::Published));
    if !scope.draft_regions.is_empty() {
        visible = visible.add(
            Condition::all()
                .add(status.eq(CommissionStatus::Draft))
                .add(commission::Column::PartnershipId.is_in(scope.draft_regions.iter().copied())),
        );
    }
    let past_draft = status.is_not_in([CommissionStatus::Draft, CommissionStatus::Published]);
    if scope.all_past_draft {
        visible = visible.add(past_draft);
    } else if !scope.regions.is_empty() {
        visible = visible.add(
            Condition::all()
                .add(past_draft)
                .add(commission::Column::PartnershipId.is_in(scope.regions.iter().copied())),
        );
    }
    visible
}

/// The commissions matching `filter`, unordered and uncut.
fn matching(filter: &CommissionFilter) -> Select<commission::Entity> {
    let mut select = commission::Entity::find().filter(in_scope(&filter.scope));
    if !filter.statuses.is_empty() {
        select = select.filter(commission::Column::Status.is_in(filter.statuses.iter().copied()));
    }
    if let Some(id) = filter.institution_id {
        select = select.filter(commission::Column::AwardedInstitutionId.eq(id));
    }
    if let Some(id) = filter.product_type_id {
        select = select.filter(commission::Column::ProductTypeId.eq(id));
    }
    if let Some(theme) = filter.theme_id {
        // Themes come through the needs a commission answers.
        select = select.filter(
            commission::Column::Id.in_subquery(
                Query::select()
                    .column((commission_need::Entity, commission_need::Column::CommissionId))
                    .from(commission_need::Entity)
                    .inner_join(
                        need_theme::Entity,
                        Expr::col((need_theme::Entity, need_theme::Column::NeedId))
                            .equals((commission_need::Entity, commission_need::Column::NeedId)),
                    )
                    .and_where(Expr::col((need_theme::Entity, need_theme::Column::ThemeId)).eq(theme))
                    .to_owned(),
            ),
        );
    }
    select
}

/// One page of the commissions matching `filter`, newest first, cut in SQL by key: the window's
/// keys are negated ids (so that they grow along the order). The rows come newest first, with
/// whether more follow in the window's direction of travel. One statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &CommissionFilter,
    window: &KeyWindow,
) -> Result<(Vec<commission::Model>, bool), DbErr> {
    let mut select = matching(filter);
    // key > after, that is id < -after; key < before, that is id > -before.
    if let Some(after) = window.after {
        select = select.filter(commission::Column::Id.lt(-after));
    }
    if let Some(before) = window.before {
        select = select.filter(commission::Column::Id.gt(-before));
    }
    select = if window.from_end {
        select.order_by_asc(commission::Column::Id)
    } else {
        select.order_by_desc(commission::Column::Id)
    };
    let mut rows = select.limit(window.size as u64 + 1).all(db).await?;
    let more = rows.len() > window.size;
    rows.truncate(window.size);
    if window.from_end {
        rows.reverse();
    }
    Ok((rows, more))
}

/// How many commissions match `filter`, across all pages.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn count(db: &impl ConnectionTrait, filter: &CommissionFilter) -> Result<u64, DbErr> {
    matching(filter).count(db).await
}

/// The commissions answering each of `need_ids`, as (need id, commission) pairs, newest
/// commission first, through `commission_need`: one statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn of_needs(
    db: &impl ConnectionTrait,
    need_ids: &[i32],
) -> Result<Vec<(i32, commission::Model)>, DbErr> {
    let rows = commission_need::Entity::find()
        .filter(commission_need::Column::NeedId.is_in(need_ids.iter().copied()))
        .find_also_related(commission::Entity)
        .order_by_desc(commission::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(link, commission)| Some((link.need_id, commission?))).collect())
}

/// The published summaries whose title and abstract hold every word of `search` (any case),
/// newest first. The words are matched in memory, after one read of the published summaries, so
/// that case folds alike on both databases.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn published_summaries(
    db: &impl ConnectionTrait,
    search: Option<&str>,
) -> Result<Vec<summary::Model>, DbErr> {
    let rows = summary::Entity::find()
        .filter(summary::Column::PublishedAt.is_not_null())
        .order_by_desc(summary::Column::Id)
        .all(db)
        .await?;
    let words = search.map(crate::domain::needs::search_words).unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter(|s| {
            let text = format!("{} {}", s.title, s.abstract_text).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect())
}

/// A milestone by id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn milestone(db: &impl ConnectionTrait, id: i32) -> Result<Option<milestone::Model>, DbErr> {
    milestone::Entity::find_by_id(id).one(db).await
}

/// An uptake record by id.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn uptake(db: &impl ConnectionTrait, id: i32) -> Result<Option<uptake::Model>, DbErr> {
    uptake::Entity::find_by_id(id).one(db).await
}
