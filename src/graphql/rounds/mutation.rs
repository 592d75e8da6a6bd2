//! Mutations of prioritisation rounds: open (coordinators), score, revise and withdraw scores
//! (cluster coordinators and institution members, for their organisation), close (coordinators).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::criterion;

use crate::{
    auth::Action,
    auth::policy::allowed,
    db::{
        audit::Actor,
        reference,
        rounds::{self, NewCriterion, NewRound},
    },
    domain::{needs::text, rounds::Scorer},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        idempotency::{self, Replayable},
        ids::{GlobalId, NodeType},
        keys,
        loaders::{
            ClusterById, InstitutionById, InstitutionOfOrganisation, OrganisationById, PartnershipsServing,
            RoundDataOf,
        },
        needs::types::visible_need,
        rounds::types::{Round, visible_round},
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

#[derive(Default)]
pub struct RoundsMutation;

/// A criterion of a new round; leave all out to use the region's default criteria.
#[derive(InputObject)]
pub struct RoundCriterionInput {
    pub key: String,
    /// Greater than 0, at most 100.
    pub weight: f64,
    /// Labels default to the key.
    pub label_nb: Option<String>,
    pub label_nn: Option<String>,
    pub label_en: Option<String>,
}

#[derive(InputObject)]
pub struct OpenRoundInput {
    /// The region (its RSO's partnership); the same as naming the partnership.
    pub region: Option<ID>,
    /// The partnership, by id or key (`omradesatsingene`, `ksf`); coordinators of exactly one
    /// partnership may leave it (and `region`) out.
    pub partnership: Option<ID>,
    pub name: String,
    /// When scoring ends: the hub closes the round by itself at this time (as `closeRound`
    /// would), and refuses scores sent later.
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub closes_at: DateTime<Utc>,
    /// ACCEPTED, FORWARDED or DEFERRED needs in the partnership's pool.
    pub candidates: Vec<ID>,
    /// How many needs to prioritise (1 to the number of candidates).
    pub prioritise_count: i32,
    /// The round's own criteria; the default criteria when left out.
    pub criteria: Option<Vec<RoundCriterionInput>>,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct RoundPayload {
    pub round: Option<Round>,
    pub user_errors: Vec<UserError>,
}

impl RoundPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self { round: None, user_errors: errors }
    }
}

/// One value on one criterion.
#[derive(InputObject)]
pub struct ScoreInput {
    /// The criterion's key.
    pub criterion: String,
    /// 1 to 5.
    pub value: i32,
}

#[derive(InputObject)]
pub struct ScoreNeedInput {
    pub round: ID,
    pub need: ID,
    /// The cluster or institution scoring; may be left out by members of exactly one.
    pub organisation: Option<ID>,
    /// Criteria left out are abstentions.
    pub scores: Vec<ScoreInput>,
}

#[derive(InputObject)]
pub struct WithdrawScoresInput {
    pub round: ID,
    pub need: ID,
    pub organisation: Option<ID>,
}

#[derive(InputObject)]
pub struct CloseRoundInput {
    pub round: ID,
}

fn actor(ctx: &Context<'_>) -> Result<(Actor, i32), AppError> {
    let identity = ctx.viewer()?.identity().ok_or(AppError::Unauthenticated)?;
    Ok((Actor::Person { person_id: identity.person_id, token_id: identity.token_id }, identity.person_id))
}

