//! Root query fields `commissions` and `summaries`, and the commissions of an institution.

use async_graphql::{Context, ID, InputObject, Object};
use entity::{commission, enums::CommissionStatus, summary};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    error::{AppError, Result},
    graphql::{
        commissions::types::{Commission, Summary, can_see_commission},
        connection::{Page, PageArgs, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{CommissionById, NeedsOfCommission, ThemesOfNeed},
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
fn newest_first(rows: Vec<commission::Model>, args: PageArgs) -> Page<Commission> {
    paginate(rows.into_iter().map(Commission).collect(), args, |c| -i64::from(c.0.id))
}

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
    ) -> Result<Page<Commission>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let mut select = commission::Entity::find();
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
        let theme = filter.theme.as_ref().map(|id| GlobalId::decode_as(id, NodeType::Theme)).transpose()?;
        let rows = select.order_by_desc(commission::Column::Id).all(ctx.db()?.conn()).await?;
        let mut rows = visible(ctx, rows)?;
        if let Some(theme) = theme {
            // Themes come through the needs; both loads are one batch each for all commissions.
            let loader = ctx.loader()?;
            let needs = loader.load_many(rows.iter().map(|c| NeedsOfCommission(c.id))).await?;
            let need_ids: Vec<i32> = needs.values().flatten().map(|n| n.id).collect();
            let themes = loader.load_many(need_ids.into_iter().map(ThemesOfNeed)).await?;
            rows.retain(|c| {
                needs.get(&NeedsOfCommission(c.id)).is_some_and(|ns| {
                    ns.iter().any(|n| {
                        themes.get(&ThemesOfNeed(n.id)).is_some_and(|ts| ts.iter().any(|t| t.id == theme))
                    })
                })
            });
        }
        Ok(newest_first(rows, args))
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
        Ok(paginate(rows.into_iter().map(Summary).collect(), args, |s| -i64::from(s.0.id)))
    }
}

/// `institution.commissions`: the commissions awarded to an institution that the caller may see.
pub async fn of_institution(
    ctx: &Context<'_>,
    institution_id: i32,
    args: PageArgs,
) -> Result<Page<Commission>, AppError> {
    let rows = ctx
        .loader()?
        .load_one(crate::graphql::loaders::CommissionsOfInstitution(institution_id))
        .await?
        .unwrap_or_default();
    let mut rows = visible(ctx, rows)?;
    rows.sort_by_key(|c| std::cmp::Reverse(c.id));
    Ok(newest_first(rows, args))
}
