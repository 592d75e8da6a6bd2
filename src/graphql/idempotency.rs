//! `idempotencyKey` on create-style mutations: a retried request (after a timeout or a dropped
//! connection) returns the original result instead of creating twice. See `db::idempotency`.

use async_graphql::{Context, Value};
use sha2::{Digest, Sha256};

use crate::{
    db::idempotency::{self, Key, Prior},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        user_error::{UserError, UserErrorCode, UserErrors},
    },
};

/// The longest key a caller may send.
pub const MAX_KEY: usize = 200;

/// A mutation payload that can be answered again from what the first request created.
pub trait Replayable: Sized {
    /// The payload of a refused key.
    fn refused(errors: Vec<UserError>) -> Self;
    /// The payload of the original result, loaded again by its key.
    fn replay(ctx: &Context<'_>, id: i32) -> impl Future<Output = Result<Self>> + Send;
}

/// A value with its object keys sorted, so equal inputs hash alike whatever the key order.
fn canonical(value: &Value) -> serde_json::Value {
    match value {
        Value::Object(fields) => {
            let mut sorted: Vec<_> = fields.iter().collect();
            sorted.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            serde_json::Value::Object(
                sorted.into_iter().map(|(k, v)| (k.to_string(), canonical(v))).collect(),
            )
        }
        Value::List(items) => serde_json::Value::Array(items.iter().map(canonical).collect()),
        other => serde_json::to_value(other).unwrap_or_default(),
    }
}

/// SHA-256 of the field's arguments (variables substituted), without the key itself.
fn input_hash(ctx: &Context<'_>) -> Result<String> {
    let mut arguments = ctx.field().arguments().map_err(|e| AppError::bad_input(e.message))?;
    for (_, value) in &mut arguments {
        if let Value::Object(fields) = value {
            fields.shift_remove("idempotencyKey");
        }
    }
    let arguments: Vec<_> =
        arguments.iter().map(|(name, value)| (name.to_string(), canonical(value))).collect();
    let text = serde_json::to_string(&arguments).unwrap_or_default();
    Ok(format!("{:x}", Sha256::digest(text.as_bytes())))
}

/// Runs `work` once per key: a replay with the same input returns the original result, one
/// with another input is a CONFLICT user error, and without a key `work` just runs.
pub async fn once<P: Replayable>(
    ctx: &Context<'_>,
    key: Option<&str>,
    work: impl Future<Output = Result<P>>,
) -> Result<P> {
    let Some(key) = key else {
        return work.await;
    };
    let person_id = ctx.viewer()?.require_person()?;
    if key.is_empty() || key.chars().count() > MAX_KEY || key.chars().any(char::is_control) {
        return Ok(P::refused(UserErrors::one(
            "idempotencyKey",
            UserErrorCode::BadUserInput,
            format!("an idempotency key has 1 to {MAX_KEY} characters and no control characters"),
        )));
    }
    let key = Key {
        person_id,
        key: key.to_owned(),
        operation: ctx.field().name().to_owned(),
        input_hash: input_hash(ctx)?,
    };
    let db = ctx.db()?;
    match idempotency::lookup(db.conn(), &key).await? {
        Prior::Same(id) => return P::replay(ctx, id).await,
        Prior::Different => {
            return Ok(P::refused(UserErrors::one(
                "idempotencyKey",
                UserErrorCode::Conflict,
                "this idempotency key was used for a different request",
            )));
        }
        Prior::None => {}
    }
    let result = idempotency::pending(key.clone(), work).await;
    // The same key committed first by a concurrent request rolled this one back: answer as the
    // replay it is.
    if result.is_err()
        && let Prior::Same(id) = idempotency::lookup(db.conn(), &key).await?
    {
        return P::replay(ctx, id).await;
    }
    result
}
