//! What a commission delivers: the knowledge summary (delivered, then published, when its needs
//! become ANSWERED), and the uptake the municipalities behind the needs record for it.

use chrono::Utc;
use entity::{commission, commission_need, enums::UptakeStatus, need, need_cosign, summary, uptake};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
};

use super::{find, shift};
use crate::{
    db::{Db, Effect, NodeType, WriteError, duplicate_is_conflict},
    domain::commissions::CommissionMove,
};

/// A delivered knowledge summary.
pub struct NewSummary {
    pub title: String,
    pub abstract_text: String,
    pub language: String,
    pub url: Option<String>,
    pub doi: Option<String>,
    pub authors: String,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn deliver(db: &Db, actor: i32, id: i32, new: NewSummary) -> Result<summary::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    shift(&txn, actor, read, CommissionMove::Deliver, None, None).await?;
    let saved = summary::ActiveModel {
        commission_id: Set(id),
        title: Set(new.title),
        abstract_text: Set(new.abstract_text),
        language: Set(new.language),
        url: Set(new.url),
        doi: Set(new.doi),
        authors: Set(new.authors),
        delivered_by_person_id: Set(actor),
        delivered_at: Set(Utc::now()),
        published_at: Set(None),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(duplicate_is_conflict("commission", "a summary has been delivered already"))?;
    db.commit(txn, Effect::Created(NodeType::Summary, saved.id)).await?;
    Ok(saved)
}

/// Publishes the delivered summary: it becomes public, the commission PUBLISHED and its needs
/// ANSWERED, all in one transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn publish(db: &Db, actor: i32, id: i32) -> Result<commission::Model, WriteError> {
    let txn = db.begin_write().await?;
    let read = find(&txn, id).await?;
    let saved = shift(&txn, actor, read, CommissionMove::Publish, None, None).await?;
    let delivered = summary::Entity::find()
        .filter(summary::Column::CommissionId.eq(id))
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "summary" })?;
    let mut model = delivered.into_active_model();
    model.published_at = Set(Some(Utc::now()));
    model.update(&txn).await?;
    db.commit(txn, Effect::Changed(NodeType::Commission, id)).await?;
    Ok(saved)
}

/// The municipalities behind the needs a commission answered (owners and co-signers).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn municipalities_behind(db: &impl ConnectionTrait, commission_id: i32) -> Result<Vec<i32>, DbErr> {
    let need_ids: Vec<i32> = commission_need::Entity::find()
        .filter(commission_need::Column::CommissionId.eq(commission_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.need_id)
        .collect();
    let mut municipalities: Vec<i32> = need::Entity::find()
        .filter(need::Column::Id.is_in(need_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|n| n.municipality_id)
        .collect();
    municipalities.extend(
        need_cosign::Entity::find()
            .filter(need_cosign::Column::NeedId.is_in(need_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.municipality_id),
    );
    municipalities.sort_unstable();
    municipalities.dedup();
    Ok(municipalities)
}

/// Records (or updates) whether a municipality used a published summary.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record_uptake(
    db: &Db,
    actor: i32,
    summary_id: i32,
    municipality_id: i32,
    status: UptakeStatus,
    note: Option<String>,
) -> Result<uptake::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = summary::Entity::find_by_id(summary_id)
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "summary" })?;
    if found.published_at.is_none() {
        return Err(WriteError::Conflict {
            field: "summary",
            message: "uptake is recorded for published summaries".into(),
        });
    }
    if !municipalities_behind(&txn, found.commission_id).await?.contains(&municipality_id) {
        return Err(WriteError::Invalid {
            field: "municipality",
            message: "only municipalities behind the answered needs record uptake".into(),
        });
    }
    let existing = uptake::Entity::find()
        .filter(uptake::Column::SummaryId.eq(summary_id))
        .filter(uptake::Column::MunicipalityId.eq(municipality_id))
        .one(&txn)
        .await?;
    let saved = match existing {
        Some(row) => {
            let mut model = row.into_active_model();
            model.status = Set(status);
            model.note = Set(note);
            model.person_id = Set(actor);
            model.recorded_at = Set(Utc::now());
            model.update(&txn).await?
        }
        None => {
            uptake::ActiveModel {
                summary_id: Set(summary_id),
                municipality_id: Set(municipality_id),
                status: Set(status),
                note: Set(note),
                person_id: Set(actor),
                recorded_at: Set(Utc::now()),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    db.commit(txn, Effect::Created(NodeType::Uptake, saved.id)).await?;
    Ok(saved)
}
