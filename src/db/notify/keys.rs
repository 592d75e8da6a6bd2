//! The hub's signing key: 32 random bytes made on first start and kept in `hub_key`, so every
//! instance on the database, and every restart, signs and checks links with the same key.

use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use entity::hub_key;
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait};

use crate::db::Db;

/// The name of the key that signs the links in mails.
const SIGNING: &str = "signing";

/// The signing key, made (at random) if the database has none yet. Instances starting at once
/// each offer one; the first stored is the one all of them read back.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn signing_key(db: &Db) -> Result<Vec<u8>, DbErr> {
    let conn = db.background();
    if let Some(key) = hub_key::Entity::find_by_id(SIGNING).one(conn).await? {
        return decode(&key.secret);
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|e| DbErr::Custom(format!("no randomness for the hub's key: {e}")))?;
    hub_key::Entity::insert(hub_key::ActiveModel {
        name: Set(SIGNING.to_owned()),
        secret: Set(STANDARD.encode(fresh)),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec_without_returning(conn)
    .await?;
    let stored = hub_key::Entity::find_by_id(SIGNING)
        .one(conn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the hub's signing key".into()))?;
    decode(&stored.secret)
}

fn decode(secret: &str) -> Result<Vec<u8>, DbErr> {
    STANDARD.decode(secret).map_err(|e| DbErr::Custom(format!("the hub's signing key is not base64: {e}")))
}
