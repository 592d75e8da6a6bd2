//! Who is told of an event or a scheduled notice: the people of each [`Audience`]
//! (`domain::notify`), read from the memberships through the organisation tree's closure, one
//! statement per group; and the webhook endpoints of the organisations concerned that subscribe to
//! a kind of event.

use std::collections::HashMap;

use entity::{
    commission, commission_interest,
    enums::{Role, WebhookEventKind},
    institution, membership, need, organisation_ancestor, partnership_member, webhook_endpoint,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    QueryTrait,
    sea_query::{Expr, ExprTrait, JoinType, Query},
};

use crate::{
    db::{
        notify::webhooks::kinds_of,
        organisations::read::{OA, PM, join_serving_members},
    },
    domain::notify::Audience,
};

const UNIT_MEMBERS: [Role; 2] = [Role::UnitMember, Role::MunicipalityMember];
const UNIT_COORDINATORS: [Role; 2] = [Role::UnitCoordinator, Role::ClusterCoordinator];

/// The people of `audience` for a need (`need`) or a commission (`commission`), each once, in id
/// order. A round's scorers are [`round_scorers`].
pub async fn people(
    db: &impl ConnectionTrait,
    audience: Audience,
    need: Option<&need::Model>,
    commission: Option<&commission::Model>,
    matching_institutions: &[i32],
) -> Result<Vec<i32>, DbErr> {
    let condition = match (audience, need, commission) {
        (Audience::NeedFollowers, Some(need), _) => {
            let Some(unit) = need.organisation_id else { return Ok(vec![need.created_by_person_id]) };
            Condition::any()
                .add(
                    Condition::all()
                        .add(membership::Column::Role.is_in(UNIT_MEMBERS))
                        .add(membership::Column::OrganisationId.eq(unit)),
                )
                .add(unit_coordinators_at_or_above(unit))
                .add(membership::Column::PersonId.eq(need.created_by_person_id))
        }
        (Audience::NeedReviewers, Some(need), _) => {
            let mut any = Condition::any();
            if let Some(pool) = need.partnership_id {
                any = any.add(coordinators_of(pool));
            }
            if let Some(unit) = need.organisation_id {
                any = any.add(unit_coordinators_at_or_above(unit));
            }
            any
        }
        (Audience::MatchingInstitutions, _, Some(_)) => {
            institution_members(institution::Column::Id.is_in(matching_institutions.iter().copied()))
        }
        (Audience::CommissionParties, _, Some(commission)) => {
            let interested = commission_interest::Entity::find()
                .select_only()
                .column(commission_interest::Column::InstitutionId)
                .filter(commission_interest::Column::CommissionId.eq(commission.id))
                .into_query();
            let parties = Condition::any()
                .add(institution::Column::Id.in_subquery(interested))
                .add(institution::Column::Id.eq(commission.awarded_institution_id.unwrap_or(-1)));
            Condition::any().add(coordinators_of(commission.partnership_id)).add(institution_members(parties))
        }
        (Audience::AwardedParties, _, Some(commission)) => {
            let mut any = Condition::any().add(coordinators_of(commission.partnership_id));
            if let Some(awarded) = commission.awarded_institution_id {
                any = any.add(institution_members(institution::Column::Id.eq(awarded)));
            }
            any
        }
        _ => return Ok(Vec::new()),
    };
    let mut people: Vec<i32> = membership::Entity::find()
        .select_only()
        .column(membership::Column::PersonId)
        .filter(condition)
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    // A need's writer follows it even without a membership left (they are told of what
    // happened to what they wrote; what they may see is checked again when it is sent).
    if let (Audience::NeedFollowers, Some(need)) = (audience, need) {
        people.push(need.created_by_person_id);
    }
    people.sort_unstable();
    people.dedup();
    Ok(people)
}

