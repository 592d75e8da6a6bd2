//! The inputs and payloads of the commissions' mutations, and how a retried create is answered
//! again.

use async_graphql::{Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{commission, enums::UptakeStatus};

use crate::{
    db::{WriteError, commissions},
    error::Result,
    graphql::{
        commissions::types::{
            Commission, Interest, Milestone, Summary, Uptake, visible_commission, visible_summary,
        },
        context::ContextExt,
        idempotency::Replayable,
        user_error::{UserError, from_write_error},
    },
};

#[derive(InputObject)]
pub struct CreateCommissionInput {
    pub question: String,
    pub product_type: ID,
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub deadline: DateTime<Utc>,
    /// In Norwegian kroner.
    pub budget_nok: Option<i64>,
    /// The PRIORITISED needs it answers, all of one region.
    pub needs: Vec<ID>,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct CommissionPayload {
    pub commission: Option<Commission>,
    pub user_errors: Vec<UserError>,
}

impl CommissionPayload {
    pub(super) fn failed(errors: Vec<UserError>) -> Self {
        Self { commission: None, user_errors: errors }
    }

    pub(super) fn from_write(result: Result<commission::Model, WriteError>) -> Result<Self> {
        Ok(match result {
            Ok(c) => Self { commission: Some(Commission(c)), user_errors: Vec::new() },
            Err(err) => Self::failed(from_write_error(err)?),
        })
    }
}

#[derive(InputObject)]
pub struct CommissionInput {
    pub commission: ID,
    /// A reason, kept in the history (used when cancelling).
    pub reason: Option<String>,
}

#[derive(InputObject)]
pub struct ExpressInterestInput {
    pub commission: ID,
    /// May be left out by members of exactly one institution.
    pub institution: Option<ID>,
    /// A short proposal: approach, team, timeline.
    pub proposal: String,
}

#[derive(SimpleObject)]
pub struct ExpressInterestPayload {
    pub interest: Option<Interest>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct AwardCommissionInput {
    pub commission: ID,
    /// An institution that expressed interest (or any institution, to assign a draft directly).
    pub institution: ID,
}

#[derive(InputObject)]
pub struct ReportProgressInput {
    pub commission: ID,
    pub note: String,
}

#[derive(InputObject)]
pub struct AddMilestoneInput {
    pub commission: ID,
    pub title: String,
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub due_at: DateTime<Utc>,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct CompleteMilestoneInput {
    pub milestone: ID,
}

#[derive(SimpleObject)]
pub struct MilestonePayload {
    pub milestone: Option<Milestone>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct DeliverSummaryInput {
    pub commission: ID,
    pub title: String,
    #[graphql(name = "abstract")]
    pub abstract_text: String,
    /// `nb`, `nn` or `en`.
    pub language: String,
    /// Where the summary can be read (`https://...` or `http://...`). Give a URL, a DOI or both:
    /// with neither, the delivery is refused with a BAD_USER_INPUT user error on `url`.
    pub url: Option<String>,
    /// The summary's DOI (`10.1234/abc`). Give a URL, a DOI or both.
    pub doi: Option<String>,
    pub authors: String,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct SummaryPayload {
    pub summary: Option<Summary>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RecordUptakeInput {
    pub summary: ID,
    /// May be left out by members of exactly one municipality.
    pub municipality: Option<ID>,
    pub status: UptakeStatus,
    pub note: Option<String>,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct UptakePayload {
    pub uptake: Option<Uptake>,
    pub user_errors: Vec<UserError>,
}

impl Replayable for CommissionPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self::failed(errors)
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        Ok(Self { commission: visible_commission(ctx, id).await?.map(Commission), user_errors: Vec::new() })
    }
}

impl Replayable for MilestonePayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { milestone: None, user_errors: errors }
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        let found = commissions::milestone(ctx.db()?.conn(), id).await?;
        Ok(Self { milestone: found.map(Milestone), user_errors: Vec::new() })
    }
}

impl Replayable for SummaryPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { summary: None, user_errors: errors }
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        Ok(Self { summary: visible_summary(ctx, id).await?.map(Summary), user_errors: Vec::new() })
    }
}

impl Replayable for UptakePayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { uptake: None, user_errors: errors }
    }

    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        let found = commissions::uptake(ctx.db()?.conn(), id).await?;
        Ok(Self { uptake: found.map(Uptake), user_errors: Vec::new() })
    }
}
