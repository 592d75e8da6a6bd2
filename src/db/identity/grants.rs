//! The grants a request acts with: a token found by its hash with its owner's memberships (the
//! authenticator's one indexed query), and the memberships of several people (the policy's, by
//! DataLoader), each with its organisation's place in the tree and the partnerships it counts in.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    api_token, api_token_partnership,
    enums::{OrganisationKind, Role},
    institution, membership, organisation, organisation_ancestor, partnership, partnership_member, person,
};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DbErr, FromQueryResult,
    sea_query::{Expr, ExprTrait, JoinType, Order, Query, SelectStatement},
};

use super::{I, M, OA, P, PM, R, T, grant_joins, partnerships_of_membership, still_coordinated};
use crate::db::{Db, organisations::read::nearest_members_only, sql};

/// A membership with what the policy needs of its organisation: where it sits in the tree and
/// which partnerships it counts in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantRow {
    pub person_id: i32,
    pub membership_id: i32,
    pub role: Role,
    /// The partnership a coordinator coordinates.
    pub partnership_id: Option<i32>,
    /// The organisation a unit or institution role is held in.
    pub organisation_id: Option<i32>,
    /// The institution's own id, when the organisation is one.
    pub institution_id: Option<i32>,
    /// The organisation and every organisation above it, in id order.
    pub ancestors: Vec<i32>,
    /// The partnerships the membership counts in (see `partnerships_of_membership`), each once:
    /// those that manage it first (`managed_by`), then the others in id order.
    pub partnerships: Vec<i32>,
    /// The partnerships whose coordinators manage the membership: a coordinator's own; those
    /// serving the organisation through the members nearest above it (RSO Vest for Bergen, not
    /// KSF; KSF where no nearer partnership serves), in id order.
    pub managed_by: Vec<i32>,
    /// A coordinator of a partnership of the national level (its body is NATIONAL: KSF).
    pub national: bool,
}

/// A `GrantRow` as the statement gives it: the lists aggregated as text.
#[derive(FromQueryResult)]
struct RawGrant {
    person_id: i32,
    membership_id: i32,
    role: Role,
    partnership_id: Option<i32>,
    organisation_id: Option<i32>,
    institution_id: Option<i32>,
    ancestors: Option<String>,
    serving: Option<String>,
    managing: Option<String>,
    national: bool,
}

impl From<RawGrant> for GrantRow {
    fn from(raw: RawGrant) -> Self {
        let mut managed_by: Vec<i32> = match raw.partnership_id {
            Some(own) => vec![own],
            None => sql::parse_ids(raw.managing.as_deref()),
        };
        managed_by.sort_unstable();
        managed_by.dedup();
        let mut others: Vec<i32> =
            sql::parse_ids(raw.serving.as_deref()).into_iter().filter(|p| !managed_by.contains(p)).collect();
        others.sort_unstable();
        others.dedup();
        let partnerships = managed_by.iter().copied().chain(others).collect();
        let mut ancestors = sql::parse_ids(raw.ancestors.as_deref());
        ancestors.sort_unstable();
        Self {
            person_id: raw.person_id,
            membership_id: raw.membership_id,
            role: raw.role,
            partnership_id: raw.partnership_id,
            organisation_id: raw.organisation_id,
            institution_id: raw.institution_id,
            ancestors,
            partnerships,
            managed_by,
            national: raw.national,
        }
    }
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
    /// The owner's memberships the token carries: for a partnership-bound token only those that
    /// count in one of its partnerships.
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
    // The membership, if the owner has one: a `RawGrant`'s columns, null without one.
    person_id: Option<i32>,
    membership_id: Option<i32>,
    role: Option<Role>,
    partnership_id: Option<i32>,
    organisation_id: Option<i32>,
    institution_id: Option<i32>,
    ancestors: Option<String>,
    serving: Option<String>,
    managing: Option<String>,
    national: Option<bool>,
}

impl TokenGrantRow {
    fn grant(self) -> Option<GrantRow> {
        let raw = RawGrant {
            person_id: self.person_id?,
            membership_id: self.membership_id?,
            role: self.role?,
            partnership_id: self.partnership_id,
            organisation_id: self.organisation_id,
            institution_id: self.institution_id,
            ancestors: self.ancestors,
            serving: self.serving,
            managing: self.managing,
            national: self.national.unwrap_or(false),
        };
        Some(raw.into())
    }
}

