//! Idempotency keys of create-style mutations.
//!
//! A caller may send `idempotencyKey` with a create-style mutation. The first request with a key
//! stores it, with a hash of the input and what was created, in the same transaction as the
//! effect: `Db::commit`, given an `Effect::Created`, writes the key pending in this task (see
//! [`pending`]) just before it commits. A replay of the key finds the row and returns the original result; a replay with a
//! different input is refused. Two requests racing with one key cannot both commit: the unique
//! index on `(person_id, key)` rolls the second back, and it is answered as a replay.

use std::cell::RefCell;

use chrono::Utc;
use entity::idempotency_key;

use super::NodeType;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
};

/// A key and what it guards.
#[derive(Clone, Debug)]
pub struct Key {
    pub person_id: i32,
    pub key: String,
    pub operation: String,
    pub input_hash: String,
}

/// What an earlier request with the same key did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prior {
    /// Nothing yet.
    None,
    /// The same operation with the same input created this row (its key).
    Same(i32),
    /// The key was used for another operation or input.
    Different,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn lookup(db: &impl ConnectionTrait, key: &Key) -> Result<Prior, DbErr> {
    let found = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::PersonId.eq(key.person_id))
        .filter(idempotency_key::Column::Key.eq(key.key.as_str()))
        .one(db)
        .await?;
    Ok(match found {
        None => Prior::None,
        Some(row) if row.operation == key.operation && row.input_hash == key.input_hash => {
            Prior::Same(row.result_id)
        }
        Some(_) => Prior::Different,
    })
}

tokio::task_local! {
    static PENDING: RefCell<Option<Key>>;
}

/// Runs `work` (a mutation) with `key` pending: the first commit in it that created something
/// stores the key.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn pending<T>(key: Key, work: impl Future<Output = T>) -> T {
    PENDING.scope(RefCell::new(Some(key)), work).await
}

/// Called by `Db::commit` inside the transaction of a creation: stores the pending key, if any,
/// with what was created.
#[tracing::instrument(level = "debug", skip_all)]
pub(super) async fn store_pending(
    txn: &impl ConnectionTrait,
    created: NodeType,
    id: i32,
) -> Result<(), DbErr> {
    let Some(key) = PENDING.try_with(|p| p.borrow_mut().take()).ok().flatten() else {
        return Ok(());
    };
    idempotency_key::ActiveModel {
        person_id: Set(key.person_id),
        key: Set(key.key),
        operation: Set(key.operation),
        input_hash: Set(key.input_hash),
        result_type: Set(created.name().to_owned()),
        result_id: Set(id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}
