//! Registering an organisation's webhook endpoints and keeping them: rotate the secret (the old
//! one signs beside the new for a day), disable, enable, delete. Those who may manage the
//! organisation's webhooks do this; an endpoint they may not manage is NOT_FOUND, as if it did
//! not exist. A URL the SSRF guard refuses is a `BAD_USER_INPUT` user error with a stable message
//! (`notify::webhook::REFUSED_ADDRESS`, ...). Secrets are in the payload once, never again.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{enums::WebhookEventKind, webhook_endpoint};

use crate::{
    db::{
        WriteError,
        notify::webhooks::{self as store, NewEndpoint},
    },
    domain::{needs::text, webhooks::MAX_DESCRIPTION_CHARS},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        ids::{GlobalId, NodeType},
        keys,
        loaders::OrganisationById,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
        webhooks::types::{WebhookEndpoint, authorise, visible_webhook},
    },
    notify::webhook::{Guard, generate_secret},
};

#[derive(Default)]
pub struct WebhooksMutation;

#[derive(InputObject)]
pub struct RegisterWebhookInput {
    /// The organisation it receives events for (an id, a typed row's id, a key or an official
    /// number).
    pub organisation: ID,
    /// Where to POST: an `https://` URL whose host resolves to public addresses only.
    pub url: String,
    /// The kinds of event to receive; at least one.
    pub events: Vec<WebhookEventKind>,
    /// What it is for (at most 200 characters).
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct WebhookInput {
    pub webhook: ID,
}

#[derive(InputObject)]
pub struct DisableWebhookInput {
    pub webhook: ID,
    /// Why, for whoever looks later (at most 200 characters).
    pub reason: Option<String>,
}

/// The endpoint and its new secret: the only time the hub shows the secret.
#[derive(SimpleObject)]
pub struct WebhookSecretPayload {
    pub webhook: Option<WebhookEndpoint>,
    /// `whsec_...`: give it to the receiver, which verifies each delivery with it. Shown once.
    pub secret: Option<String>,
    /// After a rotation: until when the secret before this one signs too (both sign meanwhile).
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub user_errors: Vec<UserError>,
}

impl WebhookSecretPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self { webhook: None, secret: None, previous_secret_expires_at: None, user_errors: errors }
    }
}

#[derive(SimpleObject)]
pub struct WebhookPayload {
    pub webhook: Option<WebhookEndpoint>,
    pub user_errors: Vec<UserError>,
}

impl WebhookPayload {
    fn failed(errors: Vec<UserError>) -> Self {
        Self { webhook: None, user_errors: errors }
    }

    fn of(written: Result<webhook_endpoint::Model, WriteError>) -> Result<Self> {
        Ok(match written {
            Ok(model) => Self { webhook: Some(WebhookEndpoint(model)), user_errors: Vec::new() },
            Err(err) => Self::failed(from_write_error(err)?),
        })
    }
}

#[derive(SimpleObject)]
pub struct DeleteWebhookPayload {
    /// The id the endpoint had.
    pub deleted_id: Option<ID>,
    pub user_errors: Vec<UserError>,
}

/// The endpoint `id` names if the caller may manage it, or a user error on `webhook` (a
/// malformed id, or NOT_FOUND as if it did not exist).
async fn managed(ctx: &Context<'_>, id: &ID) -> Result<Result<WebhookEndpoint, Vec<UserError>>, AppError> {
    ctx.viewer()?.require_person()?;
    let mut errors = UserErrors::default();
    let Some(key) = errors.id("webhook", GlobalId::decode_as(id, NodeType::WebhookEndpoint)) else {
        return Ok(Err(errors.into_vec()));
    };
    Ok(match visible_webhook(ctx, key).await? {
        Some(found) => Ok(found),
        None => Err(UserErrors::one("webhook", UserErrorCode::NotFound, "no such webhook")),
    })
}

/// An optional text of at most [`MAX_DESCRIPTION_CHARS`], or a user error on `field`.
fn short_text(errors: &mut UserErrors, field: &'static str, raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    text(field, raw, 0, MAX_DESCRIPTION_CHARS)
        .map_err(|p| errors.add(p.field, UserErrorCode::BadUserInput, p.message))
        .ok()
        .filter(|t| !t.is_empty())
}

