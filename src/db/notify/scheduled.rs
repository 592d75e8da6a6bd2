//! The rows the scheduled notices (`notify::schedule`) look at, and their markers: rounds,
//! commissions and open milestones whose notice is unmarked and whose moment has come or is near,
//! read without a transaction through partial indexes (migration 000017); and the one write
//! transaction that queues a pass's deliveries and sets its markers, each only where none is set,
//! so passes on several instances write each notice once.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use entity::{
    commission,
    enums::{CommissionStatus, RoundStatus},
    milestone, round,
};
/// The error of the database, named for the scan, which speaks no SQL itself.
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, sea_query::Expr};

use crate::db::{
    Db,
    notify::deliveries::{self, NewDelivery},
};

/// The rows a pass looks at.
#[derive(Debug, Default)]
pub struct Waiting {
    /// Rounds not yet told closed, with an opening untold, or a closing untold within
    /// `closing_notice`, or closed.
    pub rounds: Vec<round::Model>,
    /// Commissions past their draft with an untold deadline within `deadline_notice`.
    pub commissions: Vec<commission::Model>,
    /// Open milestones with an untold due date within `deadline_notice`, each with its commission.
    pub milestones: Vec<(milestone::Model, Option<commission::Model>)>,
}

impl Waiting {
    pub fn is_empty(&self) -> bool {
        self.rounds.is_empty() && self.commissions.is_empty() && self.milestones.is_empty()
    }
}

/// What waits at `now`: three indexed reads (a fourth for the milestones' commissions, if any).
pub async fn waiting(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    closing_notice: TimeDelta,
    deadline_notice: TimeDelta,
) -> Result<Waiting, DbErr> {
    let rounds = round::Entity::find()
        .filter(round::Column::ClosedNotifiedAt.is_null())
        .filter(
            Condition::any()
                .add(round::Column::OpenedNotifiedAt.is_null())
                .add(
                    Condition::all()
                        .add(round::Column::ClosingNotifiedAt.is_null())
                        .add(round::Column::ClosesAt.lte(now + closing_notice)),
                )
                .add(round::Column::Status.eq(RoundStatus::Closed)),
        )
        .all(db)
        .await?;
    let commissions = commission::Entity::find()
        .filter(commission::Column::DueNotifiedAt.is_null())
        .filter(commission::Column::Deadline.lte(now + deadline_notice))
        .filter(commission::Column::Status.ne(CommissionStatus::Draft))
        .all(db)
        .await?;
    let milestones = milestone::Entity::find()
        .filter(milestone::Column::DueNotifiedAt.is_null())
        .filter(milestone::Column::DoneAt.is_null())
        .filter(milestone::Column::DueAt.lte(now + deadline_notice))
        .all(db)
        .await?;
    let parents: HashMap<i32, commission::Model> = if milestones.is_empty() {
        HashMap::new()
    } else {
        commission::Entity::find()
            .filter(commission::Column::Id.is_in(milestones.iter().map(|m| m.commission_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    };
    let milestones = milestones
        .into_iter()
        .map(|m| {
            let parent = parents.get(&m.commission_id).cloned();
            (m, parent)
        })
        .collect();
    Ok(Waiting { rounds, commissions, milestones })
}

/// The rows a pass marks, by marker.
#[derive(Debug, Default)]
pub struct Marks {
    pub opened: Vec<i32>,
    pub closing: Vec<i32>,
    pub closed: Vec<i32>,
    pub commissions: Vec<i32>,
    pub milestones: Vec<i32>,
}

impl Marks {
    pub fn len(&self) -> usize {
        self.opened.len()
            + self.closing.len()
            + self.closed.len()
            + self.commissions.len()
            + self.milestones.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Queues `planned` (none twice: `deliveries::enqueue`) and sets the markers of `marks` to `now`,
/// each only where none is set, in one write transaction.
pub async fn write(db: &Db, planned: &[NewDelivery], marks: &Marks, now: DateTime<Utc>) -> Result<(), DbErr> {
    let txn = db.begin_write().await?;
    deliveries::enqueue(&txn, planned).await?;
    use round::Column as R;
    for (ids, column) in [
        (&marks.opened, R::OpenedNotifiedAt),
        (&marks.closing, R::ClosingNotifiedAt),
        (&marks.closed, R::ClosedNotifiedAt),
    ] {
        set_marker::<round::Entity>(&txn, ids, R::Id, column, now).await?;
    }
    use commission::Column as C;
    set_marker::<commission::Entity>(&txn, &marks.commissions, C::Id, C::DueNotifiedAt, now).await?;
    use milestone::Column as M;
    set_marker::<milestone::Entity>(&txn, &marks.milestones, M::Id, M::DueNotifiedAt, now).await?;
    txn.commit().await
}

/// Sets `column` to `now` on the rows `ids` of `E` where it is not set.
async fn set_marker<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: &[i32],
    id: E::Column,
    column: E::Column,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    E::update_many()
        .col_expr(column, Expr::value(now))
        .filter(id.is_in(ids.iter().copied()))
        .filter(column.is_null())
        .exec(db)
        .await?;
    Ok(())
}
