//! Institutions' profiles (`institution_theme`, `institution_product_type`): setting one, reading
//! them for a page of institutions, and the institutions an opened commission is meant for.
//!
//! The rule is `domain::institutions::matches`; [`matching_institutions`] says it in SQL, for
//! every institution in one statement, so the notification fan-out costs the same however many
//! institutions there are.

use std::collections::HashMap;

use entity::{
    commission, commission_need, institution, institution_product_type, institution_theme, need_theme,
    organisation, product_type, theme,
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Related,
    sea_query::{Condition, Expr, ExprTrait, IntoIden, Query, SelectStatement},
};
use serde_json::json;

use crate::db::{
    Db, Effect, NodeType, WriteError,
    audit::{self, Actor},
};

/// The audit action of a profile's change.
pub const PROFILE_CHANGED: &str = "institution.profile";

/// Replaces an institution's profile with `themes` and `product_types` (each id once: see
/// `domain::institutions::distinct`) in one transaction, with its audit event
/// (`institution.profile`, in the log of the partnership the institution is registered with).
/// An institution, theme or product type that does not exist is `NotFound` on its field.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_profile(
    db: &Db,
    actor: Actor,
    institution_id: i32,
    themes: &[i32],
    product_types: &[i32],
) -> Result<institution::Model, WriteError> {
    let txn = db.begin_write().await?;
    let found = institution::Entity::find_by_id(institution_id)
        .one(&txn)
        .await?
        .ok_or(WriteError::NotFound { field: "institution" })?;
    // A global id is taken without a look-up; these say whether what it names is there.
    if !all_exist::<theme::Entity>(&txn, theme::Column::Id, themes).await? {
        return Err(WriteError::NotFound { field: "themes" });
    }
    if !all_exist::<product_type::Entity>(&txn, product_type::Column::Id, product_types).await? {
        return Err(WriteError::NotFound { field: "productTypes" });
    }
    institution_theme::Entity::delete_many()
        .filter(institution_theme::Column::InstitutionId.eq(institution_id))
        .exec(&txn)
        .await?;
    institution_product_type::Entity::delete_many()
        .filter(institution_product_type::Column::InstitutionId.eq(institution_id))
        .exec(&txn)
        .await?;
    let theme_rows = themes.iter().map(|&theme_id| institution_theme::ActiveModel {
        institution_id: Set(institution_id),
        theme_id: Set(theme_id),
    });
    institution_theme::Entity::insert_many(theme_rows).exec_without_returning(&txn).await?;
    let product_type_rows =
        product_types.iter().map(|&product_type_id| institution_product_type::ActiveModel {
            institution_id: Set(institution_id),
            product_type_id: Set(product_type_id),
        });
    institution_product_type::Entity::insert_many(product_type_rows).exec_without_returning(&txn).await?;
    let event = audit::Event {
        action: PROFILE_CHANGED,
        target_type: NodeType::Institution,
        target_id: institution_id,
        partnership_id: Some(found.partnership_id),
        detail: Some(json!({ "themes": themes, "productTypes": product_types })),
    };
    audit::record(&txn, actor, event).await?;
    db.commit(txn, Effect::Changed(NodeType::Institution, institution_id)).await?;
    Ok(found)
}

/// Whether a row with each of `ids` (distinct) is in the table of `column` (one statement, none
/// for no ids).
async fn all_exist<E: EntityTrait>(
    db: &impl ConnectionTrait,
    column: E::Column,
    ids: &[i32],
) -> Result<bool, DbErr>
where
    E::Model: Sync,
{
    if ids.is_empty() {
        return Ok(true);
    }
    let found = E::find().filter(column.is_in(ids.iter().copied())).count(db).await?;
    Ok(found == ids.len() as u64)
}

/// The themes in the profiles of `institution_ids`, by institution, in id order (one statement).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn themes_of(
    db: &impl ConnectionTrait,
    institution_ids: &[i32],
) -> Result<HashMap<i32, Vec<theme::Model>>, DbErr> {
    use institution_theme::{Column, Entity, Model};
    linked::<Entity, theme::Entity>(
        db,
        Column::InstitutionId,
        institution_ids,
        theme::Column::Id,
        |l: &Model| l.institution_id,
    )
    .await
}

/// The product types in the profiles of `institution_ids`, by institution, in id order (one
/// statement).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn product_types_of(
    db: &impl ConnectionTrait,
    institution_ids: &[i32],
) -> Result<HashMap<i32, Vec<product_type::Model>>, DbErr> {
    use institution_product_type::{Column, Entity, Model};
    let order = product_type::Column::Id;
    linked::<Entity, product_type::Entity>(db, Column::InstitutionId, institution_ids, order, |l: &Model| {
        l.institution_id
    })
    .await
}

