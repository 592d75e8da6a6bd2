//! Mutations from a drafted commission to a published summary and its uptake. Coordinators draft,
//! open, award, cancel and publish; institutions express interest, report progress and deliver;
//! municipalities record uptake.

mod checks;
mod inputs;

use async_graphql::{Context, ID, Object};
use chrono::Utc;
use entity::commission;

use crate::{
    auth::Action,
    auth::policy::allowed,
    db::commissions::{self, NewCommission, NewSummary},
    domain::{
        commissions::CommissionMove,
        needs::{SHORT_TEXT, optional_text},
    },
    error::{AppError, Result},
    graphql::{
        commissions::types::{Interest, Milestone, Summary, Uptake, visible_summary},
        context::ContextExt,
        idempotency,
        ids::{GlobalId, NodeType},
        loaders::{InstitutionById, MunicipalityById, MunicipalityOfOrganisation, ProductTypeById},
        needs::types::{Need, need_scope, visible_need},
        user_error::{UserErrorCode, UserErrors, from_write_error},
    },
};
use checks::*;
pub use inputs::*;

#[derive(Default)]
pub struct CommissionsMutation;

impl CommissionsMutation {
    /// Coordinator-only moves on a commission the caller can see.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn coordinate(
        &self,
        ctx: &Context<'_>,
        input: CommissionInput,
        attempted: CommissionMove,
    ) -> Result<CommissionPayload> {
        let person = me(ctx)?;
        let mut errors = UserErrors::default();
        let reason = optional_text("reason", input.reason.as_deref(), SHORT_TEXT).unwrap_or_else(|p| {
            errors.add(p.field, UserErrorCode::BadUserInput, p.message);
            None
        });
        let Some(found) = find(ctx, &mut errors, &input.commission).await? else {
            return Ok(CommissionPayload::failed(errors.into_vec()));
        };
        ctx.viewer()?.require(Action::ManageCommissions { partnership_id: found.partnership_id })?;
        if !errors.is_empty() {
            return Ok(CommissionPayload::failed(errors.into_vec()));
        }
        let db = ctx.db()?;
        let result = match attempted {
            CommissionMove::Publish => commissions::publish(db, person, found.id).await,
            _ => commissions::simple_move(db, person, found.id, attempted, reason).await,
        };
        CommissionPayload::from_write(result)
    }

    /// Institution-only work on the commission awarded to it.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn awarded_to_me(
        &self,
        ctx: &Context<'_>,
        errors: &mut UserErrors,
        id: &ID,
    ) -> Result<Option<commission::Model>, AppError> {
        let Some(found) = find(ctx, errors, id).await? else {
            return Ok(None);
        };
        match found.awarded_institution_id {
            Some(institution_id) => ctx.viewer()?.require(Action::ActForInstitution { institution_id })?,
            None => return Err(AppError::Forbidden(allowed::ACT_FOR_AWARDED)),
        }
        Ok(Some(found))
    }
}

