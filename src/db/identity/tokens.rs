//! Writes of tokens: mint one (within its owner's limit of live tokens, optionally bound to
//! regions), revoke one, each one transaction with its audit event; and note that one was used.

use chrono::{DateTime, Utc};
use entity::{api_token, api_token_partnership, person};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbErr, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect,
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor, Event},
    },
    domain::identity::TokenName,
};

/// Records that a token was used, at most once a minute per token (so reads stay reads).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn touch_token(db: &Db, token_id: i32, now: DateTime<Utc>) -> Result<(), DbErr> {
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, sea_orm::sea_query::Expr::value(now))
        .filter(api_token::Column::Id.eq(token_id))
        .filter(
            sea_orm::Condition::any()
                .add(api_token::Column::LastUsedAt.is_null())
                .add(api_token::Column::LastUsedAt.lt(now - chrono::Duration::minutes(1))),
        )
        .exec(db.background())
        .await?;
    Ok(())
}

/// A new token: the stored row and the secret, which is never stored and shown once.
pub struct CreatedToken {
    pub token: api_token::Model,
    pub secret: String,
}

/// What a new token may carry and how many a person may hold.
#[derive(Clone, Debug, Default)]
pub struct TokenLimits {
    /// The regions the token carries its owner's grants in; `None` for all of them (a token
    /// minted by its owner with an unbound token, or at the command line).
    pub bound: Option<Vec<i32>>,
    /// Whose coordination bounds a region-bound token (see `api_token.bound_by_person_id`).
    pub bound_by: Option<i32>,
    /// The most live (neither revoked nor expired) tokens the owner may hold; `None` at the
    /// command line.
    pub live_tokens: Option<u64>,
}

/// Mints a token for `person_id`. The minter (the actor) is recorded with it; the person's row
/// is locked while their live tokens are counted, so racing mints cannot pass the limit together.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_token(
    db: &Db,
    actor: Actor,
    person_id: i32,
    name: TokenName,
    expires_at: Option<DateTime<Utc>>,
    partnership_id: Option<i32>,
    limits: TokenLimits,
) -> Result<CreatedToken, WriteError> {
    let secret = crate::domain::token::generate()
        .map_err(|e| WriteError::Db(DbErr::Custom(format!("no randomness for a token: {e}"))))?;
    let txn = db.begin_write().await?;
    if person::Entity::find_by_id(person_id).lock_exclusive().one(&txn).await?.is_none() {
        return Err(WriteError::NotFound { field: "person" });
    }
    let now = Utc::now();
    if let Some(most) = limits.live_tokens {
        let live = api_token::Entity::find()
            .filter(api_token::Column::PersonId.eq(person_id))
            .filter(api_token::Column::RevokedAt.is_null())
            .filter(
                sea_orm::Condition::any()
                    .add(api_token::Column::ExpiresAt.is_null())
                    .add(api_token::Column::ExpiresAt.gt(now)),
            )
            .count(&txn)
            .await?;
        if live >= most {
            return Err(WriteError::Conflict {
                field: "person",
                message: format!(
                    "the person already holds {live} live tokens, the most allowed; revoke one (revokeToken) first"
                ),
            });
        }
    }
    let partnership_bound = limits.bound.is_some();
    let (minted_by_person_id, minted_by_token_id) = match actor {
        Actor::Person { person_id, token_id } => (Some(person_id), Some(token_id)),
        Actor::CommandLine | Actor::Hub | Actor::SignedLink { .. } => (None, None),
    };
    let token = api_token::ActiveModel {
        person_id: Set(person_id),
        name: Set(name.into_inner()),
        prefix: Set(secret.prefix),
        secret_hash: Set(secret.hash),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        last_used_at: Set(None),
        minted_by_person_id: Set(minted_by_person_id),
        minted_by_token_id: Set(minted_by_token_id),
        partnership_bound: Set(partnership_bound),
        bound_by_person_id: Set(limits.bound_by.filter(|_| partnership_bound)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let bound = limits.bound.unwrap_or_default();
    if !bound.is_empty() {
        api_token_partnership::Entity::insert_many(bound.iter().map(|&partnership_id| {
            api_token_partnership::ActiveModel {
                token_id: Set(token.id),
                partnership_id: Set(partnership_id),
            }
        }))
        .exec(&txn)
        .await?;
    }
    audit::record(
        &txn,
        actor,
        Event {
            action: "token.create",
            target_type: NodeType::ApiToken,
            target_id: token.id,
            partnership_id,
            detail: Some(
                json!({ "person": person_id, "boundToRegions": partnership_bound.then_some(&bound) }),
            ),
        },
    )
    .await?;
    db.commit(txn, Effect::Created(NodeType::ApiToken, token.id)).await?;
    Ok(CreatedToken { token, secret: secret.secret })
}

/// Revokes a token (once: revoking a revoked token changes nothing and logs nothing).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_token(
    db: &Db,
    actor: Actor,
    token_id: i32,
    partnership_id: Option<i32>,
) -> Result<api_token::Model, WriteError> {
    let txn = db.begin_write().await?;
    let Some(token) = api_token::Entity::find_by_id(token_id).one(&txn).await? else {
        return Err(WriteError::NotFound { field: "token" });
    };
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let mut active = token.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    let token = active.update(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "token.revoke",
            target_type: NodeType::ApiToken,
            target_id: token.id,
            partnership_id,
            detail: Some(json!({ "person": token.person_id })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::ApiToken, token_id)).await?;
    Ok(token)
}
