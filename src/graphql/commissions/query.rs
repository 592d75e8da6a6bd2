//! Root query fields `commissions` and `summaries`, and the commissions of an institution.

use async_graphql::{
    Context, ID, InputObject, Object,
    connection::{Connection, Edge, EmptyFields},
};
use entity::{commission, commission_need, enums::CommissionStatus, need_theme, summary};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::{
    auth::policy::CommissionScope,
    error::{AppError, Result},
    graphql::{
        commissions::types::{Commission, Summary, can_see_commission},
        connection::{Page, PageArgs, cost, encode_cursor, keyset_page_info, paginate, paginate_with},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::CommissionById,
    },
};

#[derive(Default)]
pub struct CommissionsQuery;

/// Which commissions to list.
#[derive(InputObject, Default)]
pub struct CommissionFilter {
    pub status: Option<Vec<CommissionStatus>>,
    /// Awarded to this institution.
    pub institution: Option<ID>,
    pub product_type: Option<ID>,
    /// Answering a need with this theme.
    pub theme: Option<ID>,
}

/// Newest first: the cursor key is the negated id, so that it grows along the order.
fn newest_first(id: i32) -> i64 {
    -i64::from(id)
}

/// The commissions of `scope` (see [`CommissionScope`]), as a condition.
fn in_scope(scope: &CommissionScope) -> Condition {
    let status = commission::Column::Status;
    let mut visible = Condition::any().add(status.eq(CommissionStatus::Published));
    if !scope.draft_regions.is_empty() {
        visible = visible.add(
            Condition::all()
                .add(status.eq(CommissionStatus::Draft))
                .add(commission::Column::RegionId.is_in(scope.draft_regions.iter().copied())),
        );
    }
    let past_draft = status.is_not_in([CommissionStatus::Draft, CommissionStatus::Published]);
    if scope.all_past_draft {
        visible = visible.add(past_draft);
    } else if !scope.regions.is_empty() {
        visible = visible.add(
            Condition::all()
                .add(past_draft)
                .add(commission::Column::RegionId.is_in(scope.regions.iter().copied())),
        );
    }
    visible
}

/// A page of `select`, newest first, fetched in SQL by key (the cursor key of
/// [`newest_first`]): one statement for the page, and `totalCount` only when asked for.
async fn newest_first_in_sql(
    ctx: &Context<'_>,
    select: Select<commission::Entity>,
    args: PageArgs,
) -> Result<CommissionPage> {
    let mut window = select.clone();
    // key > after, that is id < -after; key < before, that is id > -before.
    if let Some(after) = args.after {
        window = window.filter(commission::Column::Id.lt(-after));
    }
    if let Some(before) = args.before {
        window = window.filter(commission::Column::Id.gt(-before));
    }
    window = if args.from_end {
        window.order_by_asc(commission::Column::Id)
    } else {
        window.order_by_desc(commission::Column::Id)
    };
    let mut rows = window.limit(args.size as u64 + 1).all(ctx.db()?.conn()).await?;
    let more = rows.len() > args.size;
    rows.truncate(args.size);
    if args.from_end {
        rows.reverse();
    }
    let (has_previous, has_next) =
        keyset_page_info(args.from_end, args.after.is_some(), args.before.is_some(), more);
    let mut page = Connection::with_additional_fields(
        has_previous,
        has_next,
        CommissionCount::Counted(Box::new(select)),
    );
    page.edges
        .extend(rows.into_iter().map(|row| Edge::new(encode_cursor(newest_first(row.id)), Commission(row))));
    Ok(page)
}

/// `totalCount` of a commissions connection: known when the page was cut from a loaded list,
/// else counted in SQL only when asked for.
pub enum CommissionCount {
    Known(usize),
    Counted(Box<Select<commission::Entity>>),
}

#[Object]
impl CommissionCount {
    /// How many commissions match, across all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        match self {
            Self::Known(n) => Ok(*n as u64),
            Self::Counted(select) => Ok(select.as_ref().clone().count(ctx.db()?.conn()).await?),
        }
    }
}

