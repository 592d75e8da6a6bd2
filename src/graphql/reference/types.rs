//! GraphQL objects for the reference data. Each wraps an entity model; relations go through the
//! request's DataLoader. Themes, product types and criteria, with their labels, are in `labelled.rs`.

use async_graphql::{Context, ID, Object};
use entity::{
    cluster, county, criterion,
    enums::{ClusterMembership, InstitutionKind},
    institution, municipality, partnership, product_type, theme,
};

use crate::{
    error::Result,
    graphql::{
        connection::{Page, PageArgs, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{
            ClusterById, ClustersOfRegion, CountiesOfRegion, CountyById, InstitutionsOfRegion,
            MunicipalitiesOfCluster, MunicipalitiesOfCounty, ProductTypesOfInstitution, RegionById,
            ThemesOfInstitution,
        },
        organisations::types::{Organisation, organisation_by_id},
    },
};

/// Wraps an entity model as a GraphQL object that has a global id and a cursor key.
macro_rules! node_type {
    ($name:ident, $model:ty) => {
        #[derive(Clone, Debug)]
        pub struct $name(pub $model);

        impl $name {
            /// The global id of this object.
            pub fn global_id(&self) -> ID {
                GlobalId::new(NodeType::$name, self.0.id).encode()
            }

            /// The key its connections are ordered and paged by.
            pub fn cursor_key(&self) -> i64 {
                i64::from(self.0.id)
            }
        }

        impl From<$model> for $name {
            fn from(model: $model) -> Self {
                Self(model)
            }
        }
    };
}

/// For the node types of other areas that wrap a row with an `id` (organisations, partnerships).
pub(crate) use node_type;

node_type!(Region, partnership::Model);
node_type!(County, county::Model);
node_type!(Cluster, cluster::Model);
node_type!(Municipality, municipality::Model);
node_type!(Institution, institution::Model);
node_type!(Theme, theme::Model);
node_type!(ProductType, product_type::Model);
node_type!(Criterion, criterion::Model);

/// Turns rows into one page of a connection.
pub fn page_of<M, T>(rows: Vec<M>, args: PageArgs) -> Page<T>
where
    T: From<M> + async_graphql::OutputType + CursorKey,
{
    paginate(rows.into_iter().map(T::from).collect(), args, T::key)
}

/// The key a node type's connections are ordered by.
pub trait CursorKey {
    fn key(&self) -> i64;
}

macro_rules! cursor_key {
    ($($name:ident),*) => { $(impl CursorKey for $name { fn key(&self) -> i64 { self.cursor_key() } })* };
}
cursor_key!(Region, County, Cluster, Municipality, Institution, Theme, ProductType, Criterion);

/// A regional collaboration body (RSO): the municipalities' and institutions' body that assesses
/// knowledge needs and commissions knowledge summaries.
#[Object]
impl Region {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// Stable key, e.g. `rso-vest`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its node in the organisation tree.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, self.0.organisation_id).await?)
    }

    /// The counties the region covers.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::reference_data::bundled().counties, child_complexity)"
    )]
    async fn counties(&self, ctx: &Context<'_>) -> Result<Vec<County>> {
        let rows = ctx.loader()?.load_one(CountiesOfRegion(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(County).collect())
    }

    /// The region's municipal R&D clusters.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn clusters(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Cluster>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(ClustersOfRegion(self.0.id)).await?;
        Ok(page_of(rows.unwrap_or_default(), args))
    }

    /// The municipalities of the region's counties, in order of their official number.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Municipality>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let loader = ctx.loader()?;
        let counties = loader.load_one(CountiesOfRegion(self.0.id)).await?.unwrap_or_default();
        let by_county = loader.load_many(counties.iter().map(|c| MunicipalitiesOfCounty(c.id))).await?;
        let mut rows: Vec<_> = by_county.into_values().flatten().collect();
        rows.sort_by_key(|m| m.id);
        Ok(page_of(rows, args))
    }

    /// The research, education and health institutions of the region.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn institutions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Institution>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(InstitutionsOfRegion(self.0.id)).await?;
        Ok(page_of(rows.unwrap_or_default(), args))
    }
}