/// The columns of a `GrantRow`: membership `m`, its institution, and its organisation's
/// ancestors and partnerships aggregated by subqueries over the closure.
fn grant_columns(select: &mut SelectStatement, backend: DatabaseBackend) {
    use membership::Column::*;
    let ancestors = Query::select()
        .expr(sql::id_list(backend, Expr::col((OA, organisation_ancestor::Column::AncestorId))))
        .from_as(organisation_ancestor::Entity, OA)
        .and_where(Expr::col((OA, organisation_ancestor::Column::OrganisationId)).equals((M, OrganisationId)))
        .to_owned();
    let serving = partnerships_of_membership(sql::id_list(
        backend,
        Expr::col((PM, partnership_member::Column::PartnershipId)),
    ));
    let mut managing = partnerships_of_membership(sql::id_list(
        backend,
        Expr::col((PM, partnership_member::Column::PartnershipId)),
    ));
    managing.and_where(nearest_members_only());
    // A coordinator of the national level: the body of the partnership is NATIONAL.
    let national = Query::select()
        .expr(Expr::Constant(1.into()))
        .from(partnership::Entity)
        .inner_join(
            organisation::Entity,
            Expr::col((organisation::Entity, organisation::Column::Id))
                .equals((partnership::Entity, partnership::Column::OrganisationId)),
        )
        .and_where(Expr::col((partnership::Entity, partnership::Column::Id)).equals((M, PartnershipId)))
        .and_where(
            Expr::col((organisation::Entity, organisation::Column::Kind)).eq(OrganisationKind::National),
        )
        .to_owned();
    select
        .column((M, PersonId))
        .expr_as(Expr::col((M, Id)), "membership_id")
        .columns([(M, Role), (M, PartnershipId), (M, OrganisationId)])
        .expr_as(Expr::col((I, institution::Column::Id)), "institution_id")
        .expr_as(sql::scalar(ancestors), "ancestors")
        .expr_as(sql::scalar(serving), "serving")
        .expr_as(sql::scalar(managing), "managing")
        .expr_as(Expr::exists(national), "national");
}

/// How a token is found: by the hash of its secret (a request's `Authorization`), or by its id
/// (a signed link the token's holder was given, which acts with the token's rights).
#[derive(Clone, Copy, Debug)]
pub enum TokenKey<'a> {
    Hash(&'a str),
    Id(i32),
}

/// The token with this key, its owner's grants and the regions that bound it: one indexed query.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn token_grants(db: &Db, key: TokenKey<'_>) -> Result<Option<TokenGrants>, DbErr> {
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
    grant_columns(&mut select, db.backend());
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
    let wanted = match key {
        TokenKey::Hash(hash) => Expr::col((T, SecretHash)).eq(hash),
        TokenKey::Id(id) => Expr::col((T, Id)).eq(id),
    };
    select.and_where(wanted).order_by((M, membership::Column::Id), Order::Asc);
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
        let Some(grant) = row.grant() else {
            continue;
        };
        // A partnership-bound token carries the grants one of its partnerships manages.
        let within = match &found.bound {
            None => true,
            Some(bound) => grant.managed_by.iter().any(|p| bound.contains(p)),
        };
        if within {
            found.grants.push(grant);
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
    let backend = db.get_database_backend();
    let mut select = Query::select();
    grant_columns(&mut select, backend);
    select.from_as(membership::Entity, M);
    grant_joins(&mut select);
    select
        .and_where(Expr::col((M, membership::Column::PersonId)).is_in(person_ids.iter().copied()))
        .order_by((M, membership::Column::Id), Order::Asc);
    let rows = RawGrant::find_by_statement(backend.build(&select)).all(db).await?;
    let mut grouped: HashMap<i32, Vec<GrantRow>> = HashMap::new();
    for row in rows.into_iter().map(GrantRow::from) {
        grouped.entry(row.person_id).or_default().push(row);
    }
    Ok(grouped)
}