/// The people who score in the rounds of `partnership_id` ([`Audience::RoundScorers`]): unit
/// coordinators and institution members whose membership is held in an organisation the
/// partnership serves, each once, in id order.
pub async fn round_scorers(db: &impl ConnectionTrait, partnership_id: i32) -> Result<Vec<i32>, DbErr> {
    let scorers = [UNIT_COORDINATORS.as_slice(), &[Role::InstitutionMember]].concat();
    let mut people: Vec<i32> = membership::Entity::find()
        .select_only()
        .column(membership::Column::PersonId)
        .filter(membership::Column::Role.is_in(scorers))
        .filter(membership::Column::OrganisationId.in_subquery(served_by(partnership_id)))
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    people.sort_unstable();
    Ok(people)
}

/// The organisations `partnership_id` serves (those in which a grant counts in it): its members,
/// and everything under a member that accepts needs.
fn served_by(partnership_id: i32) -> sea_orm::sea_query::SelectStatement {
    let mut select = Query::select();
    select
        .column((OA, organisation_ancestor::Column::OrganisationId))
        .from_as(organisation_ancestor::Entity, OA);
    join_serving_members(&mut select)
        .and_where(Expr::col((PM, partnership_member::Column::PartnershipId)).eq(partnership_id));
    select
}

fn coordinators_of(partnership_id: i32) -> Condition {
    Condition::all()
        .add(membership::Column::Role.eq(Role::Coordinator))
        .add(membership::Column::PartnershipId.eq(partnership_id))
}

/// Unit coordinators of `unit` or of any unit above it.
fn unit_coordinators_at_or_above(unit: i32) -> Condition {
    Condition::all()
        .add(membership::Column::Role.is_in(UNIT_COORDINATORS))
        .add(membership::Column::OrganisationId.in_subquery(ancestors_of(unit)))
}

/// Members of the institutions `which` selects (a membership is held in the institution's
/// organisation).
fn institution_members(which: impl sea_orm::sea_query::IntoCondition) -> Condition {
    let organisations = institution::Entity::find()
        .select_only()
        .column(institution::Column::OrganisationId)
        .filter(which)
        .filter(institution::Column::OrganisationId.is_not_null())
        .into_query();
    Condition::all()
        .add(membership::Column::Role.eq(Role::InstitutionMember))
        .add(membership::Column::OrganisationId.in_subquery(organisations))
}

/// `unit` and every organisation above it, through the closure.
fn ancestors_of(unit: i32) -> sea_orm::sea_query::SelectStatement {
    organisation_ancestor::Entity::find()
        .select_only()
        .column(organisation_ancestor::Column::AncestorId)
        .filter(organisation_ancestor::Column::OrganisationId.eq(unit))
        .into_query()
}

/// The organisations whose webhook endpoints hear of a need raised in `unit`: it and every unit
/// above it (Bergen's case system hears of its districts' needs too).
pub async fn organisations_above(db: &impl ConnectionTrait, unit: i32) -> Result<Vec<i32>, DbErr> {
    organisation_ancestor::Entity::find()
        .select_only()
        .column(organisation_ancestor::Column::AncestorId)
        .filter(organisation_ancestor::Column::OrganisationId.eq(unit))
        .into_tuple()
        .all(db)
        .await
}

/// The enabled webhook endpoints that hear of needs raised in each of a set of units: those of
/// the unit and of every organisation above it ([`organisations_above`]), with the kinds each
/// subscribes to. Read for a batch of events at once ([`endpoints_above`]).
#[derive(Debug, Default)]
pub struct EndpointsAbove(HashMap<i32, Vec<(i32, Vec<WebhookEventKind>)>>);