/// The rows of `R` that the link table `L` ties to `institution_ids`, by institution, ordered by
/// `order`: one statement.
async fn linked<L, R>(
    db: &impl ConnectionTrait,
    institution_column: L::Column,
    institution_ids: &[i32],
    order: R::Column,
    institution_of: fn(&L::Model) -> i32,
) -> Result<HashMap<i32, Vec<R::Model>>, DbErr>
where
    L: EntityTrait + Related<R>,
    R: EntityTrait,
{
    let rows = L::find()
        .filter(institution_column.is_in(institution_ids.iter().copied()))
        .find_also_related(R::default())
        .order_by_asc(order)
        .all(db)
        .await?;
    let mut grouped: HashMap<i32, Vec<R::Model>> = HashMap::new();
    for (link, row) in rows {
        if let Some(row) = row {
            grouped.entry(institution_of(&link)).or_default().push(row);
        }
    }
    Ok(grouped)
}

/// The ids of the institutions a commission is meant for, in order: those whose profile it
/// matches (`domain::institutions::matches`: a list left empty is not narrowed; a commission's
/// themes are those of the needs it answers), leaving out an institution whose organisation is
/// closed. One statement, whatever the number of institutions; none for a commission that does
/// not exist. The notification fan-out calls this when a commission opens.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn matching_institutions(db: &impl ConnectionTrait, commission_id: i32) -> Result<Vec<i32>, DbErr> {
    institution::Entity::find()
        .select_only()
        .column(institution::Column::Id)
        .filter(matching(commission_id))
        .order_by_asc(institution::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// The condition on `institution`: the commission exists, the institution is not closed, its
/// themes are not narrowed or one is a theme of the commission's needs, and its product types are
/// not narrowed or hold the commission's.
fn matching(commission_id: i32) -> Condition {
    use institution_product_type as ipt;
    use institution_theme as it;
    let narrowed_by_theme = rows_of_profile(it::Entity, it::Column::InstitutionId);
    let shares_a_theme = rows_of_profile(it::Entity, it::Column::InstitutionId)
        .inner_join(
            need_theme::Entity,
            Expr::col((need_theme::Entity, need_theme::Column::ThemeId))
                .equals((it::Entity, it::Column::ThemeId)),
        )
        .inner_join(
            commission_need::Entity,
            Expr::col((commission_need::Entity, commission_need::Column::NeedId))
                .equals((need_theme::Entity, need_theme::Column::NeedId)),
        )
        .and_where(
            Expr::col((commission_need::Entity, commission_need::Column::CommissionId)).eq(commission_id),
        )
        .to_owned();
    let narrowed_by_product_type = rows_of_profile(ipt::Entity, ipt::Column::InstitutionId);
    let holds_its_product_type = rows_of_profile(ipt::Entity, ipt::Column::InstitutionId)
        .inner_join(
            commission::Entity,
            Expr::col((commission::Entity, commission::Column::ProductTypeId))
                .equals((ipt::Entity, ipt::Column::ProductTypeId)),
        )
        .and_where(Expr::col((commission::Entity, commission::Column::Id)).eq(commission_id))
        .to_owned();
    let commission_exists = Query::select()
        .expr(Expr::val(1))
        .from(commission::Entity)
        .and_where(Expr::col((commission::Entity, commission::Column::Id)).eq(commission_id))
        .to_owned();
    let closed = Query::select()
        .expr(Expr::val(1))
        .from(organisation::Entity)
        .and_where(
            Expr::col((organisation::Entity, organisation::Column::Id))
                .equals((institution::Entity, institution::Column::OrganisationId)),
        )
        .and_where(Expr::col((organisation::Entity, organisation::Column::ClosedAt)).is_not_null())
        .to_owned();
    Condition::all()
        .add(Expr::exists(commission_exists))
        .add(Expr::exists(closed).not())
        .add(Condition::any().add(Expr::exists(narrowed_by_theme).not()).add(Expr::exists(shares_a_theme)))
        .add(
            Condition::any()
                .add(Expr::exists(narrowed_by_product_type).not())
                .add(Expr::exists(holds_its_product_type)),
        )
}

/// `SELECT 1 FROM table WHERE table.institution_id = institution.id`: the rows of the outer
/// query's institution in a profile table.
fn rows_of_profile(table: impl IntoIden + Copy + 'static, institution_id: impl IntoIden) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(table)
        .and_where(Expr::col((table, institution_id)).equals((institution::Entity, institution::Column::Id)))
        .to_owned()
}