/// The organisation scoring (the one given, as an Organisation, Cluster or Institution id, or
/// the caller's only one) and the partnerships that serve it.
async fn scoring_organisation(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    given: Option<&ID>,
) -> Result<Option<(Scorer, Vec<i32>)>, AppError> {
    let viewer = ctx.viewer()?;
    let loader = ctx.loader()?;
    let scorer = match given {
        Some(id) => {
            let decoded = GlobalId::decode(id).and_then(|g| match g.node_type {
                NodeType::Organisation | NodeType::Cluster | NodeType::Institution => Ok(g),
                _ => Err(AppError::bad_input(
                    "scores are given by an Organisation, a Cluster or an Institution",
                )),
            });
            let Some(g) = errors.id("organisation", decoded) else {
                return Ok(None);
            };
            match g.node_type {
                NodeType::Cluster => loader
                    .load_one(ClusterById(g.key))
                    .await?
                    .and_then(|c| c.organisation_id)
                    .map(Scorer::Unit),
                NodeType::Institution => {
                    loader.load_one(InstitutionById(g.key)).await?.map(|i| Scorer::Institution(i.id))
                }
                _ => match loader.load_one(InstitutionOfOrganisation(g.key)).await? {
                    Some(i) => Some(Scorer::Institution(i.id)),
                    None => loader.load_one(OrganisationById(g.key)).await?.map(|o| Scorer::Unit(o.id)),
                },
            }
        }
        None => match viewer.scorers().as_slice() {
            [only] => Some(*only),
            [] => return Err(AppError::Forbidden(allowed::SCORE)),
            _ => {
                errors.add(
                    "organisation",
                    UserErrorCode::BadUserInput,
                    "say which organisation you score for",
                );
                return Ok(None);
            }
        },
    };
    let organisation_id = match scorer {
        Some(Scorer::Unit(id)) => Some(id),
        Some(Scorer::Institution(id)) => {
            loader.load_one(InstitutionById(id)).await?.and_then(|i| i.organisation_id)
        }
        None => None,
    };
    let (Some(scorer), Some(organisation_id)) = (scorer, organisation_id) else {
        errors.add("organisation", UserErrorCode::NotFound, "no such organisation");
        return Ok(None);
    };
    let serving = loader.load_one(PartnershipsServing(organisation_id)).await?.unwrap_or_default();
    Ok(Some((scorer, serving.into_iter().map(|p| p.id).collect())))
}

impl RoundsMutation {
    /// The shared path of scoring, revising and withdrawing.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn score(
        &self,
        ctx: &Context<'_>,
        round: &ID,
        need: &ID,
        organisation: Option<&ID>,
        scores: &[ScoreInput],
        revise: bool,
    ) -> Result<RoundPayload> {
        let viewer = ctx.viewer()?;
        let (_, person_id) = actor(ctx)?;
        let mut errors = UserErrors::default();
        let found = match errors.id("round", GlobalId::decode_as(round, NodeType::Round)) {
            Some(id) => visible_round(ctx, id).await?,
            None => None,
        };
        let Some(round_model) = found else {
            if errors.is_empty() {
                errors.add("round", UserErrorCode::NotFound, "no such round");
            }
            return Ok(RoundPayload::failed(errors.into_vec()));
        };
        let need_id = errors.id("need", GlobalId::decode_as(need, NodeType::Need));
        let scoring = scoring_organisation(ctx, &mut errors, organisation).await?;
        if let Some((scorer, serving)) = &scoring {
            viewer.require(Action::ScoreFor { scorer: *scorer })?;
            if !serving.contains(&round_model.partnership_id) {
                errors.add(
                    "organisation",
                    UserErrorCode::BadUserInput,
                    "the organisation is not served by the round's partnership",
                );
            }
        }
        let data = ctx.loader()?.load_one(RoundDataOf(round_model.id)).await?.unwrap_or_default();
        if let Some(id) = need_id
            && !data.candidates.iter().any(|(candidate, _)| candidate.need_id == id)
        {
            // A need the caller can see is named as what it is; any other is not found.
            if visible_need(ctx, id).await?.is_some() {
                errors.add(
                    "need",
                    UserErrorCode::BadUserInput,
                    "the need is not a candidate of this round: score one of the round's candidates \
                     (round.ranking lists them)",
                );
            } else {
                errors.add("need", UserErrorCode::NotFound, "no such need");
            }
        }
        let criteria = data.criteria;
        let mut values = Vec::new();
        for score in scores {
            match criteria.iter().find(|c| c.key == score.criterion) {
                Some(c) if values.iter().any(|(id, _)| *id == c.id) => {
                    errors.add(
                        "scores",
                        UserErrorCode::BadUserInput,
                        format!("`{}` is scored twice", score.criterion),
                    );
                }
                Some(c) => values.push((c.id, score.value)),
                None => errors.add(
                    "scores",
                    UserErrorCode::NotFound,
                    format!("the round has no criterion `{}`", score.criterion),
                ),
            }
        }
        if scores.is_empty() && !revise {
            errors.add(
                "scores",
                UserErrorCode::BadUserInput,
                "give at least one score (a criterion's key and a value of 1 to 5); to abstain, leave \
                 the need unscored or withdraw earlier scores with withdrawScores",
            );
        }
        let (Some(need_id), Some((scorer, _)), true) = (need_id, scoring, errors.is_empty()) else {
            return Ok(RoundPayload::failed(errors.into_vec()));
        };
        Ok(
            match rounds::score(ctx.db()?, person_id, round_model.id, need_id, scorer, &values, revise).await
            {
                Ok(()) => RoundPayload {
                    round: visible_round(ctx, round_model.id).await?.map(Round),
                    user_errors: Vec::new(),
                },
                Err(err) => RoundPayload::failed(from_write_error(err)?),
            },
        )
    }
}

