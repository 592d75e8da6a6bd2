//! `Partnership`: a prioritising body run by its body organisation, with its members (each an
//! organisation, and whether needs may be raised there) and the needs raised in their subtrees.

use async_graphql::{Context, ID, Object};
use entity::{enums::OrganisationKind, partnership};

use crate::{
    db::organisations::read::{Kinds, Member},
    error::Result,
    graphql::{
        connection::{Page, PageArgs, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::MembersOfPartnership,
        needs::query::{NeedFilter, NeedOrder, NeedPage, NeedPageArgs, page},
        organisations::types::{Organisation, organisation_by_id},
        reference::types::node_type,
    },
};

node_type!(Partnership, partnership::Model);

/// A prioritising body (KSF, RSO Vest, Områdesatsingene, Universitetskommunen Oslo), run by its
/// body organisation. It serves the subtrees of its members and takes needs from those members
/// that accept them.
#[Object]
impl Partnership {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// Its key, the same as its body's: `rso-vest`, `omradesatsingene`.
    async fn key(&self) -> &str {
        &self.0.key
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The organisation that runs it.
    async fn body(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, self.0.organisation_id).await?)
    }

    /// Its members of the kinds given (any when none), in the id order of their organisations:
    /// each an organisation (whose subtree the partnership serves) and whether needs may be
    /// raised in it.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        kind: Option<Vec<OrganisationKind>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<PartnershipMember>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let kinds = Kinds::of(kind.as_deref().unwrap_or_default());
        let rows = ctx.loader()?.load_one(MembersOfPartnership(self.0.id, kinds)).await?;
        let members = rows.unwrap_or_default().into_iter().map(PartnershipMember).collect();
        Ok(paginate(members, args, |m: &PartnershipMember| i64::from(m.0.organisation.id)))
    }

    /// The needs raised under any of its members that accept needs, that the caller may see; the
    /// arguments are those of the root `needs` field. Each partnership asked for reads its page
    /// in a statement of its own: ask for one partnership's needs, or use the root `needs` with
    /// `filter: { partnership: ... }`.
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
        Ok(page(ctx, filter, search.as_deref(), order_by, args, |f| f.partnership_ids.push(id)).await?)
    }
}

/// A member of a partnership.
#[derive(Clone, Debug)]
pub struct PartnershipMember(pub Member);

/// An organisation in a partnership: the partnership serves its subtree.
#[Object]
impl PartnershipMember {
    async fn organisation(&self) -> Organisation {
        Organisation(self.0.organisation.clone())
    }

    /// Whether needs may be raised in the partnership here (Oslo's districts in
    /// Områdesatsingene: yes; the municipality of Oslo, a member for what it serves: no).
    async fn accepts_needs(&self) -> bool {
        self.0.accepts_needs
    }
}
