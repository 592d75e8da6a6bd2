//! GraphQL objects for commissions, institutions' interest, milestones, knowledge summaries and uptake.

use async_graphql::{
    Context, ID, Object,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::{
    commission, commission_event, commission_interest,
    enums::{CommissionEventKind, CommissionStatus, UptakeStatus},
    milestone, summary, uptake,
};

use crate::{
    auth::Action,
    error::{AppError, Result},
    graphql::{
        connection::{ChildPage, ConnectionFields, PageArgs, child_page, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{
            Children, CommissionById, CountOf, EventsOfCommission, InstitutionById, InterestsOfCommission,
            MilestonesOfCommission, MunicipalityById, NeedsOfCommission, PartnershipById, ProductTypeById,
            RegionById, SummaryById, SummaryOfCommission, UptakeOfSummary,
        },
        needs::types::{Need, can_see},
        organisations::partnerships::Partnership,
        reference::types::{Institution, Municipality, ProductType, Region},
    },
};

#[derive(Clone, Debug)]
pub struct Commission(pub commission::Model);

crate::connection_names!(CommissionNeedNames, "CommissionNeedConnection", "CommissionNeedEdge");

/// Whether the viewer may see this commission.
pub fn can_see_commission(ctx: &Context<'_>, c: &commission::Model) -> Result<bool, AppError> {
    Ok(ctx.viewer()?.can(Action::SeeCommission { status: c.status, partnership_id: c.partnership_id }))
}

/// The commission with this id if the viewer may see it; otherwise `None`.
pub async fn visible_commission(ctx: &Context<'_>, id: i32) -> Result<Option<commission::Model>, AppError> {
    let Some(c) = ctx.loader()?.load_one(CommissionById(id)).await? else {
        return Ok(None);
    };
    Ok(can_see_commission(ctx, &c)?.then_some(c))
}

/// Whether the viewer may see the summary of this commission.
fn can_see_summary(ctx: &Context<'_>, c: &commission::Model) -> Result<bool, AppError> {
    Ok(c.status == CommissionStatus::Published
        || ctx.viewer()?.can(Action::SeeUnpublishedSummary {
            partnership_id: c.partnership_id,
            institution_id: c.awarded_institution_id,
        }))
}

/// The summary with this id if the viewer may see it.
pub async fn visible_summary(ctx: &Context<'_>, id: i32) -> Result<Option<summary::Model>, AppError> {
    let loader = ctx.loader()?;
    let Some(s) = loader.load_one(SummaryById(id)).await? else {
        return Ok(None);
    };
    let Some(c) = loader.load_one(CommissionById(s.commission_id)).await? else {
        return Ok(None);
    };
    Ok((can_see_commission(ctx, &c)? && can_see_summary(ctx, &c)?).then_some(s))
}

/// A commission for a knowledge product that answers one or more prioritised needs.
#[Object]
impl Commission {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Commission, self.0.id).encode()
    }

    async fn question(&self) -> &str {
        &self.0.question
    }

    async fn status(&self) -> CommissionStatus {
        self.0.status
    }

    /// The region whose RSO runs the commission; null for another partnership's (KSF, Områdesatsingene).
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        Ok(ctx.loader()?.load_one(RegionById(self.0.partnership_id)).await?.map(Region))
    }

    /// The partnership that runs the commission.
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Option<Partnership>> {
        Ok(ctx.loader()?.load_one(PartnershipById(self.0.partnership_id)).await?.map(Partnership))
    }

    async fn product_type(&self, ctx: &Context<'_>) -> Result<Option<ProductType>> {
        Ok(ctx.loader()?.load_one(ProductTypeById(self.0.product_type_id)).await?.map(ProductType))
    }

    async fn deadline(&self) -> DateTime<Utc> {
        self.0.deadline
    }

    /// In Norwegian kroner, when set.
    async fn budget_nok(&self) -> Option<i64> {
        self.0.budget_nok
    }

    /// The needs it answers.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn needs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<
        Connection<String, Need, ConnectionFields, EmptyFields, CommissionNeedNames, CommissionNeedNames>,
    > {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(NeedsOfCommission(self.0.id)).await?.unwrap_or_default();
        let mut needs = Vec::new();
        for (need, theme_ids) in rows {
            if can_see(ctx, &need)? {
                needs.push(Need::with_themes(need, theme_ids));
            }
        }
        Ok(paginate(needs, args, |n| i64::from(n.0.id)))
    }

    /// The institution doing the work, once awarded.
    async fn awarded_institution(&self, ctx: &Context<'_>) -> Result<Option<Institution>> {
        let Some(id) = self.0.awarded_institution_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(InstitutionById(id)).await?.map(Institution))
    }

    /// Institutions' interest: all of it for the region's coordinators, an institution's own for its members.
    /// At most one per institution: priced at the number of institutions.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::organisations::MAX_INSTITUTIONS, child_complexity)"
    )]
    async fn interests(&self, ctx: &Context<'_>) -> Result<Vec<Interest>> {
        let viewer = ctx.viewer()?;
        let rows = ctx.loader()?.load_one(InterestsOfCommission(self.0.id)).await?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|i| {
                viewer.can(Action::SeeProposal {
                    partnership_id: self.0.partnership_id,
                    institution_id: i.institution_id,
                })
            })
            .map(Interest)
            .collect())
    }

    /// The milestones, in the order they were added.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn milestones(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<Milestone>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx
            .loader()?
            .load_one(MilestonesOfCommission(self.0.id, args.window()))
            .await?
            .unwrap_or_default();
        Ok(child_page(rows, args, CountOf(Children::Milestones, self.0.id), |m| i64::from(m.id), Milestone))
    }

    /// Everything that happened to the commission, oldest first (moves, progress notes, milestones;
    /// `last` for the latest).
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<CommissionEvent>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows =
            ctx.loader()?.load_one(EventsOfCommission(self.0.id, args.window())).await?.unwrap_or_default();
        Ok(child_page(
            rows,
            args,
            CountOf(Children::CommissionHistory, self.0.id),
            |e| i64::from(e.id),
            CommissionEvent,
        ))
    }

    /// The knowledge summary: public once published, before that for the coordinators and the
    /// awarded institution.
    async fn summary(&self, ctx: &Context<'_>) -> Result<Option<Summary>> {
        if !can_see_summary(ctx, &self.0)? {
            return Ok(None);
        }
        let rows = ctx.loader()?.load_one(SummaryOfCommission(self.0.id)).await?.unwrap_or_default();
        Ok(rows.into_iter().next().map(Summary))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Interest(pub commission_interest::Model);

/// An institution's interest in a commission, with its proposal.
#[Object]
impl Interest {
    async fn institution(&self, ctx: &Context<'_>) -> Result<Option<Institution>> {
        Ok(ctx.loader()?.load_one(InstitutionById(self.0.institution_id)).await?.map(Institution))
    }

    async fn proposal(&self) -> &str {
        &self.0.proposal
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Milestone(pub milestone::Model);

/// A milestone of awarded work.
#[Object]
impl Milestone {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Milestone, self.0.id).encode()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn due_at(&self) -> DateTime<Utc> {
        self.0.due_at
    }

    async fn done_at(&self) -> Option<DateTime<Utc>> {
        self.0.done_at
    }
}

pub struct CommissionEvent(pub commission_event::Model);

/// One entry of a commission's history.
#[Object]
impl CommissionEvent {
    async fn kind(&self) -> CommissionEventKind {
        self.0.kind
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    async fn from(&self) -> Option<CommissionStatus> {
        self.0.from_status
    }

    async fn to(&self) -> Option<CommissionStatus> {
        self.0.to_status
    }

    /// A progress note or a milestone's title.
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

#[derive(Clone, Debug)]
pub struct Summary(pub summary::Model);

/// A knowledge summary: the product a commission delivered.
#[Object]
impl Summary {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Summary, self.0.id).encode()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    #[graphql(name = "abstract")]
    async fn abstract_text(&self) -> &str {
        &self.0.abstract_text
    }

    /// `nb`, `nn` or `en`.
    async fn language(&self) -> &str {
        &self.0.language
    }

    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    async fn doi(&self) -> Option<&str> {
        self.0.doi.as_deref()
    }

    /// As printed on the product.
    async fn authors(&self) -> &str {
        &self.0.authors
    }

    async fn delivered_at(&self) -> DateTime<Utc> {
        self.0.delivered_at
    }

    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    async fn commission(&self, ctx: &Context<'_>) -> Result<Option<Commission>> {
        Ok(visible_commission(ctx, self.0.commission_id).await?.map(Commission))
    }

    /// How the municipalities behind the answered needs used it, in the order it was recorded.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn uptake(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<Uptake>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows =
            ctx.loader()?.load_one(UptakeOfSummary(self.0.id, args.window())).await?.unwrap_or_default();
        Ok(child_page(rows, args, CountOf(Children::Uptake, self.0.id), |u| i64::from(u.id), Uptake))
    }
}

pub struct Uptake(pub uptake::Model);

/// Whether, and how, a municipality used a summary.
#[Object]
impl Uptake {
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        Ok(ctx.loader()?.load_one(MunicipalityById(self.0.municipality_id)).await?.map(Municipality))
    }

    async fn status(&self) -> UptakeStatus {
        self.0.status
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
}
