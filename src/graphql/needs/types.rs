//! GraphQL objects for knowledge needs: the need, its co-signatures, reach, evidence and history.

use async_graphql::{
    Context, ID, Object, SimpleObject,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::{
    enums::{NeedEventKind, NeedStatus, Urgency},
    need, need_cosign, need_event, need_evidence,
};

use crate::{
    auth::{Action, policy::NeedScope},
    error::{AppError, Result},
    graphql::{
        connection::{ChildCount, ChildPage, ConnectionFields, PageArgs, child_page, cost, paginate},
        context::ContextExt,
        identity::types::{Person, visible_person},
        ids::{GlobalId, NodeType},
        loaders::{
            AncestorsOf, Children, CosignPageOfNeed, CosignsOfNeed, CountOf, DuplicatesOfNeed, EventsOfNeed,
            EvidenceOfNeed, MunicipalityById, NeedById, OrganisationById, PartnershipById, ProductTypeById,
            ThemeById, ThemesOfNeed,
        },
        organisations::{partnerships::Partnership, types::Organisation},
        reference::types::{Municipality, ProductType, Theme},
    },
};

/// A need, and its themes' ids when they were read with it (a page of needs, a need by id): its
/// `themes` then cost no statement of their own in a read-only request, where the themes
/// table is kept by the process.
#[derive(Clone, Debug)]
pub struct Need(pub need::Model, pub Option<Vec<i32>>);

impl From<need::Model> for Need {
    fn from(need: need::Model) -> Self {
        Self(need, None)
    }
}

impl Need {
    pub fn with_themes(need: need::Model, theme_ids: Vec<i32>) -> Self {
        Self(need, Some(theme_ids))
    }
}

crate::connection_names!(HistoryNames, "NeedHistoryConnection", "NeedHistoryEdge");
crate::connection_names!(DuplicateNames, "NeedDuplicateConnection", "NeedDuplicateEdge");
crate::connection_names!(CommissionNames, "NeedCommissionConnection", "NeedCommissionEdge");

/// Where a need belongs, for the policy: the unit that raised it with every organisation above
/// it (through the closure, batched with every other need of the request), and its pool.
pub async fn need_scope(ctx: &Context<'_>, need: &need::Model) -> Result<NeedScope, AppError> {
    let organisation_id = raised_in(need)?;
    let above = ctx.loader()?.load_one(AncestorsOf(organisation_id)).await?.unwrap_or_default();
    Ok(NeedScope {
        status: need.status,
        organisation_id,
        ancestors: std::iter::once(organisation_id).chain(above.iter().map(|o| o.id)).collect(),
        partnership_id: need.partnership_id,
    })
}

/// The unit that raised a need: every need has one since migration 000010 filled them in.
fn raised_in(need: &need::Model) -> Result<i32, AppError> {
    need.organisation_id.ok_or_else(|| {
        AppError::Internal(format!("need {} has no organisation: migrate the database", need.id))
    })
}

/// Whether the viewer may see this need (drafts only within the unit that raised them).
pub fn can_see(ctx: &Context<'_>, need: &need::Model) -> Result<bool, AppError> {
    let action = Action::SeeNeed { status: need.status, organisation_id: raised_in(need)? };
    Ok(ctx.viewer()?.can(action))
}

/// The need with this id if the viewer may see it; otherwise `None`, as if it did not exist.
pub async fn visible_need(ctx: &Context<'_>, id: i32) -> Result<Option<Need>, AppError> {
    let Some((need, theme_ids)) = ctx.loader()?.load_one(NeedById(id)).await? else {
        return Ok(None);
    };
    Ok(can_see(ctx, &need)?.then(|| Need::with_themes(need, theme_ids)))
}

/// The structured form of the question (PICO).
#[derive(SimpleObject)]
pub struct StructuredQuestion {
    pub population: Option<String>,
    pub intervention: Option<String>,
    pub comparison: Option<String>,
    pub outcome: Option<String>,
}

/// How many units, municipalities and (where known) inhabitants share a need.
#[derive(SimpleObject)]
pub struct Reach {
    /// The unit that raised it and every co-signing unit.
    pub organisations: i32,
    /// The municipalities those units are or are in, each once: two districts of Oslo and Oslo
    /// itself count one.
    pub municipalities: i32,
    /// Inhabitants of those municipalities whose population is known (a district counts its
    /// municipality's, as district populations are not in the reference data); null if none is.
    pub inhabitants: Option<i64>,
    /// How many of the municipalities have a known population.
    pub municipalities_with_population: i32,
}

/// A knowledge need: a municipality's practical question that research could answer.
#[Object]
impl Need {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Need, self.0.id).encode()
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// The question itself.
    async fn question(&self) -> &str {
        &self.0.question
    }

    /// Why it matters locally.
    async fn background(&self) -> &str {
        &self.0.background
    }

    /// The decision the answer will inform.
    async fn intended_use(&self) -> &str {
        &self.0.intended_use
    }

    async fn target_group(&self) -> &str {
        &self.0.target_group
    }

    async fn urgency(&self) -> Urgency {
        self.0.urgency
    }

    async fn status(&self) -> NeedStatus {
        self.0.status
    }

    /// Send this back with an edit or a move: a stale version is a CONFLICT and changes nothing.
    async fn version(&self) -> i32 {
        self.0.version
    }

    /// Population, intervention, comparison and outcome; null when none is given.
    async fn structured_question(&self) -> Option<StructuredQuestion> {
        let n = &self.0;
        let any = n.population.is_some()
            || n.intervention.is_some()
            || n.comparison.is_some()
            || n.outcome.is_some();
        any.then(|| StructuredQuestion {
            population: n.population.clone(),
            intervention: n.intervention.clone(),
            comparison: n.comparison.clone(),
            outcome: n.outcome.clone(),
        })
    }

    /// At most one of each theme: priced at the number of themes.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::db::reference_data::bundled().themes, child_complexity)"
    )]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        let loader = ctx.loader()?;
        if let Some(ids) = &self.1 {
            let mut themes = loader.load_many(ids.iter().map(|&id| ThemeById(id))).await?;
            return Ok(ids.iter().filter_map(|&id| themes.remove(&ThemeById(id))).map(Theme).collect());
        }
        let rows = loader.load_one(ThemesOfNeed(self.0.id)).await?;
        Ok(rows.unwrap_or_default().into_iter().map(Theme).collect())
    }

    /// The kind of knowledge product wanted.
    async fn product_type(&self, ctx: &Context<'_>) -> Result<Option<ProductType>> {
        let Some(id) = self.0.product_type_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(ProductTypeById(id)).await?.map(ProductType))
    }

    /// The municipality it was raised in: the unit itself, or the municipality the unit is in
    /// (Oslo, for a need of a district or of Områdesatsingene).
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        Ok(ctx.loader()?.load_one(MunicipalityById(self.0.municipality_id)).await?.map(Municipality))
    }

    /// The unit that raised it (a municipality, district, programme, sub-programme or project).
    /// It stays the same when the unit moves in the tree.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<Organisation>> {
        let Some(id) = self.0.organisation_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(OrganisationById(id)).await?.map(Organisation))
    }

    /// The partnership whose pool it is in: it reviews, prioritises and commissions it.
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Option<Partnership>> {
        let Some(id) = self.0.partnership_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(PartnershipById(id)).await?.map(Partnership))
    }

    /// Who to ask about the need; null unless the viewer may see them (personal data).
    async fn contact_person(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = self.0.contact_person_id else {
            return Ok(None);
        };
        Ok(visible_person(ctx, id).await?.map(Person))
    }

    /// The units that share the need, besides its own, in the order they signed.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn cosignatures(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<Cosignature>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows =
            ctx.loader()?.load_one(CosignPageOfNeed(self.0.id, args.window())).await?.unwrap_or_default();
        Ok(child_page(
            rows,
            args,
            CountOf(Children::Cosignatures, self.0.id),
            |c| i64::from(c.id),
            Cosignature,
        ))
    }

    /// How many units, municipalities and inhabitants (where known) the need covers: the unit
    /// that raised it and every co-signer, each municipality counted once however many of its
    /// districts or programmes are among them.
    async fn reach(&self, ctx: &Context<'_>) -> Result<Reach> {
        let loader = ctx.loader()?;
        let cosigns = loader.load_one(CosignsOfNeed(self.0.id)).await?.unwrap_or_default();
        let mut units: Vec<i32> = self
            .0
            .organisation_id
            .into_iter()
            .chain(cosigns.iter().filter_map(|c| c.organisation_id))
            .collect();
        units.sort_unstable();
        units.dedup();
        let ids = std::iter::once(self.0.municipality_id).chain(cosigns.iter().map(|c| c.municipality_id));
        let municipalities = loader.load_many(ids.map(MunicipalityById)).await?;
        let known: Vec<i64> = municipalities.values().filter_map(|m| m.population).map(i64::from).collect();
        Ok(Reach {
            organisations: i32::try_from(units.len()).unwrap_or(i32::MAX),
            municipalities: i32::try_from(municipalities.len()).unwrap_or(i32::MAX),
            inhabitants: (!known.is_empty()).then(|| known.iter().sum()),
            municipalities_with_population: i32::try_from(known.len()).unwrap_or(i32::MAX),
        })
    }

    /// The commissions answering the need that the viewer may see, newest first (published ones
    /// are public).
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn commissions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<
        Connection<
            String,
            crate::graphql::commissions::types::Commission,
            ConnectionFields,
            EmptyFields,
            CommissionNames,
            CommissionNames,
        >,
    > {
        use crate::graphql::commissions::{query::visible, types::Commission};
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(crate::graphql::loaders::CommissionsOfNeed(self.0.id)).await?;
        let visible: Vec<Commission> =
            visible(ctx, rows.unwrap_or_default())?.into_iter().map(Commission).collect();
        // Newest first: the key is the negated id, so that it grows along the order.
        Ok(paginate(visible, args, |c| -i64::from(c.0.id)))
    }

    /// Existing evidence found in the evidence check, in the order it was linked.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn evidence(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildPage<Evidence>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows =
            ctx.loader()?.load_one(EvidenceOfNeed(self.0.id, args.window())).await?.unwrap_or_default();
        Ok(child_page(rows, args, CountOf(Children::Evidence, self.0.id), |e| i64::from(e.id), Evidence))
    }

    /// Everything that happened to the need, oldest first (`last` for the latest).
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, NeedEvent, ChildCount, EmptyFields, HistoryNames, HistoryNames>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows = ctx.loader()?.load_one(EventsOfNeed(self.0.id, args.window())).await?.unwrap_or_default();
        Ok(child_page(rows, args, CountOf(Children::NeedHistory, self.0.id), |e| i64::from(e.id), NeedEvent))
    }

    /// The need this one was merged into, if it is a merged duplicate.
    async fn merged_into(&self, ctx: &Context<'_>) -> Result<Option<Need>> {
        let Some(id) = self.0.merged_into_id else {
            return Ok(None);
        };
        Ok(visible_need(ctx, id).await?)
    }

    /// The duplicates merged into this need.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn duplicates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Need, ChildCount, EmptyFields, DuplicateNames, DuplicateNames>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let rows =
            ctx.loader()?.load_one(DuplicatesOfNeed(self.0.id, args.window())).await?.unwrap_or_default();
        Ok(child_page(rows, args, CountOf(Children::Duplicates, self.0.id), |n| i64::from(n.id), Need::from))
    }

    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.0.submitted_at
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

