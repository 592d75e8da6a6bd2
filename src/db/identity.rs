//! People, memberships and tokens: look-ups, and the writes (each one transaction with its
//! audit event).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{
    api_token, api_token_region, cluster, county, enums::Role, institution, membership, municipality, person,
    person_region,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement},
};
use serde_json::json;

use crate::{
    db::{
        Db, Effect, NodeType, WriteError,
        audit::{self, Actor, Event},
        duplicate_is_conflict, sql,
    },
    domain::identity::{Email, OrganisationKind, PersonName, TokenName},
};

/// A membership with its organisation's region resolved (and a municipality's cluster).
#[derive(Clone, Debug, PartialEq, Eq, FromQueryResult)]
pub struct GrantRow {
    pub person_id: i32,
    pub membership_id: i32,
    pub role: Role,
    pub region_id: Option<i32>,
    pub cluster_id: Option<i32>,
    pub municipality_id: Option<i32>,
    pub institution_id: Option<i32>,
    pub org_region_id: Option<i32>,
    pub municipality_cluster_id: Option<i32>,
}

/// A token found by its hash, with its owner's memberships (none if the owner has none).
#[derive(Clone, Debug)]
pub struct TokenGrants {
    pub token_id: i32,
    pub person_id: i32,
    /// The owner's home region (for the audit log of a refused token).
    pub home_region_id: Option<i32>,
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
    home_region_id: Option<i32>,
    minted_by_person_id: Option<i32>,
    region_bound: bool,
    bound_by_person_id: Option<i32>,
    bound_regions: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    person_id: Option<i32>,
    membership_id: Option<i32>,
    role: Option<Role>,
    region_id: Option<i32>,
    cluster_id: Option<i32>,
    municipality_id: Option<i32>,
    institution_id: Option<i32>,
    org_region_id: Option<i32>,
    municipality_cluster_id: Option<i32>,
}

// The aliases of the statements below: a membership and its organisation (cluster,
// municipality, the municipality's county, institution); a token, its owner and its bound
// regions; and a membership of the person who bounds a token.
const M: &str = "m";
const C: &str = "c";
const MU: &str = "mu";
const CO: &str = "co";
const I: &str = "i";
const T: &str = "t";
const P: &str = "p";
const R: &str = "r";
const BM: &str = "bm";

/// The region of membership `m`'s organisation, whatever its kind (see `grant_joins`).
fn organisation_region() -> Expr {
    Func::coalesce([
        Expr::col((M, membership::Column::RegionId)),
        Expr::col((C, cluster::Column::RegionId)),
        Expr::col((CO, county::Column::RegionId)),
        Expr::col((I, institution::Column::RegionId)),
    ])
    .into()
}

/// The columns of a `GrantRow`: membership `m` with its organisation's region.
fn grant_columns(select: &mut SelectStatement) {
    use membership::Column::*;
    select
        .column((M, PersonId))
        .expr_as(Expr::col((M, Id)), "membership_id")
        .columns([(M, Role), (M, RegionId), (M, ClusterId), (M, MunicipalityId), (M, InstitutionId)])
        .expr_as(organisation_region(), "org_region_id")
        .expr_as(Expr::col((MU, municipality::Column::ClusterId)), "municipality_cluster_id");
}

/// The organisation of membership `m`, whatever its kind, for `organisation_region`.
fn grant_joins(select: &mut SelectStatement) {
    let left = JoinType::LeftJoin;
    select
        .join_as(
            left,
            cluster::Entity,
            C,
            Expr::col((C, cluster::Column::Id)).equals((M, membership::Column::ClusterId)),
        )
        .join_as(
            left,
            municipality::Entity,
            MU,
            Expr::col((MU, municipality::Column::Id)).equals((M, membership::Column::MunicipalityId)),
        )
        .join_as(
            left,
            county::Entity,
            CO,
            Expr::col((CO, county::Column::Id)).equals((MU, municipality::Column::CountyId)),
        )
        .join_as(
            left,
            institution::Entity,
            I,
            Expr::col((I, institution::Column::Id)).equals((M, membership::Column::InstitutionId)),
        );
}

/// Whether the person bounding token `t` coordinates bound region `r` now, so a coordinator who
/// loses a region takes it from every token they bound.
fn still_coordinated() -> Expr {
    Expr::exists(
        Query::select()
            .expr(Expr::Constant(1.into()))
            .from_as(membership::Entity, BM)
            .and_where(
                Expr::col((BM, membership::Column::PersonId)).equals((T, api_token::Column::BoundByPersonId)),
            )
            .and_where(Expr::col((BM, membership::Column::Role)).eq(Role::Coordinator))
            .and_where(
                Expr::col((BM, membership::Column::RegionId)).equals((R, api_token_region::Column::RegionId)),
            )
            .to_owned(),
    )
}

