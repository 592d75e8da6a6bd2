//! Root query fields for the reference data. Public: no token needed.

use async_graphql::{Context, ID, InputObject, Object};
use entity::{cluster, county, criterion, enums::InstitutionKind, institution, product_type, theme};

use crate::{
    db::reference::{self, MunicipalityFilter as DbMunicipalityFilter},
    error::{AppError, Result},
    graphql::{
        connection::{Page, PageArgs, cost},
        context::ContextExt,
        ids::NodeType,
        keys,
        reference::types::{
            Cluster, County, Criterion, Institution, Municipality, ProductType, Region, Theme, page_of,
        },
    },
};

#[derive(Default)]
pub struct ReferenceQuery;

/// Which clusters to list. A region, cluster, municipality, institution, theme or product type is
/// named by its id or its key (`rso-vest`, `sor-rogaland`, `uib`, `public-health`, a municipality's
/// number `4601`).
#[derive(InputObject, Default)]
pub struct ClusterFilter {
    /// Only the clusters of this region.
    region: Option<ID>,
}

/// Which municipalities to list. All conditions must hold. A region, cluster, municipality,
/// institution, theme or product type is named by its id or its key (`rso-vest`, `sor-rogaland`,
/// `uib`, `public-health`, a municipality's number `4601`).
#[derive(InputObject, Default)]
pub struct MunicipalityFilter {
    /// The county's official two-digit code, e.g. `46` for Vestland.
    county: Option<String>,
    /// Only members of this cluster.
    cluster: Option<ID>,
    /// Part of the name (any case), or the start of the municipality number.
    search: Option<String>,
}

/// Which institutions to list. A region, cluster, municipality, institution, theme or product type
/// is named by its id or its key (`rso-vest`, `sor-rogaland`, `uib`, `public-health`, a
/// municipality's number `4601`).
#[derive(InputObject, Default)]
pub struct InstitutionFilter {
    kind: Option<InstitutionKind>,
    /// Only the institutions of this region.
    region: Option<ID>,
}

#[Object]
impl ReferenceQuery {
    /// The regional collaboration bodies (RSOs); `partnerships` lists every prioritising body.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn regions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Region>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = reference::regions(ctx.db()?.conn(), reference::Regions::All).await?;
        Ok(page_of(rows, args))
    }

    /// One region by its key, e.g. `"rso-vest"`; null if there is none.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn region(&self, ctx: &Context<'_>, key: String) -> Result<Option<Region>> {
        Ok(reference::regions(ctx.db()?.conn(), reference::Regions::Key(&key))
            .await?
            .into_iter()
            .next()
            .map(Region))
    }

    /// The counties (fylker).
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn counties(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<County>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = reference::all::<county::Entity>(ctx.db()?.conn(), county::Column::Id).await?;
        Ok(page_of(rows, args))
    }

    /// The municipal R&D clusters.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn clusters(
        &self,
        ctx: &Context<'_>,
        filter: Option<ClusterFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Cluster>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let partnership_id = keys::optional(ctx, filter.region.as_ref(), NodeType::Region).await?;
        let rows = reference::clusters(ctx.db()?.conn(), partnership_id).await?;
        Ok(page_of(rows, args))
    }

    /// One cluster by its key, e.g. `"sor-rogaland"`; null if there is none.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn cluster(&self, ctx: &Context<'_>, key: String) -> Result<Option<Cluster>> {
        Ok(reference::by_key::<cluster::Entity>(ctx.db()?.conn(), cluster::Column::Key, &key)
            .await?
            .map(Cluster))
    }

    /// The municipalities, in order of their official number.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        filter: Option<MunicipalityFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Municipality>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let filter = DbMunicipalityFilter {
            county_code: filter.county,
            cluster_id: keys::optional(ctx, filter.cluster.as_ref(), NodeType::Cluster).await?,
            search: filter.search,
        };
        let rows = reference::municipalities(ctx.db()?.conn(), &filter).await?;
        Ok(page_of(rows, args))
    }

    /// One municipality by its official four-digit number, e.g. `"4601"` for Bergen; null if unknown.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn municipality(&self, ctx: &Context<'_>, code: String) -> Result<Option<Municipality>> {
        if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad_input(format!(
                "`{code}` is not a municipality number: use the four digits, leading zeros included"
            ))
            .into());
        }
        Ok(reference::municipality_by_code(ctx.db()?.conn(), &code).await?.map(Municipality))
    }

    /// The research, education and health institutions.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn institutions(
        &self,
        ctx: &Context<'_>,
        filter: Option<InstitutionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Institution>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let filter = filter.unwrap_or_default();
        let partnership_id = keys::optional(ctx, filter.region.as_ref(), NodeType::Region).await?;
        let rows = reference::institutions(ctx.db()?.conn(), filter.kind, partnership_id).await?;
        Ok(page_of(rows, args))
    }

    /// One institution by its key, e.g. `"uib"`; null if there is none.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn institution(&self, ctx: &Context<'_>, key: String) -> Result<Option<Institution>> {
        Ok(reference::by_key::<institution::Entity>(ctx.db()?.conn(), institution::Column::Key, &key)
            .await?
            .map(Institution))
    }

    /// The service areas (themes) needs are grouped by.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn themes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Theme>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = reference::all::<theme::Entity>(ctx.db()?.conn(), theme::Column::Id).await?;
        Ok(page_of(rows, args))
    }

    /// One theme by its key, e.g. `"public-health"`; null if there is none.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn theme(&self, ctx: &Context<'_>, key: String) -> Result<Option<Theme>> {
        Ok(reference::by_key::<theme::Entity>(ctx.db()?.conn(), theme::Column::Key, &key).await?.map(Theme))
    }

    /// The kinds of knowledge product that can be commissioned.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn product_types(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<ProductType>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = reference::all::<product_type::Entity>(ctx.db()?.conn(), product_type::Column::Id).await?;
        Ok(page_of(rows, args))
    }

    /// The default prioritisation criteria and their weights.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn criteria(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Criterion>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = reference::all::<criterion::Entity>(ctx.db()?.conn(), criterion::Column::Id).await?;
        Ok(page_of(rows, args))
    }
}
