//! Mutations on needs. Each checks, in order: a valid token (`UNAUTHENTICATED`), the input
//! (`userErrors`; a need the caller may not see is `NOT_FOUND`), the policy for that need
//! (`FORBIDDEN`); then one write transaction with its history events, where an illegal move or a
//! stale version is a `CONFLICT` user error that changes nothing.

mod checks;
mod inputs;

use async_graphql::{Context, ID, Object};

use crate::{
    auth::{Action, policy::allowed},
    db::{
        audit::Actor,
        needs::{self, Handover, NeedContent, NewEvidence},
    },
    domain::needs::{self as rules, Move, WrittenText, text},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        idempotency,
        identity::types::region_of_municipality,
        ids::{GlobalId, NodeType},
        keys,
        loaders::MunicipalityById,
        needs::types::{Evidence, Need, need_scope, visible_need},
        reference::types::Municipality,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};
use checks::*;
pub use inputs::*;

#[derive(Default)]
pub struct NeedsMutation;

impl NeedsMutation {
    /// The shared path of every move: find, authorise, apply.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn move_need(
        &self,
        ctx: &Context<'_>,
        input: NeedMoveInput,
        step: Step,
        who: Who,
        reason_required: bool,
    ) -> Result<NeedPayload> {
        let viewer = ctx.viewer()?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let reason = optional(&mut errors, "reason", input.reason.as_deref());
        if reason_required && reason.is_none() && errors.is_empty() {
            errors.add("reason", UserErrorCode::BadUserInput, "give a reason");
        }
        let Some((need, scope)) = find_need(ctx, &mut errors, "need", &input.need).await? else {
            return Ok(NeedPayload::failed(errors.into_vec()));
        };
        viewer.require(who.action(&scope))?;
        if !errors.is_empty() {
            return Ok(NeedPayload::failed(errors.into_vec()));
        }
        let db = ctx.db()?;
        NeedPayload::from_write(match step {
            Step::Move(attempted) => {
                needs::apply_move(db, me, need.id, Some(input.version), attempted, reason).await
            }
            Step::HandOver(handover) => {
                let reason = reason.unwrap_or_default();
                needs::hand_over(db, me, need.id, Some(input.version), handover, reason).await
            }
        })
    }
}