#[Object]
impl RoundsMutation {
    /// Opens a prioritisation round over ACCEPTED and DEFERRED needs of a region (coordinators).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn open_round(&self, ctx: &Context<'_>, input: OpenRoundInput) -> Result<RoundPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let viewer = ctx.viewer()?;
            let (actor, person_id) = actor(ctx)?;
            let coordinated = viewer.coordinated_regions();
            let mut errors = UserErrors::default();
            let region = match (&input.region, &input.partnership) {
                (Some(_), Some(_)) => {
                    errors.add("partnership", UserErrorCode::BadUserInput, "name the partnership once");
                    None
                }
                (Some(id), None) => errors.id("region", GlobalId::decode_as(id, NodeType::Region)),
                (None, Some(value)) => {
                    keys::named(ctx, &mut errors, "partnership", value, NodeType::Partnership).await?
                }
                (None, None) => match coordinated.as_slice() {
                    [only] => Some(*only),
                    [] => return Err(AppError::Forbidden(allowed::MANAGE_ROUNDS).into()),
                    _ => {
                        errors.add(
                            "partnership",
                            UserErrorCode::BadUserInput,
                            "say which partnership the round is for",
                        );
                        None
                    }
                },
            };
            if let Some(partnership_id) = region {
                viewer.require(Action::ManageRounds { partnership_id })?;
            }
            let name = text("name", &input.name, 1, 200)
                .map_err(|p| errors.add(p.field, UserErrorCode::BadUserInput, p.message))
                .ok();
            if input.closes_at <= Utc::now() {
                errors.add("closesAt", UserErrorCode::BadUserInput, "the closing date must be in the future");
            }
            let mut candidate_ids = Vec::new();
            for id in &input.candidates {
                if let Some(need_id) = errors.id("candidates", GlobalId::decode_as(id, NodeType::Need)) {
                    if visible_need(ctx, need_id).await?.is_none() {
                        errors.add("candidates", UserErrorCode::NotFound, "no such need");
                    } else if candidate_ids.contains(&need_id) {
                        errors.add("candidates", UserErrorCode::BadUserInput, "a need is named twice");
                    } else {
                        candidate_ids.push(need_id);
                    }
                }
            }
            if input.candidates.is_empty() {
                errors.add("candidates", UserErrorCode::BadUserInput, "name at least one candidate need");
            }
            let count = i32::try_from(input.candidates.len()).unwrap_or(i32::MAX);
            if input.prioritise_count < 1 || input.prioritise_count > count.max(1) {
                errors.add(
                    "prioritiseCount",
                    UserErrorCode::BadUserInput,
                    "prioritise between 1 and the number of candidates",
                );
            }
            let criteria = match input.criteria {
                Some(list) => {
                    let mut criteria: Vec<NewCriterion> = Vec::new();
                    for c in list {
                        let key = c.key.trim().to_owned();
                        if key.is_empty() || key.len() > 64 || criteria.iter().any(|k| k.key == key) {
                            errors.add(
                                "criteria",
                                UserErrorCode::BadUserInput,
                                "criteria need distinct keys of 1-64 characters",
                            );
                        }
                        if !(c.weight > 0.0 && c.weight <= 100.0) {
                            errors.add(
                                "criteria",
                                UserErrorCode::BadUserInput,
                                "a weight is greater than 0 and at most 100",
                            );
                        }
                        let label = |l: Option<String>| l.unwrap_or_else(|| key.clone());
                        criteria.push(NewCriterion {
                            label_nb: label(c.label_nb),
                            label_nn: label(c.label_nn),
                            label_en: label(c.label_en),
                            weight: c.weight,
                            key,
                        });
                    }
                    if criteria.is_empty() {
                        errors.add("criteria", UserErrorCode::BadUserInput, "name at least one criterion");
                    }
                    if criteria.len() > crate::domain::rounds::MAX_CRITERIA {
                        errors.add(
                            "criteria",
                            UserErrorCode::BadUserInput,
                            format!("a round has at most {} criteria", crate::domain::rounds::MAX_CRITERIA),
                        );
                    }
                    criteria
                }
                None => reference::all::<criterion::Entity>(ctx.db()?.conn(), criterion::Column::Id)
                    .await?
                    .into_iter()
                    .map(|c| NewCriterion {
                        key: c.key,
                        label_nb: c.label_nb,
                        label_nn: c.label_nn,
                        label_en: c.label_en,
                        weight: c.weight,
                    })
                    .collect(),
            };
            let (Some(partnership_id), Some(name), true) = (region, name, errors.is_empty()) else {
                return Ok(RoundPayload::failed(errors.into_vec()));
            };
            let new = NewRound {
                partnership_id,
                name,
                closes_at: input.closes_at,
                prioritise_count: input.prioritise_count,
                criteria,
                candidate_ids,
            };
            Ok(match rounds::open(ctx.db()?, actor, person_id, new).await {
                Ok(round) => RoundPayload { round: Some(Round(round)), user_errors: Vec::new() },
                Err(err) => RoundPayload::failed(from_write_error(err)?),
            })
        })
        .await
    }

    /// Scores a candidate need for an organisation (once; revise with `reviseScores`), until the
    /// round's closing time.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn score_need(&self, ctx: &Context<'_>, input: ScoreNeedInput) -> Result<RoundPayload> {
        self.score(ctx, &input.round, &input.need, input.organisation.as_ref(), &input.scores, false).await
    }

    /// Replaces an organisation's scores for a need while the round is open.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn revise_scores(&self, ctx: &Context<'_>, input: ScoreNeedInput) -> Result<RoundPayload> {
        self.score(ctx, &input.round, &input.need, input.organisation.as_ref(), &input.scores, true).await
    }

    /// Takes an organisation's scores for a need back: it abstains.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn withdraw_scores(&self, ctx: &Context<'_>, input: WithdrawScoresInput) -> Result<RoundPayload> {
        self.score(ctx, &input.round, &input.need, input.organisation.as_ref(), &[], true).await
    }

    /// Closes a round in one transaction: the top needs become PRIORITISED, the rest DEFERRED,
    /// each with a history event. A closed round is read-only (coordinators). The hub closes a
    /// round by itself at its closing time; closing a round that is closed already is a CONFLICT.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn close_round(&self, ctx: &Context<'_>, input: CloseRoundInput) -> Result<RoundPayload> {
        let viewer = ctx.viewer()?;
        let (actor, person_id) = actor(ctx)?;
        let mut errors = UserErrors::default();
        let found = match errors.id("round", GlobalId::decode_as(&input.round, NodeType::Round)) {
            Some(id) => visible_round(ctx, id).await?,
            None => None,
        };
        let Some(round) = found else {
            if errors.is_empty() {
                errors.add("round", UserErrorCode::NotFound, "no such round");
            }
            return Ok(RoundPayload::failed(errors.into_vec()));
        };
        viewer.require(Action::ManageRounds { partnership_id: round.partnership_id })?;
        Ok(match rounds::close(ctx.db()?, actor, person_id, round.id).await {
            Ok(closed) => RoundPayload { round: Some(Round(closed)), user_errors: Vec::new() },
            Err(err) => RoundPayload::failed(from_write_error(err)?),
        })
    }
}

impl Replayable for RoundPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { round: None, user_errors: errors }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        Ok(Self { round: visible_round(ctx, id).await?.map(Round), user_errors: Vec::new() })
    }
}
