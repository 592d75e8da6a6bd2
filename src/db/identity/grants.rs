//! The grants a request acts with: a token found by its hash with its owner's memberships (the
//! authenticator's one indexed query), and the memberships of several people (the policy's, by
//! DataLoader), each with its organisation's region resolved.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    api_token, api_token_partnership, cluster, enums::Role, institution, membership, municipality, person,
};
use sea_orm::{
    ConnectionTrait, DbErr, FromQueryResult,
    sea_query::{Expr, ExprTrait, JoinType, Order, Query, SelectStatement},
};

use super::{C, I, M, MU, P, R, T, grant_joins, organisation_region, still_coordinated};
use crate::db::{Db, sql};

/// A membership with its organisation's region resolved (and a municipality's cluster).
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct GrantRow {
    pub person_id: i32,
    pub membership_id: i32,
    pub role: Role,
    pub partnership_id: Option<i32>,
    pub cluster_id: Option<i32>,
    pub municipality_id: Option<i32>,
    pub institution_id: Option<i32>,
    pub org_partnership_id: Option<i32>,
    pub municipality_cluster_id: Option<i32>,
}

/// A token found by its hash, with its owner's memberships (none if the owner has none).
#[derive(Clone, Debug)]
pub struct TokenGrants {
    pub token_id: i32,
    pub person_id: i32,
    /// The owner's home region (for the audit log of a refused token).
    pub home_partnership_id: Option<i32>,
    pub minted_by_person_id: Option<i32>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// The regions a region-bound token carries grants in; `None` for a token that carries all
    /// of its owner's.
    pub bound: Option<Vec<i32>>,
    /// Whose coordination bounds it, for a region-bound token.
    pub bound_by_person_id: Option<i32>,
    /// The owner's memberships the token carries: for a region-bound token only those in its
    /// regions.
    pub grants: Vec<GrantRow>,
}

#[derive(FromQueryResult)]
struct TokenGrantRow {
    token_id: i32,
    token_person_id: i32,
    home_partnership_id: Option<i32>,
    minted_by_person_id: Option<i32>,
    partnership_bound: bool,
    bound_by_person_id: Option<i32>,
    bound_regions: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    person_id: Option<i32>,
    membership_id: Option<i32>,
    role: Option<Role>,
    partnership_id: Option<i32>,
    cluster_id: Option<i32>,
    municipality_id: Option<i32>,
    institution_id: Option<i32>,
    org_partnership_id: Option<i32>,
    municipality_cluster_id: Option<i32>,
}

/// The columns of a `GrantRow`: membership `m` with its organisation's region.
fn grant_columns(select: &mut SelectStatement) {
    use membership::Column::*;
    select
        .column((M, PersonId))
        .expr_as(Expr::col((M, Id)), "membership_id")
        .columns([(M, Role), (M, PartnershipId)])
        // The typed row the membership's organisation is, whichever its kind.
        .expr_as(Expr::col((C, cluster::Column::Id)), "cluster_id")
        .expr_as(Expr::col((MU, municipality::Column::Id)), "municipality_id")
        .expr_as(Expr::col((I, institution::Column::Id)), "institution_id")
        .expr_as(organisation_region(), "org_partnership_id")
        .expr_as(Expr::col((MU, municipality::Column::ClusterId)), "municipality_cluster_id");
}

/// The token with this hash, its owner's grants and the regions that bound it: one indexed query.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn token_grants(db: &Db, hash: &str) -> Result<Option<TokenGrants>, DbErr> {
    use api_token::Column::*;
    // The bound regions come aggregated in one column, as a need's themes' ids do (`db::needs`).
    let bound_regions = Query::select()
        .expr(sql::id_list(db.backend(), Expr::col((R, api_token_partnership::Column::PartnershipId))))
        .from_as(api_token_partnership::Entity, R)
        .and_where(Expr::col((R, api_token_partnership::Column::TokenId)).equals((T, Id)))
        .and_where(still_coordinated())
        .to_owned();
    let mut select = Query::select();
    select
        .expr_as(Expr::col((T, Id)), "token_id")
        .expr_as(Expr::col((T, PersonId)), "token_person_id")
        .column((P, person::Column::HomePartnershipId))
        .columns([(T, MintedByPersonId), (T, PartnershipBound), (T, BoundByPersonId)])
        .expr_as(sql::scalar(bound_regions), "bound_regions")
        .columns([(T, ExpiresAt), (T, RevokedAt), (T, LastUsedAt)]);
    grant_columns(&mut select);
    select
        .from_as(api_token::Entity, T)
        .join_as(
            JoinType::InnerJoin,
            person::Entity,
            P,
            Expr::col((P, person::Column::Id)).equals((T, PersonId)),
        )
        .join_as(
            JoinType::LeftJoin,
            membership::Entity,
            M,
            Expr::col((M, membership::Column::PersonId)).equals((T, PersonId)),
        );
    grant_joins(&mut select);
    select.and_where(Expr::col((T, SecretHash)).eq(hash)).order_by((M, membership::Column::Id), Order::Asc);
    let rows = TokenGrantRow::find_by_statement(db.backend().build(&select)).all(db.conn()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let bound = first.partnership_bound.then(|| sql::parse_ids(first.bound_regions.as_deref()));
    let mut found = TokenGrants {
        token_id: first.token_id,
        person_id: first.token_person_id,
        home_partnership_id: first.home_partnership_id,
        minted_by_person_id: first.minted_by_person_id,
        expires_at: first.expires_at,
        revoked_at: first.revoked_at,
        last_used_at: first.last_used_at,
        bound,
        bound_by_person_id: first.bound_by_person_id,
        grants: Vec::new(),
    };
    for row in rows {
        if let (Some(person_id), Some(membership_id), Some(role)) =
            (row.person_id, row.membership_id, row.role)
        {
            let within = match &found.bound {
                None => true,
                Some(regions) => row.org_partnership_id.is_some_and(|r| regions.contains(&r)),
            };
            if !within {
                continue;
            }
            found.grants.push(GrantRow {
                person_id,
                membership_id,
                role,
                partnership_id: row.partnership_id,
                cluster_id: row.cluster_id,
                municipality_id: row.municipality_id,
                institution_id: row.institution_id,
                org_partnership_id: row.org_partnership_id,
                municipality_cluster_id: row.municipality_cluster_id,
            });
        }
    }
    Ok(Some(found))
}

/// The grants of several people, by person: one query (DataLoaders call it).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn grants_of(
    db: &impl ConnectionTrait,
    person_ids: &[i32],
) -> Result<HashMap<i32, Vec<GrantRow>>, DbErr> {
    if person_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut select = Query::select();
    grant_columns(&mut select);
    select.from_as(membership::Entity, M);
    grant_joins(&mut select);
    select
        .and_where(Expr::col((M, membership::Column::PersonId)).is_in(person_ids.iter().copied()))
        .order_by((M, membership::Column::Id), Order::Asc);
    let rows = GrantRow::find_by_statement(db.get_database_backend().build(&select)).all(db).await?;
    let mut grouped: HashMap<i32, Vec<GrantRow>> = HashMap::new();
    for row in rows {
        grouped.entry(row.person_id).or_default().push(row);
    }
    Ok(grouped)
}