#[Object]
impl CommissionsMutation {
    /// Drafts a commission answering one or more PRIORITISED needs (the region's coordinators).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_commission(
        &self,
        ctx: &Context<'_>,
        input: CreateCommissionInput,
    ) -> Result<CommissionPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let person = me(ctx)?;
            let viewer = ctx.viewer()?;
            if viewer.coordinated_regions().is_empty() {
                return Err(AppError::Forbidden(allowed::MANAGE_COMMISSIONS).into());
            }
            let mut errors = UserErrors::default();
            let question = checked(&mut errors, "question", &input.question, 4_000);
            if input.deadline <= Utc::now() {
                errors.add("deadline", UserErrorCode::BadUserInput, "the deadline must be in the future");
            }
            if input.budget_nok.is_some_and(|b| b < 0) {
                errors.add("budgetNok", UserErrorCode::BadUserInput, "the budget cannot be negative");
            }
            let product_type =
                errors.id("productType", GlobalId::decode_as(&input.product_type, NodeType::ProductType));
            if let Some(pt) = product_type
                && ctx.loader()?.load_one(ProductTypeById(pt)).await?.is_none()
            {
                errors.add("productType", UserErrorCode::NotFound, "no such product type");
            }
            let mut need_ids = Vec::new();
            let mut region = None;
            for id in &input.needs {
                let Some(key) = errors.id("needs", GlobalId::decode_as(id, NodeType::Need)) else { continue };
                let Some(Need(need, _)) = visible_need(ctx, key).await? else {
                    errors.add("needs", UserErrorCode::NotFound, "no such need");
                    continue;
                };
                let scope = need_scope(ctx, &need).await?;
                match (region, scope.partnership_id) {
                    (None, Some(r)) => region = Some(r),
                    (Some(a), Some(b)) if a != b => {
                        errors.add(
                            "needs",
                            UserErrorCode::BadUserInput,
                            "the needs of one commission belong to one region",
                        );
                    }
                    _ => {}
                }
                if !need_ids.contains(&need.id) {
                    need_ids.push(need.id);
                }
            }
            if input.needs.is_empty() {
                errors.add("needs", UserErrorCode::BadUserInput, "name at least one need");
            }
            if let Some(partnership_id) = region {
                viewer.require(Action::ManageCommissions { partnership_id })?;
            }
            let (Some(partnership_id), Some(product_type_id), true) =
                (region, product_type, errors.is_empty())
            else {
                return Ok(CommissionPayload::failed(errors.into_vec()));
            };
            let new = NewCommission {
                partnership_id,
                question,
                product_type_id,
                deadline: input.deadline,
                budget_nok: input.budget_nok,
                need_ids,
            };
            CommissionPayload::from_write(commissions::create(ctx.db()?, person, new).await)
        })
        .await
    }

    /// Publishes the request to institutions; subscribers hear of it at once.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn open_commission(&self, ctx: &Context<'_>, input: CommissionInput) -> Result<CommissionPayload> {
        self.coordinate(ctx, input, CommissionMove::Open).await
    }

    /// Stops a commission before delivery.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn cancel_commission(
        &self,
        ctx: &Context<'_>,
        input: CommissionInput,
    ) -> Result<CommissionPayload> {
        self.coordinate(ctx, input, CommissionMove::Cancel).await
    }

    /// Publishes the delivered summary: public summary, PUBLISHED commission, ANSWERED needs, in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn publish_summary(&self, ctx: &Context<'_>, input: CommissionInput) -> Result<CommissionPayload> {
        self.coordinate(ctx, input, CommissionMove::Publish).await
    }

    /// Awards an open commission to an institution that expressed interest, or assigns a draft
    /// directly; its needs become COMMISSIONED.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn award_commission(
        &self,
        ctx: &Context<'_>,
        input: AwardCommissionInput,
    ) -> Result<CommissionPayload> {
        let person = me(ctx)?;
        let mut errors = UserErrors::default();
        let institution =
            errors.id("institution", GlobalId::decode_as(&input.institution, NodeType::Institution));
        let Some(found) = find(ctx, &mut errors, &input.commission).await? else {
            return Ok(CommissionPayload::failed(errors.into_vec()));
        };
        ctx.viewer()?.require(Action::ManageCommissions { partnership_id: found.partnership_id })?;
        if let Some(i) = institution
            && ctx.loader()?.load_one(InstitutionById(i)).await?.is_none()
        {
            errors.add("institution", UserErrorCode::NotFound, "no such institution");
        }
        let (Some(institution_id), true) = (institution, errors.is_empty()) else {
            return Ok(CommissionPayload::failed(errors.into_vec()));
        };
        CommissionPayload::from_write(commissions::award(ctx.db()?, person, found.id, institution_id).await)
    }

    /// Expresses an institution's interest in an open commission, or edits its proposal.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn express_interest(
        &self,
        ctx: &Context<'_>,
        input: ExpressInterestInput,
    ) -> Result<ExpressInterestPayload> {
        let person = me(ctx)?;
        let mut errors = UserErrors::default();
        let institution = acting_institution(ctx, &mut errors, input.institution.as_ref())?;
        let proposal = checked(&mut errors, "proposal", &input.proposal, 10_000);
        let found = find(ctx, &mut errors, &input.commission).await?;
        let (Some(found), Some(institution_id), true) = (found, institution, errors.is_empty()) else {
            return Ok(ExpressInterestPayload { interest: None, user_errors: errors.into_vec() });
        };
        Ok(match commissions::express_interest(ctx.db()?, person, found.id, institution_id, proposal).await {
            Ok(interest) => {
                ExpressInterestPayload { interest: Some(Interest(interest)), user_errors: Vec::new() }
            }
            Err(err) => ExpressInterestPayload { interest: None, user_errors: from_write_error(err)? },
        })
    }

    /// A progress note from the awarded institution; the first one moves the work IN_PROGRESS.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn report_progress(
        &self,
        ctx: &Context<'_>,
        input: ReportProgressInput,
    ) -> Result<CommissionPayload> {
        let person = me(ctx)?;
        let mut errors = UserErrors::default();
        let note = checked(&mut errors, "note", &input.note, 10_000);
        let Some(found) = self.awarded_to_me(ctx, &mut errors, &input.commission).await? else {
            return Ok(CommissionPayload::failed(errors.into_vec()));
        };
        if !errors.is_empty() {
            return Ok(CommissionPayload::failed(errors.into_vec()));
        }
        CommissionPayload::from_write(commissions::report_progress(ctx.db()?, person, found.id, note).await)
    }

    /// Adds a milestone to awarded work (the awarded institution).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_milestone(&self, ctx: &Context<'_>, input: AddMilestoneInput) -> Result<MilestonePayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let person = me(ctx)?;
            let mut errors = UserErrors::default();
            let title = checked(&mut errors, "title", &input.title, SHORT_TEXT);
            let Some(found) = self.awarded_to_me(ctx, &mut errors, &input.commission).await? else {
                return Ok(MilestonePayload { milestone: None, user_errors: errors.into_vec() });
            };
            if !errors.is_empty() {
                return Ok(MilestonePayload { milestone: None, user_errors: errors.into_vec() });
            }
            Ok(match commissions::add_milestone(ctx.db()?, person, found.id, title, input.due_at).await {
                Ok(m) => MilestonePayload { milestone: Some(Milestone(m)), user_errors: Vec::new() },
                Err(err) => MilestonePayload { milestone: None, user_errors: from_write_error(err)? },
            })
        })
        .await
    }

    /// Marks a milestone done (the awarded institution).
    #[tracing::instrument(level = "debug", skip_all)]
    async fn complete_milestone(
        &self,
        ctx: &Context<'_>,
        input: CompleteMilestoneInput,
    ) -> Result<MilestonePayload> {
        let person = me(ctx)?;
        let mut errors = UserErrors::default();
        let failed =
            |errors: UserErrors| MilestonePayload { milestone: None, user_errors: errors.into_vec() };
        let Some(id) = errors.id("milestone", GlobalId::decode_as(&input.milestone, NodeType::Milestone))
        else {
            return Ok(failed(errors));
        };
        let Some(found) = commissions::milestone(ctx.db()?.conn(), id).await? else {
            errors.add("milestone", UserErrorCode::NotFound, "no such milestone");
            return Ok(failed(errors));
        };
        let commission_id = GlobalId::new(NodeType::Commission, found.commission_id).encode();
        if self.awarded_to_me(ctx, &mut errors, &commission_id).await?.is_none() {
            return Ok(failed(errors));
        }
        Ok(match commissions::complete_milestone(ctx.db()?, person, id).await {
            Ok(m) => MilestonePayload { milestone: Some(Milestone(m)), user_errors: Vec::new() },
            Err(err) => MilestonePayload { milestone: None, user_errors: from_write_error(err)? },
        })
    }

    /// Delivers the knowledge summary of an awarded commission (the awarded institution). The
    /// summary needs a `url` or a `doi` (or both); publishing it is then `publishSummary`.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn deliver_summary(&self, ctx: &Context<'_>, input: DeliverSummaryInput) -> Result<SummaryPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let person = me(ctx)?;
            let mut errors = UserErrors::default();
            let title = checked(&mut errors, "title", &input.title, SHORT_TEXT);
            let abstract_text = checked(&mut errors, "abstract", &input.abstract_text, 20_000);
            let authors = checked(&mut errors, "authors", &input.authors, SHORT_TEXT);
            let language = input.language.trim().to_lowercase();
            if !matches!(language.as_str(), "nb" | "nn" | "en") {
                errors.add("language", UserErrorCode::BadUserInput, "the language is nb, nn or en");
            }
            let url = input.url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty());
            if url.as_deref().is_some_and(|u| !(u.starts_with("https://") || u.starts_with("http://"))) {
                errors.add("url", UserErrorCode::BadUserInput, "the URL must start with https:// or http://");
            }
            let doi = input.doi.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
            if doi.as_deref().is_some_and(|d| !d.starts_with("10.") || !d.contains('/')) {
                errors.add("doi", UserErrorCode::BadUserInput, "a DOI looks like 10.1234/abc");
            }
            if url.is_none() && doi.is_none() {
                errors.add("url", UserErrorCode::BadUserInput, "give a URL or a DOI");
            }
            let Some(found) = self.awarded_to_me(ctx, &mut errors, &input.commission).await? else {
                return Ok(SummaryPayload { summary: None, user_errors: errors.into_vec() });
            };
            if !errors.is_empty() {
                return Ok(SummaryPayload { summary: None, user_errors: errors.into_vec() });
            }
            let new = NewSummary { title, abstract_text, language, url, doi, authors };
            Ok(match commissions::deliver(ctx.db()?, person, found.id, new).await {
                Ok(s) => SummaryPayload { summary: Some(Summary(s)), user_errors: Vec::new() },
                Err(err) => SummaryPayload { summary: None, user_errors: from_write_error(err)? },
            })
        })
        .await
    }

    /// Records whether, and how, a municipality behind an answered need used the summary.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn record_uptake(&self, ctx: &Context<'_>, input: RecordUptakeInput) -> Result<UptakePayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let person = me(ctx)?;
            let viewer = ctx.viewer()?;
            let mut errors = UserErrors::default();
            let failed = |errors: UserErrors| UptakePayload { uptake: None, user_errors: errors.into_vec() };
            let municipality = match &input.municipality {
                Some(id) => errors.id("municipality", GlobalId::decode_as(id, NodeType::Municipality)),
                None => {
                    let loader = ctx.loader()?;
                    let units = viewer.member_units();
                    let mine = loader.load_many(units.into_iter().map(MunicipalityOfOrganisation)).await?;
                    match mine.values().map(|m| m.id).collect::<Vec<_>>().as_slice() {
                        [only] => Some(*only),
                        [] => return Err(AppError::Forbidden(allowed::RECORD_UPTAKE).into()),
                        _ => {
                            errors.add(
                                "municipality",
                                UserErrorCode::BadUserInput,
                                "say which municipality you report for",
                            );
                            None
                        }
                    }
                }
            };
            if let Some(municipality_id) = municipality {
                let found = ctx.loader()?.load_one(MunicipalityById(municipality_id)).await?;
                match found.and_then(|m| m.organisation_id) {
                    Some(organisation_id) => viewer.require(Action::RecordUptakeFor { organisation_id })?,
                    None => errors.add("municipality", UserErrorCode::NotFound, "no such municipality"),
                }
            }
            let note = optional_text("note", input.note.as_deref(), 10_000).unwrap_or_else(|p| {
                errors.add(p.field, UserErrorCode::BadUserInput, p.message);
                None
            });
            let summary = match errors.id("summary", GlobalId::decode_as(&input.summary, NodeType::Summary)) {
                Some(id) => visible_summary(ctx, id).await?,
                None => None,
            };
            if summary.is_none() && errors.is_empty() {
                errors.add("summary", UserErrorCode::NotFound, "no such summary");
            }
            let (Some(summary), Some(municipality_id), true) = (summary, municipality, errors.is_empty())
            else {
                return Ok(failed(errors));
            };
            Ok(
                match commissions::record_uptake(
                    ctx.db()?,
                    person,
                    summary.id,
                    municipality_id,
                    input.status,
                    note,
                )
                .await
                {
                    Ok(u) => UptakePayload { uptake: Some(Uptake(u)), user_errors: Vec::new() },
                    Err(err) => UptakePayload { uptake: None, user_errors: from_write_error(err)? },
                },
            )
        })
        .await
    }
}
