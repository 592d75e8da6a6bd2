//! GraphQL objects for prioritisation rounds: the round, its criteria and its ranking.

use async_graphql::{
    Context, ID, Object, SimpleObject, Union,
    connection::{Connection, EmptyFields},
};
use chrono::{DateTime, Utc};
use entity::{
    enums::{NeedStatus, RoundStatus},
    round, round_criterion, round_score,
};

use crate::{
    auth::Action,
    db::rounds::{RoundData, scorer_of},
    domain::rounds::{Ranked, Scorer},
    error::{AppError, Result},
    graphql::{
        connection::{ConnectionFields, Page, PageArgs, cost, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{
            ClusterOfOrganisation, InstitutionById, OrganisationById, PartnershipById, RegionById, RoundById,
            RoundDataOf,
        },
        needs::types::{Need, can_see},
        organisations::{partnerships::Partnership, types::Organisation},
        reference::{
            Labels, Language,
            types::{Cluster, Institution, Region},
        },
    },
};

#[derive(Clone, Debug)]
pub struct Round(pub round::Model);

crate::connection_names!(CandidateNames, "RoundCandidateConnection", "RoundCandidateEdge");

/// The round with this id if the viewer may see it (members of its region); otherwise `None`.
pub async fn visible_round(ctx: &Context<'_>, id: i32) -> Result<Option<round::Model>, AppError> {
    let Some(round) = ctx.loader()?.load_one(RoundById(id)).await? else {
        return Ok(None);
    };
    Ok(ctx.viewer()?.can(Action::SeeRound { partnership_id: round.partnership_id }).then_some(round))
}

async fn data(ctx: &Context<'_>, round_id: i32) -> Result<RoundData, AppError> {
    Ok(ctx.loader()?.load_one(RoundDataOf(round_id)).await?.unwrap_or_default())
}

/// A prioritisation round: the region's member organisations score candidate needs; closing it
/// prioritises the top `prioritiseCount` and defers the rest.
#[Object]
impl Round {
    pub async fn id(&self) -> ID {
        GlobalId::new(NodeType::Round, self.0.id).encode()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The region whose RSO runs the round; null for another partnership's (KSF, Områdesatsingene).
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        Ok(ctx.loader()?.load_one(RegionById(self.0.partnership_id)).await?.map(Region))
    }

    /// The partnership that runs the round.
    async fn partnership(&self, ctx: &Context<'_>) -> Result<Option<Partnership>> {
        Ok(ctx.loader()?.load_one(PartnershipById(self.0.partnership_id)).await?.map(Partnership))
    }

    async fn status(&self) -> RoundStatus {
        self.0.status
    }

    /// When scoring ends.
    async fn closes_at(&self) -> DateTime<Utc> {
        self.0.closes_at
    }

    /// How many needs the round prioritises.
    async fn prioritise_count(&self) -> i32 {
        self.0.prioritise_count
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }

    /// The criteria each candidate is scored on, with their weights (the region's criteria, so
    /// priced at their number).
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::rounds::MAX_CRITERIA, child_complexity)"
    )]
    async fn criteria(&self, ctx: &Context<'_>) -> Result<Vec<RoundCriterion>> {
        Ok(data(ctx, self.0.id).await?.criteria.into_iter().map(RoundCriterion).collect())
    }

    /// The candidate needs, by id.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn candidates(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<String, Need, ConnectionFields, EmptyFields, CandidateNames, CandidateNames>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let mut needs = Vec::new();
        for (_, need) in data(ctx, self.0.id).await?.candidates {
            if can_see(ctx, &need)? {
                needs.push(Need::from(need));
            }
        }
        needs.sort_by_key(|n| n.0.id);
        Ok(paginate(needs, args, |n| i64::from(n.0.id)))
    }

    /// The ranking as it stands (or as it was when the round closed). Every figure is explained by
    /// `scores`, which the region's coordinators see in full and each organisation for itself.
    /// Paged by position (the whole ranking is computed to place any page of it).
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn ranking(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<RankingEntry>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let entries = self.entries(ctx).await?;
        Ok(paginate(entries, args, |e| i64::try_from(e.line.position).unwrap_or(i64::MAX)))
    }
}

impl Round {
    async fn entries(&self, ctx: &Context<'_>) -> Result<Vec<RankingEntry>, AppError> {
        let data = data(ctx, self.0.id).await?;
        let viewer = ctx.viewer()?;
        let sees_all = viewer.can(Action::ManageRounds { partnership_id: self.0.partnership_id });
        let mine = viewer.scorers();
        let mut entries = Vec::new();
        for line in data.ranking() {
            let Some((candidate, need)) = data.candidates.iter().find(|(c, _)| c.need_id == line.need_id)
            else {
                continue;
            };
            let scores: Vec<ScoreView> = data
                .scores
                .iter()
                .filter(|s| s.need_id == line.need_id)
                .filter(|s| sees_all || scorer_of(s).is_some_and(|scorer| mine.contains(&scorer)))
                .map(|s| ScoreView { score: s.clone(), criterion: criterion_of(&data, s.criterion_id) })
                .collect();
            let criterion_means = line
                .criterion_means
                .iter()
                .map(|m| CriterionMeanView {
                    criterion: criterion_of(&data, m.criterion_id),
                    mean: m.mean,
                    count: i32::try_from(m.count).unwrap_or(i32::MAX),
                })
                .collect();
            entries.push(RankingEntry {
                line: line.clone(),
                need: need.clone(),
                outcome: candidate.outcome,
                criterion_means,
                scores,
            });
        }
        Ok(entries)
    }
}

