//! Root query fields `commissions` and `summaries`, and the commissions of an institution.

use async_graphql::{
    Context, ID, InputObject, Object,
    connection::{Connection, Edge, EmptyFields},
};
use entity::{commission, enums::CommissionStatus, summary};

use crate::{
    db::commissions::{self as db_commissions, CommissionFilter as Filter},
    error::{AppError, Result},
    graphql::{
        commissions::types::{Commission, Summary, can_see_commission},
        connection::{Page, PageArgs, cost, encode_cursor, keyset_page_info, paginate, paginate_with},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        keys,
        loaders::CommissionById,
    },
};

#[derive(Default)]
pub struct CommissionsQuery;

/// Which commissions to list. A region, cluster, municipality, institution, theme or product type
/// is named by its id or its key (`rso-vest`, `sor-rogaland`, `uib`, `public-health`, a
/// municipality's number `4601`).
#[derive(InputObject, Default, Clone)]
pub struct CommissionFilter {
    pub status: Option<Vec<CommissionStatus>>,
    /// Awarded to this institution.
    pub institution: Option<ID>,
    pub product_type: Option<ID>,
    /// Answering a need with this theme.
    pub theme: Option<ID>,
}

/// The database's filter for `filter` as the caller asks it: their scope, and the keys it names
/// (an unknown one is `NOT_FOUND`).
pub(crate) async fn db_filter(ctx: &Context<'_>, filter: Option<CommissionFilter>) -> Result<Filter> {
    let filter = filter.unwrap_or_default();
    Ok(Filter {
        scope: ctx.viewer()?.commission_scope(),
        statuses: filter.status.unwrap_or_default(),
        institution_id: keys::optional(ctx, filter.institution.as_ref(), NodeType::Institution).await?,
        product_type_id: keys::optional(ctx, filter.product_type.as_ref(), NodeType::ProductType).await?,
        theme_id: keys::optional(ctx, filter.theme.as_ref(), NodeType::Theme).await?,
    })
}

/// Newest first: the cursor key is the negated id, so that it grows along the order.
fn newest_first(id: i32) -> i64 {
    -i64::from(id)
}

/// A page of the commissions matching `filter`, newest first, fetched in SQL by key (the cursor
/// key of [`newest_first`]): one statement for the page, and `totalCount` only when asked for.
async fn newest_first_in_sql(ctx: &Context<'_>, filter: Filter, args: PageArgs) -> Result<CommissionPage> {
    let (rows, more) = db_commissions::page(ctx.db()?.conn(), &filter, &args.window()).await?;
    let (has_previous, has_next) =
        keyset_page_info(args.from_end, args.after.is_some(), args.before.is_some(), more);
    let mut page = Connection::with_additional_fields(
        has_previous,
        has_next,
        CommissionCount::Counted(Box::new(filter)),
    );
    page.edges
        .extend(rows.into_iter().map(|row| Edge::new(encode_cursor(newest_first(row.id)), Commission(row))));
    Ok(page)
}

/// `totalCount` of a commissions connection: known when the page was cut from a loaded list,
/// else counted in SQL only when asked for.
pub enum CommissionCount {
    Known(usize),
    Counted(Box<Filter>),
}

#[Object]
impl CommissionCount {
    /// How many commissions match, across all pages.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        match self {
            Self::Known(n) => Ok(*n as u64),
            Self::Counted(filter) => Ok(db_commissions::count(ctx.db()?.conn(), filter).await?),
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
    #[tracing::instrument(level = "debug", skip_all)]
    async fn commission(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Commission>> {
        let key = GlobalId::decode_as(&id, NodeType::Commission)?;
        Ok(crate::graphql::commissions::types::visible_commission(ctx, key).await?.map(Commission))
    }

    /// Commissions the caller may see (published ones are public), newest first.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
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
        newest_first_in_sql(ctx, db_filter(ctx, filter).await?, args).await
    }

    /// Published knowledge summaries, newest first; `search` matches words of the title and abstract.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
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
        let rows = db_commissions::published_summaries(ctx.db()?.conn(), search.as_deref()).await?;
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