impl EndpointsAbove {
    /// The endpoints that hear of a need raised in `unit` and subscribe to `kind`, in id order.
    pub fn of(&self, unit: i32, kind: WebhookEventKind) -> Vec<i32> {
        let mut ids: Vec<i32> = self
            .0
            .get(&unit)
            .into_iter()
            .flatten()
            .filter(|(_, kinds)| kinds.contains(&kind))
            .map(|(id, _)| *id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

#[derive(FromQueryResult)]
struct EndpointAbove {
    unit: i32,
    id: i32,
    event_kinds: String,
}

/// [`EndpointsAbove`] `units`, in one statement.
pub async fn endpoints_above(db: &impl ConnectionTrait, units: &[i32]) -> Result<EndpointsAbove, DbErr> {
    if units.is_empty() {
        return Ok(EndpointsAbove::default());
    }
    const W: &str = "w";
    let select = Query::select()
        .expr_as(Expr::col((OA, organisation_ancestor::Column::OrganisationId)), "unit")
        .columns([(W, webhook_endpoint::Column::Id), (W, webhook_endpoint::Column::EventKinds)])
        .from_as(organisation_ancestor::Entity, OA)
        .join_as(
            JoinType::InnerJoin,
            webhook_endpoint::Entity,
            W,
            Expr::col((W, webhook_endpoint::Column::OrganisationId))
                .equals((OA, organisation_ancestor::Column::AncestorId)),
        )
        .and_where(
            Expr::col((OA, organisation_ancestor::Column::OrganisationId)).is_in(units.iter().copied()),
        )
        .and_where(Expr::col((W, webhook_endpoint::Column::DisabledAt)).is_null())
        .to_owned();
    let mut above: HashMap<i32, Vec<(i32, Vec<WebhookEventKind>)>> = HashMap::new();
    for row in EndpointAbove::find_by_statement(db.get_database_backend().build(&select)).all(db).await? {
        above.entry(row.unit).or_default().push((row.id, kinds_of(&row.event_kinds)));
    }
    Ok(EndpointsAbove(above))
}

/// The organisations of `institutions` (those that have one).
pub async fn organisations_of_institutions(
    db: &impl ConnectionTrait,
    institutions: &[i32],
) -> Result<Vec<i32>, DbErr> {
    if institutions.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Option<i32>> = institution::Entity::find()
        .select_only()
        .column(institution::Column::OrganisationId)
        .filter(institution::Column::Id.is_in(institutions.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().flatten().collect())
}

/// The institutions party to `commission`: those that showed interest, and the one awarded it.
pub async fn commission_institutions(
    db: &impl ConnectionTrait,
    commission: &commission::Model,
) -> Result<Vec<i32>, DbErr> {
    let mut ids: Vec<i32> = commission_interest::Entity::find()
        .select_only()
        .column(commission_interest::Column::InstitutionId)
        .filter(commission_interest::Column::CommissionId.eq(commission.id))
        .into_tuple()
        .all(db)
        .await?;
    ids.extend(commission.awarded_institution_id);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// The enabled endpoints of `organisations` that subscribe to `kind`, in id order.
pub async fn endpoints(
    db: &impl ConnectionTrait,
    organisations: &[i32],
    kind: WebhookEventKind,
) -> Result<Vec<i32>, DbErr> {
    if organisations.is_empty() {
        return Ok(Vec::new());
    }
    endpoints_where(db, webhook_endpoint::Column::OrganisationId.is_in(organisations.iter().copied()), kind)
        .await
}

/// The enabled endpoints of the organisations `partnership_id` serves (whose members may see its
/// rounds) that subscribe to `kind`, in id order.
pub async fn endpoints_served_by(
    db: &impl ConnectionTrait,
    partnership_id: i32,
    kind: WebhookEventKind,
) -> Result<Vec<i32>, DbErr> {
    endpoints_where(db, webhook_endpoint::Column::OrganisationId.in_subquery(served_by(partnership_id)), kind)
        .await
}

async fn endpoints_where(
    db: &impl ConnectionTrait,
    of: impl sea_orm::sea_query::IntoCondition,
    kind: WebhookEventKind,
) -> Result<Vec<i32>, DbErr> {
    let rows: Vec<(i32, String)> = webhook_endpoint::Entity::find()
        .select_only()
        .column(webhook_endpoint::Column::Id)
        .column(webhook_endpoint::Column::EventKinds)
        .filter(of)
        .filter(webhook_endpoint::Column::DisabledAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let mut ids: Vec<i32> =
        rows.into_iter().filter(|(_, kinds)| kinds_of(kinds).contains(&kind)).map(|(id, _)| id).collect();
    ids.sort_unstable();
    Ok(ids)
}