pub struct Cosignature(pub need_cosign::Model);

/// A unit that shares a need.
#[Object]
impl Cosignature {
    /// The co-signing unit.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<Organisation>> {
        let Some(id) = self.0.organisation_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(OrganisationById(id)).await?.map(Organisation))
    }

    /// The municipality the co-signing unit is (or is in).
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        Ok(ctx.loader()?.load_one(MunicipalityById(self.0.municipality_id)).await?.map(Municipality))
    }

    async fn cosigned_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The merged duplicate this co-signature came with (the municipality is behind that
    /// duplicate, maybe through a duplicate merged into it in turn); it leaves when no duplicate
    /// brings it any more, after an unmerge.
    async fn carried_from(&self, ctx: &Context<'_>) -> Result<Option<Need>> {
        let Some(id) = self.0.carried_from_need_id else {
            return Ok(None);
        };
        Ok(visible_need(ctx, id).await?)
    }
}

pub struct Evidence(pub need_evidence::Model);

/// Existing evidence: a review, report or study that may answer the need.
#[Object]
impl Evidence {
    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    async fn doi(&self) -> Option<&str> {
        self.0.doi.as_deref()
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct NeedEvent(pub need_event::Model);

/// Where an event stands in the log of need events (its cursor for `needEvents(after:)`).
pub fn encode_event_cursor(id: i32) -> String {
    crate::graphql::connection::encode_cursor(i64::from(id))
}

/// One entry of a need's history, kept forever.
#[Object]
impl NeedEvent {
    /// The need it happened to; null if the caller may not see it.
    async fn need(&self, ctx: &Context<'_>) -> Result<Option<Need>> {
        Ok(visible_need(ctx, self.0.need_id).await?)
    }

    /// Where this event stands in the log: pass it as `after` to the `needEvents` query to read
    /// what came after it, for example after a reconnect.
    async fn cursor(&self) -> String {
        encode_event_cursor(self.0.id)
    }

    async fn kind(&self) -> NeedEventKind {
        self.0.kind
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        self.0.occurred_at
    }

    /// Who did it; null unless the viewer may see them (personal data).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<Person>> {
        let Some(id) = self.0.actor_person_id else {
            return Ok(None);
        };
        Ok(visible_person(ctx, id).await?.map(Person))
    }

    /// The state before, for moves and merges.
    async fn from(&self) -> Option<NeedStatus> {
        self.0.from_status
    }

    /// The state after, for moves and merges.
    async fn to(&self) -> Option<NeedStatus> {
        self.0.to_status
    }

    /// The reason or comment given.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    /// The other need of a merge or unmerge.
    async fn related_need(&self, ctx: &Context<'_>) -> Result<Option<Need>> {
        let Some(id) = self.0.related_need_id else {
            return Ok(None);
        };
        Ok(visible_need(ctx, id).await?)
    }

    /// The municipality of a co-signature (the one the co-signing unit is or is in).
    async fn municipality(&self, ctx: &Context<'_>) -> Result<Option<Municipality>> {
        let Some(id) = self.0.municipality_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(MunicipalityById(id)).await?.map(Municipality))
    }

    /// The unit of a co-signature, or the national authority a need was passed on to.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<Organisation>> {
        let Some(id) = self.0.organisation_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(OrganisationById(id)).await?.map(Organisation))
    }

    /// The partnership whose pool a need forwarded to the national level left.
    async fn forwarded_from(&self, ctx: &Context<'_>) -> Result<Option<Partnership>> {
        let Some(id) = self.0.partnership_id else {
            return Ok(None);
        };
        Ok(ctx.loader()?.load_one(PartnershipById(id)).await?.map(Partnership))
    }
}