/// The token with this hash, its owner's grants and the regions that bound it: one indexed query.
pub async fn token_grants(db: &Db, hash: &str) -> Result<Option<TokenGrants>, DbErr> {
    use api_token::Column::*;
    // The bound regions come aggregated in one column, as a need's themes' ids do (`db::needs`).
    let bound_regions = Query::select()
        .expr(sql::id_list(db.backend(), Expr::col((R, api_token_region::Column::RegionId))))
        .from_as(api_token_region::Entity, R)
        .and_where(Expr::col((R, api_token_region::Column::TokenId)).equals((T, Id)))
        .and_where(still_coordinated())
        .to_owned();
    let mut select = Query::select();
    select
        .expr_as(Expr::col((T, Id)), "token_id")
        .expr_as(Expr::col((T, PersonId)), "token_person_id")
        .column((P, person::Column::HomeRegionId))
        .columns([(T, MintedByPersonId), (T, RegionBound), (T, BoundByPersonId)])
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
    let bound = first.region_bound.then(|| sql::parse_ids(first.bound_regions.as_deref()));
    let mut found = TokenGrants {
        token_id: first.token_id,
        person_id: first.token_person_id,
        home_region_id: first.home_region_id,
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
                Some(regions) => row.org_region_id.is_some_and(|r| regions.contains(&r)),
            };
            if !within {
                continue;
            }
            found.grants.push(GrantRow {
                person_id,
                membership_id,
                role,
                region_id: row.region_id,
                cluster_id: row.cluster_id,
                municipality_id: row.municipality_id,
                institution_id: row.institution_id,
                org_region_id: row.org_region_id,
                municipality_cluster_id: row.municipality_cluster_id,
            });
        }
    }
    Ok(Some(found))
}

/// The grants of several people, by person: one query (DataLoaders call it).
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

/// Records that a token was used, at most once a minute per token (so reads stay reads).
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

pub async fn person_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<person::Model>, DbErr> {
    person::Entity::find().filter(person::Column::Email.eq(email.as_str())).one(db).await
}

/// People whose home region or a membership's region is one of `region_ids`, optionally
/// matching `search` in name or e-mail; ordered by id. One statement.
pub async fn people_in_regions(
    db: &impl ConnectionTrait,
    region_ids: &[i32],
    search: Option<&str>,
) -> Result<Vec<person::Model>, DbErr> {
    if region_ids.is_empty() {
        return Ok(Vec::new());
    }
    let regions = || region_ids.iter().copied();
    let mut members = Query::select();
    members.column((M, membership::Column::PersonId)).from_as(membership::Entity, M);
    grant_joins(&mut members);
    members.and_where(organisation_region().is_in(regions()));
    let registered = Query::select()
        .column(person_region::Column::PersonId)
        .from(person_region::Entity)
        .and_where(Expr::col(person_region::Column::RegionId).is_in(regions()))
        .to_owned();
    let people = person::Entity::find()
        .filter(
            Condition::any()
                .add(person::Column::HomeRegionId.is_in(regions()))
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
pub async fn registered_regions_of(
    db: &impl ConnectionTrait,
    person_ids: &[i32],
) -> Result<HashMap<i32, Vec<i32>>, DbErr> {
    let rows = person_region::Entity::find()
        .filter(person_region::Column::PersonId.is_in(person_ids.iter().copied()))
        .order_by_asc(person_region::Column::RegionId)
        .all(db)
        .await?;
    Ok(regions_by(rows.into_iter().map(|r| (r.person_id, r.region_id))))
}

/// The regions each of several tokens carries grants in now (empty for a token that is not
/// region-bound): its bound, less what the person bounding it no longer coordinates.
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
        region_id: i32,
    }
    use api_token::Column::Id;
    let select = Query::select()
        .expr_as(Expr::col((T, Id)), "token_id")
        .column((R, api_token_region::Column::RegionId))
        .from_as(api_token::Entity, T)
        .join_as(
            JoinType::InnerJoin,
            api_token_region::Entity,
            R,
            Expr::col((R, api_token_region::Column::TokenId)).equals((T, Id)),
        )
        .and_where(Expr::col((T, Id)).is_in(token_ids.iter().copied()))
        .and_where(still_coordinated())
        .order_by((T, Id), Order::Asc)
        .order_by((R, api_token_region::Column::RegionId), Order::Asc)
        .to_owned();
    let rows = Row::find_by_statement(db.get_database_backend().build(&select)).all(db).await?;
    Ok(regions_by(rows.into_iter().map(|r| (r.token_id, r.region_id))))
}

