//! Root query field `rounds`: the rounds of the regions the caller is a member of.

use async_graphql::{Context, ID, InputObject, Object};
use entity::enums::RoundStatus;

use crate::{
    db::rounds::in_regions,
    error::Result,
    graphql::{
        connection::{Page, PageArgs, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        keys,
        rounds::types::{Round, visible_round},
    },
};

#[derive(Default)]
pub struct RoundsQuery;

/// Which rounds to list. A region, cluster, municipality, institution, theme or product type is
/// named by its id or its key (`rso-vest`, `sor-rogaland`, `uib`, `public-health`, a municipality's
/// number `4601`).
#[derive(InputObject, Default)]
pub struct RoundFilter {
    pub region: Option<ID>,
    pub status: Option<RoundStatus>,
}

#[Object]
impl RoundsQuery {
    /// One round by id; null if it does not exist or the caller may not see it.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn round(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Round>> {
        let key = GlobalId::decode_as(&id, NodeType::Round)?;
        Ok(visible_round(ctx, key).await?.map(Round))
    }

    /// Prioritisation rounds of the regions the caller has a membership in, newest first.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn rounds(
        &self,
        ctx: &Context<'_>,
        filter: Option<RoundFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Round>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let mut regions = ctx.viewer()?.regions();
        if let Some(id) = &filter.region {
            let wanted = keys::id_or_key(ctx, id, NodeType::Region).await?;
            regions.retain(|r| *r == wanted);
        }
        let rows = in_regions(ctx.db()?.conn(), &regions, filter.status).await?;
        // Newest first: the cursor key is the negated id, so that it grows along the order.
        Ok(paginate(rows.into_iter().map(Round).collect(), args, |r| -i64::from(r.0.id)))
    }
}
