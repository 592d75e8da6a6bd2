//! The Relay `Node` interface and the root `node(id:)` / `nodes(ids:)` fields.

use async_graphql::{Context, ID, Interface, Object};

use crate::{
    error::{AppError, Result},
    graphql::{
        commissions::types::{Commission, Summary, visible_commission, visible_summary},
        context::ContextExt,
        identity::types::{ApiToken, Membership, Person, manageable_token, visible_person},
        ids::{GlobalId, NodeType},
        loaders::{
            ClusterById, CountyById, CriterionById, InstitutionById, MembershipById, MunicipalityById,
            OrganisationById, PartnershipById, ProductTypeById, RegionById, ThemeById,
        },
        needs::types::{Need, visible_need},
        organisations::{partnerships::Partnership, types::Organisation},
        reference::types::{
            Cluster, County, Criterion, Institution, Municipality, ProductType, Region, Theme,
        },
        rounds::types::{Round, visible_round},
        webhooks::types::{WebhookEndpoint, visible_webhook},
    },
};

/// The most ids `nodes(ids:)` takes at once.
pub const MAX_NODES: usize = 100;

/// An object with a global id that `node(id:)` can fetch again.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "An opaque global id."))]
pub enum Node {
    Region(Region),
    County(County),
    Cluster(Cluster),
    Municipality(Municipality),
    Institution(Institution),
    Theme(Theme),
    ProductType(ProductType),
    Criterion(Criterion),
    Person(Person),
    Membership(Membership),
    ApiToken(ApiToken),
    Need(Need),
    Round(Round),
    Commission(Commission),
    Summary(Summary),
    Organisation(Organisation),
    Partnership(Partnership),
    WebhookEndpoint(WebhookEndpoint),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global id; null if it does not exist (or the caller may not see it).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(load(ctx, GlobalId::decode(&id)?).await?)
    }

    /// Fetches up to 100 objects by global id, in the order given; null where one does not exist.
    /// Each id at most once: a repeated id is BAD_USER_INPUT (it would only repeat the object).
    #[graphql(complexity = "ids.len().saturating_mul(child_complexity)")]
    #[tracing::instrument(level = "debug", skip_all)]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > MAX_NODES {
            return Err(AppError::bad_input(format!(
                "`ids` takes at most {MAX_NODES} ids, got {}",
                ids.len()
            ))
            .into());
        }
        let ids = ids.iter().map(|id| GlobalId::decode(id)).collect::<Result<Vec<_>, _>>()?;
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        if let Some(repeated) = ids.iter().find(|id| !seen.insert(**id)) {
            return Err(AppError::bad_input(format!(
                "`ids` names {} more than once; ask for each id once",
                repeated.encode().as_str()
            ))
            .into());
        }
        // Loading concurrently lets the DataLoader batch: one statement per type, not per id.
        let loads = ids.into_iter().map(|id| load(ctx, id));
        Ok(async_graphql::futures_util::future::try_join_all(loads).await?)
    }
}

async fn load(ctx: &Context<'_>, id: GlobalId) -> Result<Option<Node>, AppError> {
    let loader = ctx.loader()?;
    let key = id.key;
    Ok(match id.node_type {
        NodeType::Region => loader.load_one(RegionById(key)).await?.map(|m| Node::Region(m.into())),
        NodeType::County => loader.load_one(CountyById(key)).await?.map(|m| Node::County(m.into())),
        NodeType::Cluster => loader.load_one(ClusterById(key)).await?.map(|m| Node::Cluster(m.into())),
        NodeType::Municipality => {
            loader.load_one(MunicipalityById(key)).await?.map(|m| Node::Municipality(m.into()))
        }
        NodeType::Institution => {
            loader.load_one(InstitutionById(key)).await?.map(|m| Node::Institution(m.into()))
        }
        NodeType::Theme => loader.load_one(ThemeById(key)).await?.map(|m| Node::Theme(m.into())),
        NodeType::ProductType => {
            loader.load_one(ProductTypeById(key)).await?.map(|m| Node::ProductType(m.into()))
        }
        NodeType::Criterion => loader.load_one(CriterionById(key)).await?.map(|m| Node::Criterion(m.into())),
        NodeType::Organisation => {
            loader.load_one(OrganisationById(key)).await?.map(|m| Node::Organisation(m.into()))
        }
        NodeType::Partnership => {
            loader.load_one(PartnershipById(key)).await?.map(|m| Node::Partnership(m.into()))
        }
        NodeType::Need => visible_need(ctx, key).await?.map(Node::Need),
        NodeType::Round => visible_round(ctx, key).await?.map(|r| Node::Round(Round(r))),
        NodeType::Commission => visible_commission(ctx, key).await?.map(|c| Node::Commission(Commission(c))),
        NodeType::Summary => visible_summary(ctx, key).await?.map(|s| Node::Summary(Summary(s))),
        // Milestones are reached through their commission; evidence and uptake have no global
        // ids (`GlobalId::decode` refuses them).
        NodeType::Milestone | NodeType::Evidence | NodeType::Uptake => None,
        // People, memberships and tokens the viewer may not see are null, as if they did not exist.
        NodeType::Person => visible_person(ctx, key).await?.map(|p| Node::Person(Person(p))),
        NodeType::Membership => match loader.load_one(MembershipById(key)).await? {
            Some(m) if visible_person(ctx, m.person_id).await?.is_some() => {
                Some(Node::Membership(Membership(m)))
            }
            _ => None,
        },
        NodeType::ApiToken => manageable_token(ctx, key).await?.map(|t| Node::ApiToken(ApiToken(t))),
        // Endpoints those who may not manage them cannot see are null, as if they did not exist.
        NodeType::WebhookEndpoint => visible_webhook(ctx, key).await?.map(Node::WebhookEndpoint),
    })
}