// Each resolver's work is boxed: the root mutation's future holds its largest field's inline, and
// every mutation's execution carries that on its stack (a debug build's test thread overflowed).
#[Object]
impl WebhooksMutation {
    /// Registers a webhook endpoint for an organisation (a coordinator of a partnership serving
    /// it, or a unit coordinator of it or a unit above it). The answer carries the endpoint's
    /// secret, shown this once. A URL that is not `https://`, or whose host is or resolves to a
    /// loopback, private or link-local address, is refused (BAD_USER_INPUT) unless the hub's
    /// operator allows such addresses.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        input: RegisterWebhookInput,
    ) -> Result<WebhookSecretPayload> {
        Box::pin(async move {
            ctx.viewer()?.require_person()?;
            let mut errors = UserErrors::default();
            let organisation =
                keys::named_organisation(ctx, &mut errors, "organisation", &input.organisation).await?;
            let found = match organisation {
                Some(id) => ctx.loader()?.load_one(OrganisationById(id)).await?,
                None => None,
            };
            let Some(organisation) = found else {
                if errors.is_empty() {
                    errors.add("organisation", UserErrorCode::NotFound, "no such organisation");
                }
                return Ok(WebhookSecretPayload::failed(errors.into_vec()));
            };
            let by = authorise(ctx, organisation.id).await?;
            if input.events.is_empty() {
                errors.add("events", UserErrorCode::BadUserInput, "name at least one kind of event");
            }
            let description = short_text(&mut errors, "description", input.description.as_deref());
            let guard = *ctx
                .data::<Guard>()
                .map_err(|_| AppError::Internal("no webhook guard in the context".into()))?;
            let url = match guard.check(&input.url).await {
                Ok(url) => Some(url),
                Err(refusal) => {
                    errors.add("url", UserErrorCode::BadUserInput, refusal.to_string());
                    None
                }
            };
            let (Some(url), true) = (url, errors.is_empty()) else {
                return Ok(WebhookSecretPayload::failed(errors.into_vec()));
            };
            let secret = generate_secret()?;
            let new = NewEndpoint {
                organisation_id: organisation.id,
                url: url.to_string(),
                events: input.events,
                description,
            };
            Ok(match store::register(ctx.db()?, by, new, &secret).await {
                Ok(made) => WebhookSecretPayload {
                    webhook: Some(WebhookEndpoint(made)),
                    secret: Some(secret),
                    previous_secret_expires_at: None,
                    user_errors: Vec::new(),
                },
                Err(err) => WebhookSecretPayload::failed(from_write_error(err)?),
            })
        })
        .await
    }

    /// Gives an endpoint a new secret, shown this once. The one it replaces goes on signing
    /// beside it for 24 hours (every delivery carries both signatures), so the receiver can
    /// switch without losing a message; an older one stops at once.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: WebhookInput,
    ) -> Result<WebhookSecretPayload> {
        Box::pin(async move {
            let found = match managed(ctx, &input.webhook).await? {
                Ok(found) => found,
                Err(errors) => return Ok(WebhookSecretPayload::failed(errors)),
            };
            let by = authorise(ctx, found.0.organisation_id).await?;
            let secret = generate_secret()?;
            Ok(match store::rotate(ctx.db()?, by, found.0.id, &secret).await {
                Ok((model, until)) => WebhookSecretPayload {
                    webhook: Some(WebhookEndpoint(model)),
                    secret: Some(secret),
                    previous_secret_expires_at: Some(until),
                    user_errors: Vec::new(),
                },
                Err(err) => WebhookSecretPayload::failed(from_write_error(err)?),
            })
        })
        .await
    }

    /// Stops deliveries to an endpoint until it is enabled again.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn disable_webhook(&self, ctx: &Context<'_>, input: DisableWebhookInput) -> Result<WebhookPayload> {
        Box::pin(async move {
            let found = match managed(ctx, &input.webhook).await? {
                Ok(found) => found,
                Err(errors) => return Ok(WebhookPayload::failed(errors)),
            };
            let mut errors = UserErrors::default();
            let reason = short_text(&mut errors, "reason", input.reason.as_deref());
            if !errors.is_empty() {
                return Ok(WebhookPayload::failed(errors.into_vec()));
            }
            let by = authorise(ctx, found.0.organisation_id).await?;
            let reason = reason.unwrap_or_else(|| "disabled through the API".to_owned());
            WebhookPayload::of(store::set_disabled(ctx.db()?, by, found.0.id, Some(reason)).await)
        })
        .await
    }

    /// Starts deliveries to an endpoint again, with its run of failures reset.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn enable_webhook(&self, ctx: &Context<'_>, input: WebhookInput) -> Result<WebhookPayload> {
        Box::pin(async move {
            let found = match managed(ctx, &input.webhook).await? {
                Ok(found) => found,
                Err(errors) => return Ok(WebhookPayload::failed(errors)),
            };
            let by = authorise(ctx, found.0.organisation_id).await?;
            WebhookPayload::of(store::set_disabled(ctx.db()?, by, found.0.id, None).await)
        })
        .await
    }

    /// Deletes an endpoint with its secrets and its attempts.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn delete_webhook(&self, ctx: &Context<'_>, input: WebhookInput) -> Result<DeleteWebhookPayload> {
        Box::pin(async move {
            let found = match managed(ctx, &input.webhook).await? {
                Ok(found) => found,
                Err(errors) => return Ok(DeleteWebhookPayload { deleted_id: None, user_errors: errors }),
            };
            let by = authorise(ctx, found.0.organisation_id).await?;
            Ok(match store::delete(ctx.db()?, by, found.0.id).await {
                Ok(_) => {
                    DeleteWebhookPayload { deleted_id: Some(found.global_id()), user_errors: Vec::new() }
                }
                Err(err) => DeleteWebhookPayload { deleted_id: None, user_errors: from_write_error(err)? },
            })
        })
        .await
    }
}
