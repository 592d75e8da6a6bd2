//! Mutations on needs. Each checks, in order: a valid token (`UNAUTHENTICATED`), the input
//! (`userErrors`; a need the caller may not see is `NOT_FOUND`), the policy for that need
//! (`FORBIDDEN`); then one write transaction with its history events, where an illegal move or a
//! stale version is a `CONFLICT` user error that changes nothing.

use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use entity::{enums::Urgency, need};

use crate::{
    auth::policy::allowed,
    auth::{Action, policy::NeedScope},
    db::{
        audit::Actor,
        needs::{self, NeedContent, NewEvidence},
    },
    domain::needs::{self as rules, FieldProblem, Move, NeedText, WrittenText, optional_text, text},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        idempotency::{self, Replayable},
        identity::types::{region_of_municipality, visible_person},
        ids::{GlobalId, NodeType},
        loaders::{MunicipalityById, ProductTypeById, ThemeById},
        needs::types::{Evidence, Need, need_scope, visible_need},
        reference::types::Municipality,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

#[derive(Default)]
pub struct NeedsMutation;

/// The structured form of a question (PICO); every part optional.
#[derive(InputObject, Default)]
pub struct StructuredQuestionInput {
    pub population: Option<String>,
    pub intervention: Option<String>,
    pub comparison: Option<String>,
    pub outcome: Option<String>,
}

#[derive(InputObject)]
pub struct SubmitNeedInput {
    /// The municipality raising the need; may be left out by members of exactly one municipality.
    pub municipality: Option<ID>,
    pub title: String,
    pub question: String,
    /// Why it matters locally.
    pub background: String,
    /// The decision the answer will inform.
    pub intended_use: String,
    pub target_group: String,
    pub themes: Vec<ID>,
    #[graphql(default_with = "Urgency::Medium")]
    pub urgency: Urgency,
    pub product_type: Option<ID>,
    pub structured_question: Option<StructuredQuestionInput>,
    /// Who to ask about the need; the caller when left out.
    pub contact_person: Option<ID>,
    /// Keep it as a draft (visible only to the municipality) instead of submitting it.
    #[graphql(default)]
    pub draft: bool,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SubmitNeedPayload {
    pub need: Option<Need>,
    pub user_errors: Vec<UserError>,
}

#[ComplexObject]
impl SubmitNeedPayload {
    /// Open needs that look like this one: co-sign one of them instead if it is the same need.
    /// Searched only when asked for.
    async fn similar_needs(&self, ctx: &Context<'_>) -> Result<Vec<Need>> {
        let Some(Need(need, _)) = &self.need else {
            return Ok(Vec::new());
        };
        let words = rules::content_words(&format!("{} {}", need.title, need.question));
        let similar = needs::similar(ctx.db()?.conn(), words, need.id, 5).await?;
        Ok(similar.into_iter().map(Need::from).collect())
    }
}

/// An edit: fields left out keep their value.
#[derive(InputObject)]
pub struct UpdateNeedInput {
    pub need: ID,
    /// The version read; a stale one is a CONFLICT.
    pub version: i32,
    pub title: Option<String>,
    pub question: Option<String>,
    pub background: Option<String>,
    pub intended_use: Option<String>,
    pub target_group: Option<String>,
    pub themes: Option<Vec<ID>>,
    pub urgency: Option<Urgency>,
    pub product_type: Option<ID>,
    pub structured_question: Option<StructuredQuestionInput>,
    pub contact_person: Option<ID>,
}

/// A move of a need to another state.
#[derive(InputObject)]
pub struct NeedMoveInput {
    pub need: ID,
    /// The version read; a stale one is a CONFLICT.
    pub version: i32,
    /// A comment or reason, kept in the history. Required to return or reject a need.
    pub reason: Option<String>,
}

#[derive(SimpleObject)]
pub struct NeedPayload {
    pub need: Option<Need>,
    pub user_errors: Vec<UserError>,
}

impl NeedPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self { need: None, user_errors: errors }
    }

    fn done(need: need::Model) -> Self {
        Self { need: Some(Need::from(need)), user_errors: Vec::new() }
    }

    fn from_write(result: Result<need::Model, crate::db::WriteError>) -> Result<Self> {
        Ok(match result {
            Ok(need) => Self::done(need),
            Err(err) => Self::failed(from_write_error(err)?),
        })
    }
}