/// `(owner, region)` pairs grouped by owner, in the order given.
fn regions_by(pairs: impl Iterator<Item = (i32, i32)>) -> HashMap<i32, Vec<i32>> {
    let mut grouped: HashMap<i32, Vec<i32>> = HashMap::new();
    for (owner, region) in pairs {
        grouped.entry(owner).or_default().push(region);
    }
    grouped
}

pub async fn tokens_of(db: &impl ConnectionTrait, person_id: i32) -> Result<Vec<api_token::Model>, DbErr> {
    api_token::Entity::find()
        .filter(api_token::Column::PersonId.eq(person_id))
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await
}

/// Creates a person (and, if given, their first membership).
pub async fn create_person(
    db: &Db,
    actor: Actor,
    name: PersonName,
    email: Email,
    home_region_id: Option<i32>,
    membership: Option<NewMembership>,
) -> Result<person::Model, WriteError> {
    let txn = db.begin_write().await?;
    let person = person::ActiveModel {
        name: Set(name.into_inner()),
        email: Set(email.into_inner()),
        home_region_id: Set(home_region_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(duplicate_is_conflict("email", "a person with this e-mail address exists"))?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "person.create",
            target_type: NodeType::Person,
            target_id: person.id,
            region_id: home_region_id,
            detail: None,
        },
    )
    .await?;
    if let Some(new) = membership {
        insert_membership(&txn, actor, person.id, new).await?;
    }
    db.commit(txn, Effect::Created(NodeType::Person, person.id)).await?;
    Ok(person)
}

/// Registers an existing person in `region_id` (their coordinators manage the person from now on)
/// and, if given, adds a membership: what `createPerson` does for an e-mail address that belongs
/// to someone the caller could not see, instead of creating a duplicate or saying they exist. The
/// person's home region is told in its own audit log.
pub async fn register_person(
    db: &Db,
    actor: Actor,
    existing: &person::Model,
    region_id: i32,
    membership: Option<NewMembership>,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let already = person_region::Entity::find_by_id((existing.id, region_id)).one(&txn).await?;
    if already.is_none() && existing.home_region_id != Some(region_id) {
        person_region::ActiveModel {
            person_id: Set(existing.id),
            region_id: Set(region_id),
            created_at: Set(Utc::now()),
        }
        .insert(&txn)
        .await?;
    }
    let regions = std::iter::once(Some(region_id))
        .chain((existing.home_region_id != Some(region_id)).then_some(existing.home_region_id));
    for region in regions.flatten() {
        audit::record(
            &txn,
            actor,
            Event {
                action: "person.register",
                target_type: NodeType::Person,
                target_id: existing.id,
                region_id: Some(region),
                detail: Some(json!({ "region": region_id })),
            },
        )
        .await?;
    }
    if let Some(new) = membership {
        insert_membership(&txn, actor, existing.id, new).await?;
    }
    db.commit(txn, Effect::Created(NodeType::Person, existing.id)).await?;
    Ok(())
}

/// Ends a person's registration in `region_id` (not their home region): its coordinators no
/// longer manage the person unless a membership there says otherwise. Both regions' logs say so.
pub async fn unregister_person(
    db: &Db,
    actor: Actor,
    existing: &person::Model,
    region_id: i32,
) -> Result<(), WriteError> {
    let txn = db.begin_write().await?;
    let removed = person_region::Entity::delete_by_id((existing.id, region_id)).exec(&txn).await?;
    if removed.rows_affected == 0 {
        return Err(WriteError::NotFound { field: "region" });
    }
    let regions = std::iter::once(Some(region_id)).chain(std::iter::once(existing.home_region_id));
    for region in regions.flatten() {
        audit::record(
            &txn,
            actor,
            Event {
                action: "person.unregister",
                target_type: NodeType::Person,
                target_id: existing.id,
                region_id: Some(region),
                detail: Some(json!({ "region": region_id })),
            },
        )
        .await?;
    }
    db.commit(txn, Effect::Changed(NodeType::Person, existing.id)).await?;
    Ok(())
}

/// A membership to add: the role, the organisation's id (of the role's kind) and its region.
#[derive(Clone, Copy, Debug)]
pub struct NewMembership {
    pub role: Role,
    pub organisation_id: i32,
    pub region_id: Option<i32>,
}