fn criterion_of(data: &RoundData, id: i32) -> Option<RoundCriterion> {
    data.criteria.iter().find(|c| c.id == id).cloned().map(RoundCriterion)
}

#[derive(Clone, Debug)]
pub struct RoundCriterion(pub round_criterion::Model);

/// A criterion of a round and its weight in the weighted mean.
#[Object]
impl RoundCriterion {
    /// Stable key, e.g. `feasibility`; scores name criteria by it.
    async fn key(&self) -> &str {
        &self.0.key
    }

    async fn weight(&self) -> f64 {
        self.0.weight
    }

    async fn labels(&self) -> Labels {
        Labels { nb: self.0.label_nb.clone(), nn: self.0.label_nn.clone(), en: self.0.label_en.clone() }
    }

    /// The label in one language.
    async fn label(&self, #[graphql(default_with = "Language::Nb")] language: Language) -> &str {
        match language {
            Language::Nb => &self.0.label_nb,
            Language::Nn => &self.0.label_nn,
            Language::En => &self.0.label_en,
        }
    }
}

/// The mean of one criterion for one need.
#[derive(SimpleObject)]
pub struct CriterionMeanView {
    pub criterion: Option<RoundCriterion>,
    pub mean: f64,
    /// How many organisations scored this criterion.
    pub count: i32,
}

/// A scoring organisation: a cluster (as before units of other kinds scored), any other unit of
/// the tree, or an institution.
#[derive(Union)]
pub enum ScoringOrganisation {
    Cluster(Cluster),
    Organisation(Organisation),
    Institution(Institution),
}

pub struct ScoreView {
    score: round_score::Model,
    criterion: Option<RoundCriterion>,
}

/// One organisation's value for one criterion.
#[Object(name = "Score")]
impl ScoreView {
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Option<ScoringOrganisation>> {
        let loader = ctx.loader()?;
        Ok(match scorer_of(&self.score) {
            Some(Scorer::Unit(id)) => match loader.load_one(ClusterOfOrganisation(id)).await? {
                Some(c) => Some(ScoringOrganisation::Cluster(Cluster(c))),
                None => loader
                    .load_one(OrganisationById(id))
                    .await?
                    .map(|o| ScoringOrganisation::Organisation(Organisation(o))),
            },
            Some(Scorer::Institution(id)) => loader
                .load_one(InstitutionById(id))
                .await?
                .map(|i| ScoringOrganisation::Institution(Institution(i))),
            None => None,
        })
    }

    async fn criterion(&self) -> Option<&RoundCriterion> {
        self.criterion.as_ref()
    }

    /// 1 to 5.
    async fn value(&self) -> i32 {
        self.score.value
    }

    async fn scored_at(&self) -> DateTime<Utc> {
        self.score.updated_at
    }
}

pub struct RankingEntry {
    line: Ranked,
    need: entity::need::Model,
    outcome: Option<NeedStatus>,
    criterion_means: Vec<CriterionMeanView>,
    scores: Vec<ScoreView>,
}

/// One need's place in a ranking, with every figure it rests on.
#[Object]
impl RankingEntry {
    async fn position(&self) -> i32 {
        i32::try_from(self.line.position).unwrap_or(i32::MAX)
    }

    async fn need(&self) -> Need {
        Need::from(self.need.clone())
    }

    /// Weight-averaged criterion means; null while nobody has scored the need.
    async fn weighted_mean(&self) -> Option<f64> {
        self.line.weighted_mean
    }

    /// How many organisations scored the need.
    async fn score_count(&self) -> i32 {
        i32::try_from(self.line.scorers).unwrap_or(i32::MAX)
    }

    /// One per criterion of the round: priced at the number of criteria.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::rounds::MAX_CRITERIA, child_complexity)"
    )]
    async fn criterion_means(&self) -> &[CriterionMeanView] {
        &self.criterion_means
    }

    /// Municipalities behind the need: the first tie-break.
    async fn reach(&self) -> i32 {
        self.line.reach
    }

    /// PRIORITISED or DEFERRED once the round has closed.
    async fn outcome(&self) -> Option<NeedStatus> {
        self.outcome
    }

    /// The individual scores: all of them for the region's coordinators, an organisation's own
    /// for its members, none for others.
    /// One per scoring organisation and criterion: priced at that number.
    #[graphql(
        complexity = "crate::graphql::limits::bounded(crate::domain::rounds::MAX_SCORES_PER_NEED, child_complexity)"
    )]
    async fn scores(&self) -> &[ScoreView] {
        &self.scores
    }
}