#[derive(InputObject)]
pub struct CosignNeedInput {
    pub need: ID,
    /// The co-signing municipality; may be left out by members of exactly one municipality.
    pub municipality: Option<ID>,
}

#[derive(InputObject)]
pub struct LinkEvidenceInput {
    pub need: ID,
    pub title: String,
    pub url: Option<String>,
    pub doi: Option<String>,
    pub note: Option<String>,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct LinkEvidencePayload {
    pub need: Option<Need>,
    pub evidence: Option<Evidence>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct MergeNeedsInput {
    /// The need that stays.
    pub survivor: ID,
    /// The needs that become MERGED into it.
    pub duplicates: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct MergeNeedsPayload {
    pub survivor: Option<Need>,
    pub duplicates: Vec<Need>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct UnmergeNeedInput {
    /// The merged duplicate to restore.
    pub need: ID,
}

#[derive(SimpleObject)]
pub struct UnmergeNeedPayload {
    /// The duplicate, back in the state it had before the merge.
    pub need: Option<Need>,
    /// The need it had been merged into.
    pub survivor: Option<Need>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct SetMunicipalityPopulationInput {
    pub municipality: ID,
    /// Inhabitants; null when unknown.
    pub population: Option<i32>,
}

#[derive(SimpleObject)]
pub struct SetMunicipalityPopulationPayload {
    pub municipality: Option<Municipality>,
    pub user_errors: Vec<UserError>,
}

fn problem(errors: &mut UserErrors, result: Result<String, FieldProblem>) -> String {
    result.unwrap_or_else(|p| {
        errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        String::new()
    })
}

/// A need's text, or its problems as `BAD_USER_INPUT` user errors (and an empty text).
fn parse_text(errors: &mut UserErrors, written: WrittenText<'_>) -> NeedText {
    NeedText::parse(written).unwrap_or_else(|problems| {
        for p in problems {
            errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        }
        NeedText::default()
    })
}

fn optional(errors: &mut UserErrors, field: &'static str, raw: Option<&str>) -> Option<String> {
    optional_text(field, raw, rules::SHORT_TEXT).unwrap_or_else(|p| {
        errors.add(p.field, UserErrorCode::BadUserInput, p.message);
        None
    })
}

/// Themes and product type: ids of the right type that exist.
async fn check_references(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    themes: &[ID],
    product_type: Option<&ID>,
) -> Result<(Vec<i32>, Option<i32>), AppError> {
    let loader = ctx.loader()?;
    let mut theme_ids = Vec::new();
    for id in themes {
        if let Some(theme) = errors.id("themes", GlobalId::decode_as(id, NodeType::Theme)) {
            if loader.load_one(ThemeById(theme)).await?.is_none() {
                errors.add("themes", UserErrorCode::NotFound, "no such theme");
            } else if !theme_ids.contains(&theme) {
                theme_ids.push(theme);
            }
        }
    }
    if themes.is_empty() {
        errors.add("themes", UserErrorCode::BadUserInput, "choose at least one theme");
    }
    let product_type = match product_type {
        Some(id) => match errors.id("productType", GlobalId::decode_as(id, NodeType::ProductType)) {
            Some(pt) if loader.load_one(ProductTypeById(pt)).await?.is_some() => Some(pt),
            Some(_) => {
                errors.add("productType", UserErrorCode::NotFound, "no such product type");
                None
            }
            None => None,
        },
        None => None,
    };
    Ok((theme_ids, product_type))
}

/// The contact person: someone the caller can see, the caller by default.
async fn check_contact(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    contact: Option<&ID>,
    me: i32,
) -> Result<Option<i32>, AppError> {
    let Some(id) = contact else {
        return Ok(Some(me));
    };
    let Some(person) = errors.id("contactPerson", GlobalId::decode_as(id, NodeType::Person)) else {
        return Ok(None);
    };
    if visible_person(ctx, person).await?.is_none() {
        errors.add("contactPerson", UserErrorCode::NotFound, "no such person");
        return Ok(None);
    }
    Ok(Some(person))
}

/// The municipality acted for: the given one, or the caller's only one.
fn acting_municipality(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    given: Option<&ID>,
) -> Result<Option<i32>, AppError> {
    match given {
        Some(id) => Ok(errors.id("municipality", GlobalId::decode_as(id, NodeType::Municipality))),
        None => match ctx.viewer()?.member_municipalities().as_slice() {
            [only] => Ok(Some(*only)),
            [] => Err(AppError::Forbidden(allowed::SUBMIT_NEED)),
            _ => {
                errors.add("municipality", UserErrorCode::BadUserInput, "say which municipality you act for");
                Ok(None)
            }
        },
    }
}

/// A need the caller may see, by id; `NOT_FOUND` (as a user error) otherwise.
async fn find_need(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    field: &str,
    id: &ID,
) -> Result<Option<(need::Model, NeedScope)>, AppError> {
    let Some(key) = errors.id(field, GlobalId::decode_as(id, NodeType::Need)) else {
        return Ok(None);
    };
    match visible_need(ctx, key).await? {
        Some(Need(need, _)) => {
            let scope = need_scope(ctx, &need).await?;
            Ok(Some((need, scope)))
        }
        None => {
            errors.add(field, UserErrorCode::NotFound, "no such need");
            Ok(None)
        }
    }
}

/// Who may make a move: the need's municipality, its reviewers, or its region's coordinators.
#[derive(Clone, Copy)]
enum Who {
    Owner,
    Reviewer,
    Curator,
}

impl Who {
    fn action(self, scope: &NeedScope) -> Action<'_> {
        match self {
            Who::Owner => Action::EditNeed(scope),
            Who::Reviewer => Action::ReviewNeed(scope),
            Who::Curator => Action::CurateNeed(scope),
        }
    }
}

impl NeedsMutation {
    /// The shared path of every move: find, authorise, apply.
    async fn move_need(
        &self,
        ctx: &Context<'_>,
        input: NeedMoveInput,
        attempted: Move,
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
        NeedPayload::from_write(
            needs::apply_move(ctx.db()?, me, need.id, Some(input.version), attempted, reason).await,
        )
    }
}

#[Object]
impl NeedsMutation {
    /// Raises a need for a municipality (members of it only): submitted at once, or kept as a
    /// draft. The payload suggests similar open needs to co-sign instead.
    async fn submit_need(&self, ctx: &Context<'_>, input: SubmitNeedInput) -> Result<SubmitNeedPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let viewer = ctx.viewer()?;
            let me = viewer.require_person()?;
            let mut errors = UserErrors::default();
            let municipality = acting_municipality(ctx, &mut errors, input.municipality.as_ref())?;
            if let Some(m) = municipality {
                viewer.require(Action::SubmitNeedFor { municipality_id: m })?;
            }
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
            let (Some(municipality), true) = (municipality, errors.is_empty()) else {
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
            match needs::create(db, me, municipality, content, !input.draft).await {
                Ok(need) => Ok(SubmitNeedPayload { need: Some(Need::from(need)), user_errors: Vec::new() }),
                Err(err) => Ok(SubmitNeedPayload { need: None, user_errors: from_write_error(err)? }),
            }
        })
        .await
    }

    /// Edits a draft, submitted or returned need (its municipality's members only).
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

    /// Sends a draft, or a returned need, to review (its municipality's members only).
    async fn resubmit_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Move::Submit, Who::Owner, false).await
    }

    /// Forwards a submitted need to the regional pool (its cluster's or region's coordinators).
    async fn accept_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Move::Accept, Who::Reviewer, false).await
    }

    /// Sends a submitted need back to be sharpened, with a comment.
    async fn return_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Move::Return, Who::Reviewer, true).await
    }

    /// Turns a submitted need down, with a reason.
    async fn reject_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Move::Reject, Who::Reviewer, true).await
    }

    /// Takes a need back while it is open (its municipality's members only).
    async fn withdraw_need(&self, ctx: &Context<'_>, input: NeedMoveInput) -> Result<NeedPayload> {
        self.move_need(ctx, input, Move::Withdraw, Who::Owner, false).await
    }

    /// Closes an accepted (or deferred) need as answered by the evidence linked to it
    /// (the region's coordinators).
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
        self.move_need(ctx, input, Move::AnswerByExistingEvidence, Who::Curator, false).await
    }

    /// Co-signs a need on behalf of a municipality (a member of it); once per municipality.
    async fn cosign_need(&self, ctx: &Context<'_>, input: CosignNeedInput) -> Result<NeedPayload> {
        self.cosignature(ctx, input, true).await
    }

    /// Takes a municipality's own co-signature back (one carried by a merge leaves when the
    /// duplicate is unmerged: CONFLICT).
    async fn withdraw_cosignature(&self, ctx: &Context<'_>, input: CosignNeedInput) -> Result<NeedPayload> {
        self.cosignature(ctx, input, false).await
    }

    /// Links existing evidence to a need (the region's coordinators).
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
    /// (the region's coordinators).
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
        let region_id = region_of_municipality(ctx, municipality.county_id).await?;
        match region_id {
            Some(region_id) => viewer.require(Action::ManageReferenceData { region_id })?,
            None => return Err(AppError::Forbidden(allowed::MANAGE_REFERENCE_DATA).into()),
        }
        if !errors.is_empty() {
            return Ok(failed(errors.into_vec()));
        }
        Ok(match needs::set_population(ctx.db()?, actor, id, region_id, input.population).await {
            Ok(m) => SetMunicipalityPopulationPayload {
                municipality: Some(Municipality(m)),
                user_errors: Vec::new(),
            },
            Err(err) => failed(from_write_error(err)?),
        })
    }
}