pub async fn add_membership(
    db: &Db,
    actor: Actor,
    person_id: i32,
    new: NewMembership,
) -> Result<membership::Model, WriteError> {
    let txn = db.begin_write().await?;
    if person::Entity::find_by_id(person_id).one(&txn).await?.is_none() {
        return Err(WriteError::NotFound { field: "person" });
    }
    let membership = insert_membership(&txn, actor, person_id, new).await?;
    db.commit(txn, Effect::Created(NodeType::Membership, membership.id)).await?;
    Ok(membership)
}

async fn insert_membership(
    txn: &impl ConnectionTrait,
    actor: Actor,
    person_id: i32,
    new: NewMembership,
) -> Result<membership::Model, WriteError> {
    let org = Some(new.organisation_id);
    let kind = OrganisationKind::of(new.role);
    let mut model = membership::ActiveModel {
        person_id: Set(person_id),
        role: Set(new.role),
        region_id: Set(None),
        cluster_id: Set(None),
        municipality_id: Set(None),
        institution_id: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    match kind {
        OrganisationKind::Region => model.region_id = Set(org),
        OrganisationKind::Cluster => model.cluster_id = Set(org),
        OrganisationKind::Municipality => model.municipality_id = Set(org),
        OrganisationKind::Institution => model.institution_id = Set(org),
    }
    let membership = model.insert(txn).await.map_err(duplicate_is_conflict(
        "organisation",
        "the person already has a membership in this organisation",
    ))?;
    audit::record(
        txn,
        actor,
        Event {
            action: "membership.add",
            target_type: NodeType::Membership,
            target_id: membership.id,
            region_id: new.region_id,
            detail: Some(
                json!({ "person": person_id, "role": new.role, "organisation": new.organisation_id }),
            ),
        },
    )
    .await?;
    Ok(membership)
}

/// Removes a membership; `region_id` is the organisation's region, for the audit log.
pub async fn remove_membership(
    db: &Db,
    actor: Actor,
    membership_id: i32,
    region_id: Option<i32>,
) -> Result<membership::Model, WriteError> {
    let txn = db.begin_write().await?;
    let Some(existing) = membership::Entity::find_by_id(membership_id).one(&txn).await? else {
        return Err(WriteError::NotFound { field: "membership" });
    };
    // A region must keep a coordinator, or nobody could manage its people any more.
    if let (Role::Coordinator, Some(region)) = (existing.role, existing.region_id) {
        let coordinators = membership::Entity::find()
            .filter(membership::Column::Role.eq(Role::Coordinator))
            .filter(membership::Column::RegionId.eq(region))
            .count(&txn)
            .await?;
        if coordinators <= 1 {
            return Err(WriteError::Conflict {
                field: "membership",
                message: "this is the region's last coordinator; add another coordinator first".into(),
            });
        }
    }
    membership::Entity::delete_by_id(membership_id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        Event {
            action: "membership.remove",
            target_type: NodeType::Membership,
            target_id: membership_id,
            region_id,
            detail: Some(json!({ "person": existing.person_id, "role": existing.role })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::Membership, membership_id)).await?;
    Ok(existing)
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
pub async fn create_token(
    db: &Db,
    actor: Actor,
    person_id: i32,
    name: TokenName,
    expires_at: Option<DateTime<Utc>>,
    region_id: Option<i32>,
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
    let region_bound = limits.bound.is_some();
    let (minted_by_person_id, minted_by_token_id) = match actor {
        Actor::Person { person_id, token_id } => (Some(person_id), Some(token_id)),
        Actor::CommandLine | Actor::Hub => (None, None),
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
        region_bound: Set(region_bound),
        bound_by_person_id: Set(limits.bound_by.filter(|_| region_bound)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let bound = limits.bound.unwrap_or_default();
    if !bound.is_empty() {
        api_token_region::Entity::insert_many(bound.iter().map(|&region_id| api_token_region::ActiveModel {
            token_id: Set(token.id),
            region_id: Set(region_id),
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
            region_id,
            detail: Some(json!({ "person": person_id, "boundToRegions": region_bound.then_some(&bound) })),
        },
    )
    .await?;
    db.commit(txn, Effect::Created(NodeType::ApiToken, token.id)).await?;
    Ok(CreatedToken { token, secret: secret.secret })
}

/// Revokes a token (once: revoking a revoked token changes nothing and logs nothing).
pub async fn revoke_token(
    db: &Db,
    actor: Actor,
    token_id: i32,
    region_id: Option<i32>,
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
            region_id,
            detail: Some(json!({ "person": token.person_id })),
        },
    )
    .await?;
    db.commit(txn, Effect::Changed(NodeType::ApiToken, token_id)).await?;
    Ok(token)
}
