//! `WebhookEndpoint` and `WebhookAttempt`, and who may see and manage an organisation's webhooks:
//! a coordinator of a partnership serving it, or a unit coordinator of it or a unit above it.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::{delivery_attempt, enums::WebhookEventKind, webhook_endpoint};

use crate::{
    auth::Action,
    db::{
        audit::Actor,
        notify::webhooks::{self as store, kinds_of},
        organisations::write::By,
    },
    error::{AppError, Result},
    graphql::{
        connection::{ConnectionFields, Page, PageArgs, cost, keyset_page, paginate},
        context::ContextExt,
        ids::{GlobalId, NodeType},
        loaders::{AncestorsOf, PartnershipsServing, WebhookById, WebhooksOfOrganisation},
        organisations::types::{Organisation, organisation_by_id},
    },
};

/// An endpoint an organisation registered: where the hub sends the events it subscribes to,
/// signed by the Standard Webhooks scheme. Its secret is shown only when it is made.
#[derive(Clone, Debug)]
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

impl WebhookEndpoint {
    pub fn global_id(&self) -> ID {
        GlobalId::new(NodeType::WebhookEndpoint, self.0.id).encode()
    }
}

#[Object]
impl WebhookEndpoint {
    pub async fn id(&self) -> ID {
        self.global_id()
    }

    /// The organisation it receives events for.
    async fn organisation(&self, ctx: &Context<'_>) -> Result<Organisation> {
        Ok(organisation_by_id(ctx, Some(self.0.organisation_id)).await?)
    }

    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The kinds of event it receives.
    async fn events(&self) -> Vec<WebhookEventKind> {
        kinds_of(&self.0.event_kinds)
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it stopped receiving: disabled by a coordinator, or by the hub when a message kept
    /// failing for about a day. `enableWebhook` starts it again.
    async fn disabled_at(&self) -> Option<DateTime<Utc>> {
        self.0.disabled_at
    }

    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }

    /// Failed attempts since its last success.
    async fn consecutive_failures(&self) -> i32 {
        self.0.consecutive_failures
    }

    /// Every attempt to deliver to it, newest first: what the receiver answered, and how long it
    /// took.
    // Read for this endpoint alone (a page and its count): endpoints are read a few at a time, by
    // those who manage them, and an organisation has at most ten.
    #[graphql(complexity = "cost(first, last, child_complexity)")]
    async fn attempts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Page<WebhookAttempt>> {
        let args = PageArgs::parse(first, after, last, before)?;
        let db = ctx.db()?;
        let rows = store::attempts(db.conn(), self.0.id, args.window()).await?;
        let total = store::count_attempts(db.conn(), self.0.id).await?;
        let fields = ConnectionFields { total_count: usize::try_from(total).unwrap_or(usize::MAX) };
        Ok(keyset_page(rows, args, fields, |row| -i64::from(row.id), WebhookAttempt))
    }
}

/// One attempt to deliver a message to an endpoint.
pub struct WebhookAttempt(pub delivery_attempt::Model);

#[Object]
impl WebhookAttempt {
    /// The message's id, sent as `webhook-id`: the same on every retry of the message.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }

    async fn attempted_at(&self) -> DateTime<Utc> {
        self.0.attempted_at
    }

    /// The receiver's HTTP status; null when it gave no answer (refused, unreachable, timed out).
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }

    async fn duration_ms(&self) -> i64 {
        self.0.duration_ms
    }

    /// Why it failed; null for a success (a 2xx answer).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
}

/// Who may manage an organisation's webhooks: the partnerships serving it, and it with the units
/// above it (for their unit coordinators).
async fn managers(ctx: &Context<'_>, organisation_id: i32) -> Result<(Vec<i32>, Vec<i32>), AppError> {
    let loader = ctx.loader()?;
    let partnerships = loader.load_one(PartnershipsServing(organisation_id)).await?.unwrap_or_default();
    let ancestors = loader.load_one(AncestorsOf(organisation_id)).await?.unwrap_or_default();
    let units = std::iter::once(organisation_id).chain(ancestors.into_iter().map(|o| o.id)).collect();
    Ok((partnerships.into_iter().map(|p| p.id).collect(), units))
}

/// Whether the caller may manage (and so see) the organisation's webhooks.
pub async fn may_manage(ctx: &Context<'_>, organisation_id: i32) -> Result<bool, AppError> {
    let viewer = ctx.viewer()?;
    if viewer.person_id().is_none() {
        return Ok(false);
    }
    let (partnerships, units) = managers(ctx, organisation_id).await?;
    Ok(viewer.can(Action::ManageWebhooks { partnerships: &partnerships, units: &units }))
}

/// Requires the caller to manage the organisation's webhooks (FORBIDDEN says who may), and says
/// who acts: through the first serving partnership they coordinate, if any (whose audit log
/// shows it).
pub async fn authorise(ctx: &Context<'_>, organisation_id: i32) -> Result<By, AppError> {
    let viewer = ctx.viewer()?;
    let identity = viewer.identity().ok_or(AppError::Unauthenticated)?;
    let (partnerships, units) = managers(ctx, organisation_id).await?;
    viewer.require(Action::ManageWebhooks { partnerships: &partnerships, units: &units })?;
    let partnership_id = partnerships.iter().copied().find(|p| viewer.is_coordinator_of(*p));
    let actor = Actor::Person { person_id: identity.person_id, token_id: identity.token_id };
    Ok(By { actor, partnership_id })
}

/// The endpoint with id `id` if the caller may manage it; `None` as if it did not exist.
pub async fn visible_webhook(ctx: &Context<'_>, id: i32) -> Result<Option<WebhookEndpoint>, AppError> {
    let Some(found) = ctx.loader()?.load_one(WebhookById(id)).await? else {
        return Ok(None);
    };
    Ok(may_manage(ctx, found.organisation_id).await?.then_some(WebhookEndpoint(found)))
}

/// `Organisation.webhooks`: its endpoints in the order registered, for those who may manage them
/// (an empty page for anyone else).
pub async fn webhooks_of(
    ctx: &Context<'_>,
    organisation_id: i32,
    args: PageArgs,
) -> Result<Page<WebhookEndpoint>> {
    let endpoints = if may_manage(ctx, organisation_id).await? {
        ctx.loader()?.load_one(WebhooksOfOrganisation(organisation_id)).await?.unwrap_or_default()
    } else {
        Vec::new()
    };
    let items = endpoints.into_iter().map(WebhookEndpoint).collect();
    Ok(paginate(items, args, |e: &WebhookEndpoint| i64::from(e.0.id)))
}
