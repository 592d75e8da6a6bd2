//! `Organisation`: a node of the tree of every unit the hub serves, with its place in the tree
//! (parent, a page of children, ancestors), the partnerships that serve it, the needs raised in
//! its subtree, and its typed details where it is a typed row (a municipality, a county, ...).

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{enums::OrganisationKind, organisation};

use crate::{
    db::{organisations::read::Kinds, pages::Children},
    error::{AppError, Result},
    graphql::{
        connection::{ChildPage, Page, PageArgs, child_page, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{
            AncestorsOf, ChildrenOfOrganisation, ClusterOfOrganisation, CountOf, CountyOfOrganisation,
            HistoryOf, InstitutionOfOrganisation, MunicipalityOfOrganisation, OrganisationById,
            PartnershipsServing, RegionOfOrganisation,
        },
        needs::query::{NeedFilter, NeedOrder, NeedPage, NeedPageArgs, page},
        organisations::{history::OrganisationChange, partnerships::Partnership},
        reference::types::{Cluster, County, Institution, Municipality, Region, node_type},
        webhooks::types::{WebhookEndpoint, webhooks_of},
    },
};

/// The most ancestors an organisation has: the tree's maximum depth, which its writer keeps
/// (`domain::organisations::MAX_DEPTH`), so `ancestors` is priced at it.
pub const MAX_ANCESTORS: usize = crate::domain::organisations::MAX_DEPTH.unsigned_abs() as usize;

node_type!(Organisation, organisation::Model);

/// A page of organisations (`organisations`, `Organisation.children`): `OrganisationConnection`.
pub type OrganisationPage = ChildPage<Organisation>;

/// The organisation with id `id`, which a typed row or partnership names and so must exist.
pub async fn organisation_by_id(ctx: &Context<'_>, id: Option<i32>) -> Result<Organisation, AppError> {
    let found = match id {
        Some(id) => ctx.loader()?.load_one(OrganisationById(id)).await?,
        None => None,
    };
    found.map(Organisation).ok_or_else(|| {
        AppError::Internal(format!(
            "organisation {id:?} is named but not in the tree: load the reference data"
        ))
    })
}

/// A unit the hub serves, from the national body (KSF) to a project in a city district: one tree
/// by `parent`. Regions, counties, clusters, municipalities and institutions are organisations
/// with typed details (`municipality`, ...); districts, programmes, sub-programmes, projects and
/// state partners are organisations only.
#[Object]
impl Organisation {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    async fn kind(&self) -> OrganisationKind {
        self.0.kind
    }

    /// The key its users know it by, for kinds that have one: `ksf`, `rso-vest`, `uib`.
    async fn key(&self) -> Option<&str> {
        self.0.key.as_deref()
    }

    /// The official number, for kinds that have one: county `46`, municipality `4601`, district
    /// `030115`.
    async fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// When it closed; a closed organisation keeps its history but takes no new needs.
    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }

    /// The organisation it is part of; null for the root (and for institutions, which stand apart).
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Organisation>> {
        let Some(parent) = self.0.parent_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(OrganisationById(parent)).await?.map(Organisation))
    }

    /// The organisations directly under it, of the kinds given (any when none), in id order.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn children(
        &self,
        ctx: &Context<'_>,
        kind: Option<Vec<OrganisationKind>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<OrganisationPage> {
        let args = PageArgs::parse(first, after, last, before)?;
        let kinds = Kinds::of(kind.as_deref().unwrap_or_default());
        let key = ChildrenOfOrganisation(self.0.id, args.window(), kinds);
        let rows = ctx.loader()?.load_one(key).await?.unwrap_or_default();
        let count = CountOf(Children::Organisations(kinds), self.0.id);
        Ok(child_page(rows, args, count, |o| i64::from(o.id), Organisation))
    }

    /// Every organisation above it, nearest first: its parent, its parent's parent, ... the root.
    #[graphql(complexity = "crate::graphql::limits::bounded(MAX_ANCESTORS, child_complexity)")]
    async fn ancestors(&self, ctx: &Context<'_>) -> Result<Vec<Organisation>> {
        let rows = ctx.loader()?.load_one(AncestorsOf(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Organisation).collect())
    }

    /// The changes coordinators made to it through the API (created, renamed, moved, closed),
    /// newest first; the bundled reference data's own rows have none until they are edited. The
    /// changes of every organisation of a page are read in one statement.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<OrganisationChange>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(HistoryOf(self.0.id)).await?.unwrap_or_default();
        let mut changes: Vec<OrganisationChange> = rows.into_iter().map(OrganisationChange).collect();
        changes.sort_by_key(OrganisationChange::cursor_key);
        Ok(paginate(changes, args, OrganisationChange::cursor_key))
    }

    /// Its webhook endpoints, in the order registered, seen only by those who may manage them (a
    /// coordinator of a partnership serving it, or a unit coordinator of it or a unit above it):
    /// empty for anyone else.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn webhooks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<WebhookEndpoint>> {
        webhooks_of(ctx, self.0.id, PageArgs::parse(first, after, last, before)?).await
    }

    /// The partnerships that serve it: those it is a member of, and those with a member above it
    /// that accepts needs (KSF serves every organisation under it; Oslo kommune takes part in
    /// Områdesatsingene, which does not make every district of Oslo part of it), in id order.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::organisations::MAX_PARTNERSHIPS, child_complexity)"
    )]
    async fn partnerships(&self, ctx: &Context<'_>) -> Result<Vec<Partnership>> {
        let rows = ctx.loader()?.load_one(PartnershipsServing(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Partnership).collect())
    }

    /// The needs raised in its subtree (by a municipality that is it or under it) that the caller
    /// may see; the arguments are those of the root `needs` field. Each organisation asked for
    /// reads its page in a statement of its own: ask for one organisation's needs, or use the
    /// root `needs` with `filter: { organisation: ... }`.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        filter: Option<NeedFilter>,
        search: Option<String>,
        #[graphql(default)] order_by: NeedOrder,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<NeedPage> {
        let args = NeedPageArgs { first, after, last, before };
        let id = self.0.id;
        Ok(page(ctx, filter, search.as_deref(), order_by, args, |f| f.organisation_ids.push(id)).await?)
    }

    /// Its details as a municipality; null for another kind.
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        if self.0.kind != OrganisationKind::Municipality {
            return Ok(None);
        }
        Ok(ctx.loader()?.load_one(MunicipalityOfOrganisation(self.0.id)).await?.map(Municipality))
    }

    /// Its details as a county; null for another kind.
    async fn county(&self, ctx: &Context<'_>) -> Result<Option<County>> {
        if self.0.kind != OrganisationKind::County {
            return Ok(None);
        }
        Ok(ctx.loader()?.load_one(CountyOfOrganisation(self.0.id)).await?.map(County))
    }

    /// Its details as a cluster; null for another kind.
    async fn cluster(&self, ctx: &Context<'_>) -> Result<Option<Cluster>> {
        if self.0.kind != OrganisationKind::Cluster {
            return Ok(None);
        }
        Ok(ctx.loader()?.load_one(ClusterOfOrganisation(self.0.id)).await?.map(Cluster))
    }

    /// Its details as a region; null for another kind.
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        if self.0.kind != OrganisationKind::Region {
            return Ok(None);
        }
        Ok(ctx.loader()?.load_one(RegionOfOrganisation(self.0.id)).await?.map(Region))
    }

    /// Its details as an institution; null for another kind.
    async fn institution(&self, ctx: &Context<'_>) -> Result<Option<Institution>> {
        if self.0.kind != OrganisationKind::Institution {
            return Ok(None);
        }
        Ok(ctx.loader()?.load_one(InstitutionOfOrganisation(self.0.id)).await?.map(Institution))
    }
}
