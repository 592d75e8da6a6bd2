//! Look-ups of people and tokens: a person by e-mail, the people of some regions, the regions
//! people are registered in, the regions tokens are bound to, and a person's tokens.

use std::collections::HashMap;

use entity::{api_token, api_token_partnership, membership, person, person_partnership};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait, JoinType, Order, Query},
};

use super::{M, R, T, membership_in, still_coordinated};
use crate::domain::identity::Email;

#[tracing::instrument(level = "debug", skip_all)]
pub async fn person_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find().filter(person::Column::Email.eq(email.as_str())).one(db).await
}

/// People whose home partnership is one of `partnership_ids`, who are registered in one, or who
/// hold a membership that counts in one (see `membership_in`), optionally
/// matching `search` in name or e-mail; ordered by id. One statement.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn people_in_regions(
    db: &impl ConnectionTrait,
    partnership_ids: &[i32],
    search: Option<&str>,
) -> Result<Vec<person::Model>, DbErr> {
    if partnership_ids.is_empty() {
        return Ok(Vec::new());
    }
    let regions = || partnership_ids.iter().copied();
    let mut members = Query::select();
    members
        .column((M, membership::Column::PersonId))
        .from_as(membership::Entity, M)
        .and_where(membership_in(partnership_ids));
    let registered = Query::select()
        .column(person_partnership::Column::PersonId)
        .from(person_partnership::Entity)
        .and_where(Expr::col(person_partnership::Column::PartnershipId).is_in(regions()))
        .to_owned();
    let people = person::Entity::find()
        .filter(
            Condition::any()
                .add(person::Column::HomePartnershipId.is_in(regions()))
                .add(person::Column::Id.in_subquery(members))
                .add(person::Column::Id.in_subquery(registered)),
        )
        .order_by_asc(person::Column::Id)
        .all(db)
        .await?;
    // Searching here keeps Unicode case folding the same on both databases ("Ø" and "ø").
    let needle = search.map(str::trim).filter(|s| !s.is_empty()).map(str::to_lowercase);
    Ok(people
        .into_iter()
        .filter(|p| {
            needle.as_ref().is_none_or(|n| p.name.to_lowercase().contains(n) || p.email.contains(n.as_str()))
        })
        .collect())
}

/// The regions several people are registered in besides their home regions, by person.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn registered_regions_of(
    db: &impl ConnectionTrait,
    person_ids: &[i32],
) -> Result<HashMap<i32, Vec<i32>>, DbErr> {
    let rows = person_partnership::Entity::find()
        .filter(person_partnership::Column::PersonId.is_in(person_ids.iter().copied()))
        .order_by_asc(person_partnership::Column::PartnershipId)
        .all(db)
        .await?;
    Ok(regions_by(rows.into_iter().map(|r| (r.person_id, r.partnership_id))))
}

/// The regions each of several tokens carries grants in now (empty for a token that is not
/// region-bound): its bound, less what the person bounding it no longer coordinates.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn token_bounds(
    db: &impl ConnectionTrait,
    token_ids: &[i32],
) -> Result<HashMap<i32, Vec<i32>>, DbErr> {
    if token_ids.is_empty() {
        return Ok(HashMap::new());
    }
    #[derive(FromQueryResult)]
    struct Row {
        token_id: i32,
        partnership_id: i32,
    }
    use api_token::Column::Id;
    let select = Query::select()
        .expr_as(Expr::col((T, Id)), "token_id")
        .column((R, api_token_partnership::Column::PartnershipId))
        .from_as(api_token::Entity, T)
        .join_as(
            JoinType::InnerJoin,
            api_token_partnership::Entity,
            R,
            Expr::col((R, api_token_partnership::Column::TokenId)).equals((T, Id)),
        )
        .and_where(Expr::col((T, Id)).is_in(token_ids.iter().copied()))
        .and_where(still_coordinated())
        .order_by((T, Id), Order::Asc)
        .order_by((R, api_token_partnership::Column::PartnershipId), Order::Asc)
        .to_owned();
    let rows = Row::find_by_statement(db.get_database_backend().build(&select)).all(db).await?;
    Ok(regions_by(rows.into_iter().map(|r| (r.token_id, r.partnership_id))))
}

/// `(owner, region)` pairs grouped by owner, in the order given.
fn regions_by(pairs: impl Iterator<Item = (i32, i32)>) -> HashMap<i32, Vec<i32>> {
    let mut grouped: HashMap<i32, Vec<i32>> = HashMap::new();
    for (owner, region) in pairs {
        grouped.entry(owner).or_default().push(region);
    }
    grouped
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn tokens_of(db: &impl ConnectionTrait, person_id: i32) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::PersonId.eq(person_id))
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await
}
