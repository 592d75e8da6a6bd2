//! The inputs and payloads of the needs' mutations, and how a retried create is answered again.

use async_graphql::{ComplexObject, Context, ID, InputObject, SimpleObject};
use entity::{enums::Urgency, need};

use crate::{
    db::needs,
    domain::needs::{self as rules},
    error::Result,
    graphql::{
        context::ContextExt,
        idempotency::Replayable,
        needs::types::{Evidence, Need, visible_need},
        reference::types::Municipality,
        user_error::{UserError, from_write_error},
    },
};

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
    /// The unit raising the need: a municipality, a district, a programme, a sub-programme or a
    /// project, by its id (or its typed row's), key or official number (`030115`). Name it here or
    /// as `municipality`; members of exactly one unit may leave both out.
    pub organisation: Option<ID>,
    /// The municipality raising the need (the same as naming its organisation).
    pub municipality: Option<ID>,
    /// The partnership whose pool the need goes to, by id or key: one that takes needs from the
    /// unit. Left out, the nearest that does (RSO Vest for Bergen, Områdesatsingene for Alna);
    /// where two are equally near (Søndre Nordstrand: Områdesatsingene and Universitetskommunen
    /// Oslo) it must be named.
    pub partnership: Option<ID>,
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
    /// Keep it as a draft (visible only to the unit's members) instead of submitting it.
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

#[derive(InputObject)]
pub struct PassOnNeedInput {
    pub need: ID,
    /// The version read; a stale one is a CONFLICT.
    pub version: i32,
    /// The national authority: an organisation of kind STATE_PARTNER, by id or key
    /// (`helsedirektoratet`).
    pub to: ID,
    /// Why it goes there, kept in the history.
    pub reason: String,
}

#[derive(SimpleObject)]
pub struct NeedPayload {
    pub need: Option<Need>,
    pub user_errors: Vec<UserError>,
}

impl NeedPayload {
    pub(super) fn failed(errors: Vec<UserError>) -> Self {
        Self { need: None, user_errors: errors }
    }

    pub(super) fn done(need: need::Model) -> Self {
        Self { need: Some(Need::from(need)), user_errors: Vec::new() }
    }

    pub(super) fn from_write(result: Result<need::Model, crate::db::WriteError>) -> Result<Self> {
        Ok(match result {
            Ok(need) => Self::done(need),
            Err(err) => Self::failed(from_write_error(err)?),
        })
    }
}

#[derive(InputObject)]
pub struct CosignNeedInput {
    pub need: ID,
    /// The co-signing unit, by id (or its typed row's), key or official number; name it here or
    /// as `municipality`, or leave both out as a member of exactly one unit.
    pub organisation: Option<ID>,
    /// The co-signing municipality (the same as naming its organisation).
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