/// A county (fylke).
#[Object]
impl County {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// The official two-digit county code, e.g. `46`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its node in the organisation tree.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, self.0.organisation_id).await?)
    }

    /// The region whose RSO covers the county, if any.
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        region_by_id(ctx, self.0.partnership_id).await
    }

    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Municipality>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(MunicipalitiesOfCounty(self.0.id)).await?;
        Ok(page_of(rows.unwrap_or_default(), args))
    }
}

/// A municipal R&D cluster (FoU-klynge), led by a driver municipality.
#[Object]
impl Cluster {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// Stable key, e.g. `kunnskapskommunen`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The area the cluster covers, in words.
    async fn area(&self) -> &str {
        &self.0.area
    }

    /// Its node in the organisation tree.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, self.0.organisation_id).await?)
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        region_by_id(ctx, Some(self.0.partnership_id)).await
    }

    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn municipalities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<Municipality>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(MunicipalitiesOfCluster(self.0.id)).await?;
        Ok(page_of(rows.unwrap_or_default(), args))
    }
}

/// A municipality (kommune).
#[Object]
impl Municipality {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// The official four-digit municipality number (kommunenummer), as text: `4601`, `1101`.
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Its node in the organisation tree.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, self.0.organisation_id).await?)
    }

    async fn county(&self, ctx: &Context<'_>) -> Result<Option<County>> {
        let row = ctx.loader()?.load_one(CountyById(self.0.county_id)).await?;
        Ok(row.map(County))
    }

    /// The R&D cluster the municipality belongs to, if any.
    async fn cluster(&self, ctx: &Context<'_>) -> Result<Option<Cluster>> {
        let Some(cluster_id) = self.0.cluster_id else {
            return Ok(None);
        };
        let row = ctx.loader()?.load_one(ClusterById(cluster_id)).await?;
        Ok(row.map(Cluster))
    }

    /// Whether the cluster publishes this membership or it is a geographic default.
    async fn cluster_membership(&self) -> ClusterMembership {
        self.0.cluster_membership
    }

    /// The region, through the municipality's county.
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        let loader = ctx.loader()?;
        let county = loader.load_one(CountyById(self.0.county_id)).await?;
        region_by_id(ctx, county.and_then(|c| c.partnership_id)).await
    }
}

/// A research, education or health institution.
#[Object]
impl Institution {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// Stable key, e.g. `uib`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    /// The short name people use, e.g. `UiB`.
    async fn short_name(&self) -> &str {
        &self.0.short_name
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> InstitutionKind {
        self.0.kind
    }

    /// Its node in the organisation tree.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, self.0.organisation_id).await?)
    }

    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        region_by_id(ctx, Some(self.0.partnership_id)).await
    }

    /// The themes the institution wants to hear of when a commission opens (its profile); none
    /// means every theme. At most one of each: priced at the number of themes.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::reference_data::bundled().themes, child_complexity)"
    )]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        let rows = ctx.loader()?.load_one(ThemesOfInstitution(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Theme).collect())
    }

    /// The product types the institution wants to hear of when a commission opens (its profile);
    /// none means every product type. At most one of each: priced at their number.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::reference_data::bundled().product_types, child_complexity)"
    )]
    async fn product_types(&self, ctx: &Context<'_>) -> Result<Vec<ProductType>> {
        let rows = ctx.loader()?.load_one(ProductTypesOfInstitution(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(ProductType).collect())
    }

    /// The commissions awarded to the institution that the caller may see, newest first.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn commissions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<crate::graphql::commissions::query::CommissionPage> {
        let args = PageArgs::parse(first, after, last, before)?;
        Ok(crate::graphql::commissions::query::of_institution(ctx, self.0.id, args).await?)
    }
}

async fn region_by_id(ctx: &Context<'_>, id: Option<i32>) -> Result<Option<Region>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(ctx.loader()?.load_one(RegionById(id)).await?.map(Region))
}
