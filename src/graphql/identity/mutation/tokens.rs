//! Mutations on API tokens: `createToken` (the secret shown once) and `revokeToken`. Anyone for
//! their own tokens; coordinators for the people of their region, within the regions they
//! coordinate.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::actor;
use crate::{
    auth::Action,
    db::identity::{self, TokenLimits},
    domain::identity::{MAX_LIVE_TOKENS, TokenName},
    error::Result,
    graphql::{
        context::ContextExt,
        identity::types::{ApiToken, manageable_token, person_scope, visible_person},
        ids::{GlobalId, NodeType},
        loaders::PersonById,
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

/// The tokens half of `IdentityMutation`.
#[derive(Default)]
pub struct TokensMutation;

#[derive(InputObject)]
pub struct CreateTokenInput {
    /// Whose token; the caller's own when left out. Coordinators may create tokens for people
    /// of their region: such a token carries the person's roles only in the regions the
    /// coordinator coordinates. A person holds at most 20 live tokens.
    pub person: Option<ID>,
    /// What the token is for, e.g. "dashboard".
    pub name: String,
    /// When the token stops working; never when left out.
    #[graphql(validator(custom = "crate::graphql::time::Storable"))]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct CreateTokenPayload {
    pub token: Option<ApiToken>,
    /// The secret to send as `Authorization: Bearer <secret>`. Shown this once; only a hash is kept.
    pub secret: Option<String>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RevokeTokenInput {
    pub token: ID,
}

#[derive(SimpleObject)]
pub struct RevokeTokenPayload {
    pub token: Option<ApiToken>,
    pub user_errors: Vec<UserError>,
}

#[Object]
impl TokensMutation {
    /// Creates an API token for the caller (or, for a coordinator, for a person of their region)
    /// and returns its secret once.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_token(&self, ctx: &Context<'_>, input: CreateTokenInput) -> Result<CreateTokenPayload> {
        let viewer = ctx.viewer()?;
        let actor = actor(viewer)?;
        let me = viewer.require_person()?;
        let mut errors = UserErrors::default();
        let failed = |errors: UserErrors| CreateTokenPayload {
            token: None,
            secret: None,
            user_errors: errors.into_vec(),
        };
        let person_id = match &input.person {
            Some(id) => errors.id("person", GlobalId::decode_as(id, NodeType::Person)),
            None => Some(me),
        };
        let name = errors.check("name", TokenName::parse(&input.name));
        if input.expires_at.is_some_and(|at| at <= Utc::now()) {
            errors.add("expiresAt", UserErrorCode::BadUserInput, "the expiry must be in the future");
        }
        let Some(person_id) = person_id else {
            return Ok(failed(errors));
        };
        let Some(person) = visible_person(ctx, person_id).await? else {
            errors.add("person", UserErrorCode::NotFound, "no such person");
            return Ok(failed(errors));
        };
        let scope = person_scope(ctx, &person).await?;
        viewer.require(Action::MintTokenFor(&scope))?;
        let (Some(name), true) = (name, errors.is_empty()) else {
            return Ok(failed(errors));
        };
        // No token carries more than its minter holds: one's own new token keeps the bound of the
        // token it was minted with; a token for someone else carries only the regions the minter
        // coordinates.
        let (bound, bound_by) = if person.id == me {
            (viewer.token_bound().map(<[i32]>::to_vec), viewer.token_bound_by())
        } else {
            (Some(viewer.coordinated_regions()), Some(me))
        };
        let limits = TokenLimits { bound, bound_by, live_tokens: Some(MAX_LIVE_TOKENS) };
        Ok(
            match identity::create_token(
                ctx.db()?,
                actor,
                person.id,
                name,
                input.expires_at,
                scope.primary_region(),
                limits,
            )
            .await
            {
                Ok(created) => CreateTokenPayload {
                    token: Some(ApiToken(created.token)),
                    secret: Some(created.secret),
                    user_errors: Vec::new(),
                },
                Err(err) => {
                    CreateTokenPayload { token: None, secret: None, user_errors: from_write_error(err)? }
                }
            },
        )
    }

    /// Revokes a token at once (on every instance within seconds). Anyone may revoke their own;
    /// coordinators those of people in their region.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn revoke_token(&self, ctx: &Context<'_>, input: RevokeTokenInput) -> Result<RevokeTokenPayload> {
        let viewer = ctx.viewer()?;
        let actor = actor(viewer)?;
        let mut errors = UserErrors::default();
        let failed = |errors: Vec<UserError>| RevokeTokenPayload { token: None, user_errors: errors };
        let Some(id) = errors.id("token", GlobalId::decode_as(&input.token, NodeType::ApiToken)) else {
            return Ok(failed(errors.into_vec()));
        };
        // A token the caller may not manage is one they may not see: NOT_FOUND, like a missing one.
        let owner = match manageable_token(ctx, id).await? {
            Some(token) => ctx.loader()?.load_one(PersonById(token.person_id)).await?,
            None => None,
        };
        let Some(owner) = owner else {
            return Ok(failed(UserErrors::one("token", UserErrorCode::NotFound, "no such token")));
        };
        let scope = person_scope(ctx, &owner).await?;
        let result = identity::revoke_token(ctx.db()?, actor, id, scope.primary_region()).await;
        ctx.authenticator()?.forget_all();
        Ok(match result {
            Ok(token) => RevokeTokenPayload { token: Some(ApiToken(token)), user_errors: Vec::new() },
            Err(err) => failed(from_write_error(err)?),
        })
    }
}