impl NeedsMutation {
    async fn cosignature(
        &self,
        ctx: &Context<'_>,
        input: CosignNeedInput,
        sign: bool,
    ) -> Result<NeedPayload> {
        let viewer = ctx.viewer()?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let municipality = acting_municipality(ctx, &mut errors, input.municipality.as_ref())?;
        if let Some(m) = municipality {
            viewer.require(Action::CosignFor { municipality_id: m })?;
        }
        let found = find_need(ctx, &mut errors, "need", &input.need).await?;
        let (Some((need, _)), Some(municipality), true) = (found, municipality, errors.is_empty()) else {
            return Ok(NeedPayload::failed(errors.into_vec()));
        };
        let db = ctx.db()?;
        let result = if sign {
            needs::cosign(db, me, need.id, municipality).await
        } else {
            needs::withdraw_cosign(db, me, need.id, municipality).await
        };
        NeedPayload::from_write(result)
    }
}

impl Replayable for SubmitNeedPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { need: None, user_errors: errors }
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        let need = visible_need(ctx, id).await?;
        Ok(Self { need, user_errors: Vec::new() })
    }
}

impl Replayable for LinkEvidencePayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { need: None, evidence: None, user_errors: errors }
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        let evidence = needs::evidence(ctx.db()?.conn(), id).await?;
        let need = match &evidence {
            Some(e) => visible_need(ctx, e.need_id).await?,
            None => None,
        };
        Ok(Self { need, evidence: evidence.map(Evidence), user_errors: Vec::new() })
    }
}