#[Object]
impl NeedsMutation {
    /// Raises a need in a unit (members of it only), in the pool of a partnership that takes needs
    /// from it: submitted at once, or kept as a draft. The payload suggests similar open needs to
    /// co-sign instead.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn submit_need(&self, ctx: &Context<'_>, input: SubmitNeedInput) -> Result<SubmitNeedPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let viewer = ctx.viewer()?;
            let me = viewer.require_person()?;
            let mut errors = UserErrors::default();
            let unit = acting_unit(
                ctx,
                &mut errors,
                input.organisation.as_ref(),
                input.municipality.as_ref(),
                allowed::SUBMIT_NEED,
            )
            .await?;
            if let Some(organisation_id) = unit {
                viewer.require(Action::SubmitNeedFor { organisation_id })?;
            }
            let partnership = match input.partnership.as_ref() {
                Some(value) => {
                    keys::named(ctx, &mut errors, "partnership", value, NodeType::Partnership).await?
                }
                None => None,
            };
            let pico = input.structured_question.unwrap_or_default();
            let need_text = parse_text(
                &mut errors,
                WrittenText {
                    title: &input.title,
                    question: &input.question,
                    background: &input.background,
                    intended_use: &input.intended_use,
                    target_group: &input.target_group,
                    population: pico.population.as_deref(),
                    intervention: pico.intervention.as_deref(),
                    comparison: pico.comparison.as_deref(),
                    outcome: pico.outcome.as_deref(),
                },
            );
            let (theme_ids, product_type_id) =
                check_references(ctx, &mut errors, &input.themes, input.product_type.as_ref()).await?;
            let contact_person_id =
                check_contact(ctx, &mut errors, input.contact_person.as_ref(), me).await?;
            let (Some(unit), true) = (unit, errors.is_empty()) else {
                return Ok(SubmitNeedPayload { need: None, user_errors: errors.into_vec() });
            };
            let content = NeedContent {
                text: need_text,
                urgency: input.urgency,
                product_type_id,
                theme_ids,
                contact_person_id,
            };
            let db = ctx.db()?;
            match needs::create(db, me, unit, partnership, content, !input.draft).await {
                Ok(need) => Ok(SubmitNeedPayload { need: Some(Need::from(need)), user_errors: Vec::new() }),
                Err(err) => Ok(SubmitNeedPayload { need: None, user_errors: from_write_error(err)? }),
            }
        })
        .await
    }

    /// Edits a draft, submitted or returned need (the members of the unit that raised it only).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn update_need(&self, ctx: &Context<'_>, input: UpdateNeedInput) -> Result<NeedPayload> {
        let viewer = ctx.viewer()?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let Some((need, scope)) = find_need(ctx, &mut errors, "need", &input.need).await? else {
            return Ok(NeedPayload::failed(errors.into_vec()));
        };
        viewer.require(Action::EditNeed(&scope))?;
        // What the input leaves out stays as it is; a part of the structured question given as
        // null is cleared.
        let pico = input.structured_question.as_ref();
        fn part<'a>(new: Option<&'a Option<String>>, old: &'a Option<String>) -> Option<&'a str> {
            new.unwrap_or(old).as_deref()
        }
        let need_text = parse_text(
            &mut errors,
            WrittenText {
                title: input.title.as_deref().unwrap_or(&need.title),
                question: input.question.as_deref().unwrap_or(&need.question),
                background: input.background.as_deref().unwrap_or(&need.background),
                intended_use: input.intended_use.as_deref().unwrap_or(&need.intended_use),
                target_group: input.target_group.as_deref().unwrap_or(&need.target_group),
                population: part(pico.map(|p| &p.population), &need.population),
                intervention: part(pico.map(|p| &p.intervention), &need.intervention),
                comparison: part(pico.map(|p| &p.comparison), &need.comparison),
                outcome: part(pico.map(|p| &p.outcome), &need.outcome),
            },
        );
        let current_themes: Vec<ID> = ctx
            .loader()?
            .load_one(crate::graphql::loaders::ThemesOfNeed(need.id))
            .await?
            .unwrap_or_default()
            .into_iter()
            .map(|t| GlobalId::new(NodeType::Theme, t.id).encode())
            .collect();
        let current_product_type =
            need.product_type_id.map(|id| GlobalId::new(NodeType::ProductType, id).encode());
        let (theme_ids, product_type_id) = check_references(
            ctx,
            &mut errors,
            input.themes.as_deref().unwrap_or(&current_themes),
            input.product_type.as_ref().or(current_product_type.as_ref()),
        )
        .await?;
        let contact_person_id = match input.contact_person.as_ref() {
            Some(id) => check_contact(ctx, &mut errors, Some(id), me).await?,
            None => need.contact_person_id,
        };
        if !errors.is_empty() {
            return Ok(NeedPayload::failed(errors.into_vec()));
        }
        let content = NeedContent {
            text: need_text,
            urgency: input.urgency.unwrap_or(need.urgency),
            product_type_id,
            theme_ids,
            contact_person_id,
        };
        NeedPayload::from_write(needs::update(ctx.db()?, me, need.id, input.version, content).await)
    }

    /// Sends a draft, or a returned need, to review (the members of the unit that raised it only).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn resubmit_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Step::Move(Move::Submit), Who::Owner, false).await
    }

    /// Forwards a submitted need to its partnership's pool (the partnership's coordinators, or a
    /// unit coordinator of the unit that raised it or of a unit above it, such as its cluster).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn accept_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Step::Move(Move::Accept), Who::Reviewer, false).await
    }

    /// Sends a submitted need back to be sharpened, with a comment.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn return_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Step::Move(Move::Return), Who::Reviewer, true).await
    }

    /// Turns a submitted need down, with a reason.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn reject_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Step::Move(Move::Reject), Who::Reviewer, true).await
    }

    /// Forwards an accepted or deferred need from its partnership's pool up to the national level
    /// (the pool of KSF, which serves every unit), with a reason: the partnership's coordinators.
    /// KSF's coordinators then review it with the needs of every region.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn forward_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Step::HandOver(Handover::National), Who::Curator, true).await
    }

    /// Passes a need in the national pool on to a national authority (an organisation of kind
    /// STATE_PARTNER), with a reason: the national coordinators. The history records to whom.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn pass_on_need(&self, ctx: &Context<'_>, input: PassOnNeedInput) -> Result<NeedPayload> {
        let mut errors = UserErrors::default();
        let Some(authority) = keys::named_organisation(ctx, &mut errors, "to", &input.to).await? else {
            return Ok(NeedPayload::failed(errors.into_vec()));
        };
        let input = NeedMoveInput { need: input.need, version: input.version, reason: Some(input.reason) };
        self.move_need(ctx, input, Step::HandOver(Handover::Authority(authority)), Who::Curator, true).await
    }

    /// Takes a need back while it is open (the members of the unit that raised it only).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn withdraw_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Step::Move(Move::Withdraw), Who::Owner, false).await
    }

    /// Closes an accepted (or deferred) need as answered by the evidence linked to it
    /// (the region's coordinators).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn close_need_with_existing_evidence(
        &self,
        ctx: &Context<'_>,
        input: NeedMoveInput,
    ) -> Result<NeedPayload> {
        let mut errors = UserErrors::default();
        if let Some((need, _)) = find_need(ctx, &mut errors, "need", &input.need).await? {
            use crate::graphql::loaders::{Children, CountOf};
            let evidence = ctx.loader()?.load_one(CountOf(Children::Evidence, need.id)).await?;
            if evidence.unwrap_or(0) == 0 {
                let scope = need_scope(ctx, &need).await?;
                ctx.viewer()?.require(Action::CurateNeed(&scope))?;
                return Ok(NeedPayload::failed(UserErrors::one(
                    "need",
                    UserErrorCode::Conflict,
                    "link the existing evidence first",
                )));
            }
        }
        self.move_need(ctx, input, Step::Move(Move::AnswerByExistingEvidence), Who::Curator, false).await
    }

    /// Co-signs a need on behalf of a unit (a member of it): a municipality, district, programme,
    /// sub-programme or project; once per unit.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn cosign_need(&self, ctx: &Context<'_>, input: CosignNeedInput) -> Result<NeedPayload> {
        self.cosignature(ctx, input, true).await
    }

    /// Takes a unit's own co-signature back (one carried by a merge leaves when the
    /// duplicate is unmerged: CONFLICT).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn withdraw_cosignature(&self, ctx: &Context<'_>, input: CosignNeedInput) -> Result<NeedPayload> {
        self.cosignature(ctx, input, false).await
    }

    /// Links existing evidence to a need (the region's coordinators).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn link_evidence(
        &self,
        ctx: &Context<'_>,
        input: LinkEvidenceInput,
    ) -> Result<LinkEvidencePayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let viewer = ctx.viewer()?;
            let me = viewer.require_person()?;
            let mut errors = UserErrors::default();
            let failed = |errors: UserErrors| LinkEvidencePayload {
                need: None,
                evidence: None,
                user_errors: errors.into_vec(),
            };
            let title = problem(&mut errors, text("title", &input.title, 1, rules::SHORT_TEXT));
            let url = optional(&mut errors, "url", input.url.as_deref());
            if url.as_deref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
                errors.add("url", UserErrorCode::BadUserInput, "the URL must start with https:// or http://");
            }
            let doi = optional(&mut errors, "doi", input.doi.as_deref());
            if doi.as_deref().is_some_and(|d| !d.starts_with("10.") || !d.contains('/')) {
                errors.add("doi", UserErrorCode::BadUserInput, "a DOI looks like 10.1234/abc");
            }
            if url.is_none() && doi.is_none() && errors.is_empty() {
                errors.add("url", UserErrorCode::BadUserInput, "give a URL or a DOI");
            }
            let note = optional(&mut errors, "note", input.note.as_deref());
            let Some((need, scope)) = find_need(ctx, &mut errors, "need", &input.need).await? else {
                return Ok(failed(errors));
            };
            viewer.require(Action::CurateNeed(&scope))?;
            if !errors.is_empty() {
                return Ok(failed(errors));
            }
            let db = ctx.db()?;
            Ok(match needs::link_evidence(db, me, need.id, NewEvidence { title, url, doi, note }).await {
                Ok(evidence) => LinkEvidencePayload {
                    need: visible_need(ctx, need.id).await?,
                    evidence: Some(Evidence(evidence)),
                    user_errors: Vec::new(),
                },
                Err(err) => {
                    LinkEvidencePayload { need: None, evidence: None, user_errors: from_write_error(err)? }
                }
            })
        })
        .await
    }

    /// Merges duplicates into a surviving need (the region's coordinators): duplicates become
    /// MERGED, keep their text and history, and their municipalities co-sign the survivor.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn merge_needs(&self, ctx: &Context<'_>, input: MergeNeedsInput) -> Result<MergeNeedsPayload> {
        let viewer = ctx.viewer()?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let failed = |errors: Vec<UserError>| MergeNeedsPayload {
            survivor: None,
            duplicates: Vec::new(),
            user_errors: errors,
        };
        if input.duplicates.is_empty() {
            errors.add("duplicates", UserErrorCode::BadUserInput, "name at least one duplicate");
        }
        let survivor = find_need(ctx, &mut errors, "survivor", &input.survivor).await?;
        let mut duplicates = Vec::new();
        for id in &input.duplicates {
            if let Some(found) = find_need(ctx, &mut errors, "duplicates", id).await? {
                duplicates.push(found);
            }
        }
        if let Some((_, scope)) = &survivor {
            viewer.require(Action::CurateNeed(scope))?;
        }
        for (_, scope) in &duplicates {
            viewer.require(Action::CurateNeed(scope))?;
        }
        let (Some((survivor, _)), true) = (survivor, errors.is_empty()) else {
            return Ok(failed(errors.into_vec()));
        };
        let duplicate_ids: Vec<i32> = duplicates.iter().map(|(d, _)| d.id).collect();
        match needs::merge(ctx.db()?, me, survivor.id, &duplicate_ids).await {
            Ok(saved) => {
                let mut merged = Vec::new();
                for id in duplicate_ids {
                    merged.extend(visible_need(ctx, id).await?);
                }
                Ok(MergeNeedsPayload {
                    survivor: Some(Need::from(saved)),
                    duplicates: merged,
                    user_errors: Vec::new(),
                })
            }
            Err(err) => Ok(failed(from_write_error(err)?)),
        }
    }

    /// Undoes a merge exactly: the duplicate gets back its state, and the co-signatures it brought
    /// leave the survivor (the region's coordinators).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn unmerge_need(&self, ctx: &Context<'_>, input: UnmergeNeedInput) -> Result<UnmergeNeedPayload> {
        let viewer = ctx.viewer()?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let failed =
            |errors: Vec<UserError>| UnmergeNeedPayload { need: None, survivor: None, user_errors: errors };
        let Some((need, scope)) = find_need(ctx, &mut errors, "need", &input.need).await? else {
            return Ok(failed(errors.into_vec()));
        };
        viewer.require(Action::CurateNeed(&scope))?;
        let survivor_id = need.merged_into_id;
        match needs::unmerge(ctx.db()?, me, need.id).await {
            Ok(restored) => {
                // The loader batches but never caches, so this reads the survivor as it is now.
                let survivor = match survivor_id {
                    Some(id) => visible_need(ctx, id).await?,
                    None => None,
                };
                Ok(UnmergeNeedPayload { need: Some(Need::from(restored)), survivor, user_errors: Vec::new() })
            }
            Err(err) => Ok(failed(from_write_error(err)?)),
        }
    }

    /// Sets a municipality's number of inhabitants, which counts towards the reach of its needs
    /// (coordinators of a partnership serving it: its region's, KSF's).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn set_municipality_population(
        &self,
        ctx: &Context<'_>,
        input: SetMunicipalityPopulationInput,
    ) -> Result<SetMunicipalityPopulationPayload> {
        let viewer = ctx.viewer()?;
        let identity = viewer.identity().ok_or(AppError::Unauthenticated)?;
        let actor = Actor::Person { person_id: identity.person_id, token_id: identity.token_id };
        let mut errors = UserErrors::default();
        let failed = |errors: Vec<UserError>| SetMunicipalityPopulationPayload {
            municipality: None,
            user_errors: errors,
        };
        if input.population.is_some_and(|p| !(0..=10_000_000).contains(&p)) {
            errors.add(
                "population",
                UserErrorCode::BadUserInput,
                "the population must be between 0 and 10,000,000",
            );
        }
        let Some(id) =
            errors.id("municipality", GlobalId::decode_as(&input.municipality, NodeType::Municipality))
        else {
            return Ok(failed(errors.into_vec()));
        };
        let Some(municipality) = ctx.loader()?.load_one(MunicipalityById(id)).await? else {
            return Ok(failed(UserErrors::one(
                "municipality",
                UserErrorCode::NotFound,
                "no such municipality",
            )));
        };
        // The municipality's reference data is its organisation's: any partnership serving it
        // (its region's, KSF, a city partnership it is a member of) may set it.
        let organisation_id = municipality.organisation_id.ok_or_else(|| {
            AppError::Internal(format!("municipality {id} has no organisation: load the reference data"))
        })?;
        let by = crate::graphql::organisations::mutation::authorise_for(ctx, organisation_id).await?;
        let partnership_id = region_of_municipality(ctx, municipality.county_id).await?.or(by.partnership_id);
        if !errors.is_empty() {
            return Ok(failed(errors.into_vec()));
        }
        Ok(match needs::set_population(ctx.db()?, actor, id, partnership_id, input.population).await {
            Ok(m) => {
                ctx.loader()?.forget_reference_tables();
                SetMunicipalityPopulationPayload {
                    municipality: Some(Municipality(m)),
                    user_errors: Vec::new(),
                }
            }
            Err(err) => failed(from_write_error(err)?),
        })
    }
}

impl NeedsMutation {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn cosignature(
        &self,
        ctx: &Context<'_>,
        input: CosignNeedInput,
        sign: bool,
    ) -> Result<NeedPayload> {
        let viewer = ctx.viewer()?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let unit = acting_unit(
            ctx,
            &mut errors,
            input.organisation.as_ref(),
            input.municipality.as_ref(),
            allowed::COSIGN,
        )
        .await?;
        if let Some(organisation_id) = unit {
            viewer.require(Action::CosignFor { organisation_id })?;
        }
        let found = find_need(ctx, &mut errors, "need", &input.need).await?;
        let (Some((need, _)), Some(unit), true) = (found, unit, errors.is_empty()) else {
            return Ok(NeedPayload::failed(errors.into_vec()));
        };
        let db = ctx.db()?;
        let result = if sign {
            needs::cosign(db, me, need.id, unit).await
        } else {
            needs::withdraw_cosign(db, me, need.id, unit).await
        };
        NeedPayload::from_write(result)
    }
}