pub type CommissionPage = Connection<String, Commission, CommissionCount, EmptyFields>;

/// Keeps the commissions the viewer may see.
pub fn visible(ctx: &Context<'_>, rows: Vec<commission::Model>) -> Result<Vec<commission::Model>, AppError> {
    let mut kept = Vec::new();
    for row in rows {
        if can_see_commission(ctx, &row)? {
            kept.push(row);
        }
    }
    Ok(kept)
}

#[Object]
impl CommissionsQuery {
    /// One commission by id; null if it does not exist or the caller may not see it.
    async fn commission(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Commission>> {
        let key = GlobalId::decode_as(&id, NodeType::Commission)?;
        Ok(crate::graphql::commissions::types::visible_commission(ctx, key).await?.map(Commission))
    }

    /// Commissions the caller may see (published ones are public), newest first.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn commissions(
        &self,
        ctx: &Context<'_>,
        filter: Option<CommissionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<CommissionPage> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let mut select = commission::Entity::find().filter(in_scope(&ctx.viewer()?.commission_scope()));
        if let Some(statuses) = filter.status.filter(|s| !s.is_empty()) {
            select = select.filter(commission::Column::Status.is_in(statuses));
        }
        if let Some(id) = &filter.institution {
            select = select.filter(
                commission::Column::AwardedInstitutionId.eq(GlobalId::decode_as(id, NodeType::Institution)?),
            );
        }
        if let Some(id) = &filter.product_type {
            select = select.filter(
                commission::Column::ProductTypeId.eq(GlobalId::decode_as(id, NodeType::ProductType)?),
            );
        }
        if let Some(id) = &filter.theme {
            // Themes come through the needs a commission answers.
            let theme = GlobalId::decode_as(id, NodeType::Theme)?;
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
        newest_first_in_sql(ctx, select, args).await
    }

    /// Published knowledge summaries, newest first; `search` matches words of the title and abstract.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn summaries(
        &self,
        ctx: &Context<'_>,
        search: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Summary>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = summary::Entity::find()
            .filter(summary::Column::PublishedAt.is_not_null())
            .order_by_desc(summary::Column::Id)
            .all(ctx.db()?.conn())
            .await?;
        let words = search.as_deref().map(crate::domain::needs::search_words).unwrap_or_default();
        let rows: Vec<summary::Model> = rows
            .into_iter()
            .filter(|s| {
                let text = format!("{} {}", s.title, s.abstract_text).to_lowercase();
                words.iter().all(|w| text.contains(w.as_str()))
            })
            .collect();
        // Summaries are public only with their published commission; check it in one batch.
        let commissions =
            ctx.loader()?.load_many(rows.iter().map(|s| CommissionById(s.commission_id))).await?;
        let rows: Vec<summary::Model> = rows
            .into_iter()
            .filter(|s| {
                commissions
                    .get(&CommissionById(s.commission_id))
                    .is_some_and(|c| can_see_commission(ctx, c).unwrap_or(false))
            })
            .collect();
        Ok(paginate(rows.into_iter().map(Summary).collect(), args, |s| newest_first(s.0.id)))
    }
}

/// `institution.commissions`: the commissions awarded to an institution that the caller may see.
pub async fn of_institution(
    ctx: &Context<'_>,
    institution_id: i32,
    args: PageArgs,
) -> Result<CommissionPage, AppError> {
    let rows = ctx
        .loader()?
        .load_one(crate::graphql::loaders::CommissionsOfInstitution(institution_id))
        .await?
        .unwrap_or_default();
    let mut rows = visible(ctx, rows)?;
    rows.sort_by_key(|c| std::cmp::Reverse(c.id));
    let rows = rows.into_iter().map(Commission).collect();
    Ok(paginate_with(rows, args, |c| newest_first(c.0.id), CommissionCount::Known))
}
