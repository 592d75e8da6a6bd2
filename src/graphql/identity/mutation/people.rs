//! Mutations on people and their memberships: `createPerson`, `addMembership`,
//! `removeMembership`, `unregisterPerson`. Coordinators only: of the partnerships that serve the
//! organisation a membership is held in.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use entity::enums::{OrganisationKind, Role};

use super::actor;
use crate::{
    auth::policy::allowed,
    auth::{Action, Viewer},
    db::{
        WriteError,
        identity::{self, HeldIn, NewMembership},
    },
    domain::identity::{Email, PersonName},
    error::{AppError, Result},
    graphql::{
        context::ContextExt,
        idempotency::{self, Replayable},
        identity::types::{Membership, Person, can_see, visible_person},
        ids::{GlobalId, NodeType},
        keys,
        loaders::{MembershipById, OrganisationById, PartnershipById, PartnershipsManaging},
        user_error::{UserError, UserErrorCode, UserErrors, from_write_error},
    },
};

/// The people and memberships half of `IdentityMutation`.
#[derive(Default)]
pub struct PeopleMutation;

/// The answer to an e-mail address that a person the caller may see already has.
const EMAIL_TAKEN: &str = "a person with this e-mail address exists; find them with people(filter: {search})";

/// A role in an organisation.
#[derive(InputObject)]
pub struct MembershipInput {
    pub role: Role,
    /// Where the role is held: a COORDINATOR's partnership (a Region id, or a Partnership id or
    /// key); an INSTITUTION_MEMBER's institution; a UNIT_COORDINATOR's or UNIT_MEMBER's unit, any
    /// organisation that is not an institution (by id, the id of its Cluster or Municipality,
    /// its key or official number).
    pub organisation: ID,
}

#[derive(InputObject)]
pub struct CreatePersonInput {
    pub name: String,
    pub email: String,
    /// The region that manages the person; defaults to the membership's region, or to the
    /// caller's region when they coordinate exactly one.
    pub region: Option<ID>,
    /// A first membership, created with the person.
    pub membership: Option<MembershipInput>,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct CreatePersonPayload {
    pub person: Option<Person>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct AddMembershipInput {
    pub person: ID,
    pub role: Role,
    pub organisation: ID,
    /// Send the same key again to retry safely: a replay returns the original result and
    /// creates nothing; the same key with a different input is a CONFLICT user error.
    pub idempotency_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct AddMembershipPayload {
    pub membership: Option<Membership>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct RemoveMembershipInput {
    pub membership: ID,
}

#[derive(SimpleObject)]
pub struct RemoveMembershipPayload {
    pub removed_membership_id: Option<ID>,
    /// The person, as they are after the change.
    pub person: Option<Person>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct UnregisterPersonInput {
    pub person: ID,
    /// A region the person was registered in by `createPerson` with their e-mail address (not
    /// their home region).
    pub region: ID,
}

#[derive(SimpleObject)]
pub struct UnregisterPersonPayload {
    /// The person, as the caller sees them after the change (null once out of the caller's sight).
    pub person: Option<Person>,
    pub user_errors: Vec<UserError>,
}

/// The membership `role` in `organisation` would be, with the partnerships whose coordinators
/// manage it. A coordinator is held in a partnership (a `Region` id, or a `Partnership` id or
/// key); an institution member in an institution; a unit coordinator or member in any other
/// organisation (by id, typed id, key or official number), managed by the partnerships that
/// serve it most nearly.
async fn resolve_membership(
    ctx: &Context<'_>,
    errors: &mut UserErrors,
    role: Role,
    organisation: &ID,
) -> Result<Option<(NewMembership, Vec<i32>)>, AppError> {
    let role = role.current();
    let loader = ctx.loader()?;
    let found = match GlobalId::decode(organisation) {
        Ok(global) if role == Role::Coordinator && global.node_type == NodeType::Region => Some(global.key),
        _ if role == Role::Coordinator => {
            keys::named(ctx, errors, "organisation", organisation, NodeType::Partnership).await?
        }
        _ => keys::named_organisation(ctx, errors, "organisation", organisation).await?,
    };
    let Some(id) = found else {
        if errors.is_empty() {
            errors.add("organisation", UserErrorCode::NotFound, "no such organisation");
        }
        return Ok(None);
    };
    if role == Role::Coordinator {
        if loader.load_one(PartnershipById(id)).await?.is_none() {
            errors.add("organisation", UserErrorCode::NotFound, "no such partnership");
            return Ok(None);
        }
        return Ok(Some((
            NewMembership { role, held_in: HeldIn::Partnership(id), audited_in: Some(id) },
            vec![id],
        )));
    }
    let Some(model) = loader.load_one(OrganisationById(id)).await? else {
        errors.add("organisation", UserErrorCode::NotFound, "no such organisation");
        return Ok(None);
    };
    if (role == Role::InstitutionMember) != (model.kind == OrganisationKind::Institution) {
        errors.add(
            "organisation",
            UserErrorCode::BadUserInput,
            "an INSTITUTION_MEMBER is held in an institution, and a unit role in an organisation that is not one",
        );
        return Ok(None);
    }
    let serving = managing_partnerships(ctx, None, Some(id)).await?;
    Ok(Some((NewMembership { role, held_in: HeldIn::Organisation(id), audited_in: None }, serving)))
}

/// The partnerships whose coordinators manage a membership: a coordinator's own partnership, or
/// those that serve the organisation it is held in through the members nearest above it.
async fn managing_partnerships(
    ctx: &Context<'_>,
    partnership_id: Option<i32>,
    organisation_id: Option<i32>,
) -> Result<Vec<i32>, AppError> {
    Ok(match (partnership_id, organisation_id) {
        (Some(id), _) => vec![id],
        (None, Some(id)) => {
            let serving = ctx.loader()?.load_one(PartnershipsManaging(id)).await?.unwrap_or_default();
            serving.into_iter().map(|p| p.id).collect()
        }
        (None, None) => Vec::new(),
    })
}

/// `FORBIDDEN` unless the viewer coordinates one of the partnerships managing a membership; the
/// first they do, for the audit log.
fn require_manages(viewer: &Viewer, partnerships: &[i32]) -> Result<i32, AppError> {
    partnerships
        .iter()
        .copied()
        .find(|id| viewer.can(Action::ManagePeople { partnership_id: *id }))
        .ok_or(AppError::Forbidden(allowed::MANAGE_PEOPLE))
}

#[Object]
impl PeopleMutation {
    /// Creates a person, optionally with a first membership. Coordinators only, in their region.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create_person(
        &self,
        ctx: &Context<'_>,
        input: CreatePersonInput,
    ) -> Result<CreatePersonPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let viewer = ctx.viewer()?;
            let actor = actor(viewer)?;
            let coordinated = viewer.coordinated_regions();
            if coordinated.is_empty() {
                return Err(AppError::Forbidden(allowed::MANAGE_PEOPLE).into());
            }
            let mut errors = UserErrors::default();
            let name = errors.check("name", PersonName::parse(&input.name));
            let email = errors.check("email", Email::parse(&input.email));
            let mut membership = match &input.membership {
                Some(m) => resolve_membership(ctx, &mut errors, m.role, &m.organisation).await?,
                None => None,
            };
            let managed_in = match &membership {
                Some((_, partnerships)) => Some(require_manages(viewer, partnerships)?),
                None => None,
            };
            let region = match &input.region {
                Some(id) => errors.id("region", GlobalId::decode_as(id, NodeType::Region)),
                None => match (managed_in, coordinated.as_slice()) {
                    (Some(region), _) => Some(region),
                    (None, [only]) => Some(*only),
                    (None, _) => {
                        errors.add(
                            "region",
                            UserErrorCode::BadUserInput,
                            "say which region manages the person",
                        );
                        None
                    }
                },
            };
            if let Some(region) = region {
                viewer.require(Action::ManagePeople { partnership_id: region })?;
            }
            let membership = membership.take().map(|(m, _)| NewMembership { audited_in: managed_in, ..m });
            let (Some(name), Some(email), Some(region), true) = (name, email, region, errors.is_empty())
            else {
                return Ok(CreatePersonPayload { person: None, user_errors: errors.into_vec() });
            };
            let db = ctx.db()?;
            // An address the caller may see is a conflict they can resolve. One that belongs to
            // someone they may not see must answer as if nobody had it, without a duplicate: that
            // person is registered in the caller's region (with the membership, if any), and both
            // regions' audit logs say so.
            if let Some(existing) = identity::person_by_email(db.conn(), &email).await? {
                if can_see(ctx, &existing).await? {
                    let errors = UserErrors::one("email", UserErrorCode::Conflict, EMAIL_TAKEN);
                    return Ok(CreatePersonPayload { person: None, user_errors: errors });
                }
                return Ok(match identity::register_person(db, actor, &existing, region, membership).await {
                    Ok(()) => CreatePersonPayload {
                        person: visible_person(ctx, existing.id).await?.map(Person),
                        user_errors: Vec::new(),
                    },
                    Err(err) => CreatePersonPayload { person: None, user_errors: from_write_error(err)? },
                });
            }
            Ok(match identity::create_person(db, actor, name, email, Some(region), membership).await {
                Ok(person) => CreatePersonPayload { person: Some(Person(person)), user_errors: Vec::new() },
                Err(err) => CreatePersonPayload { person: None, user_errors: from_write_error(err)? },
            })
        })
        .await
    }

    /// Gives a person a role in an organisation. Coordinators of the organisation's region only.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn add_membership(
        &self,
        ctx: &Context<'_>,
        input: AddMembershipInput,
    ) -> Result<AddMembershipPayload> {
        let key = input.idempotency_key.clone();
        idempotency::once(ctx, key.as_deref(), async {
            let viewer = ctx.viewer()?;
            let actor = actor(viewer)?;
            if viewer.coordinated_regions().is_empty() {
                return Err(AppError::Forbidden(allowed::MANAGE_PEOPLE).into());
            }
            let mut errors = UserErrors::default();
            let person_id = errors.id("person", GlobalId::decode_as(&input.person, NodeType::Person));
            let membership = resolve_membership(ctx, &mut errors, input.role, &input.organisation).await?;
            let person = match person_id {
                Some(id) => visible_person(ctx, id).await?,
                None => None,
            };
            if person_id.is_some() && person.is_none() {
                errors.add("person", UserErrorCode::NotFound, "no such person");
            }
            let membership = match membership {
                Some((m, partnerships)) => {
                    Some(NewMembership { audited_in: Some(require_manages(viewer, &partnerships)?), ..m })
                }
                None => None,
            };
            let (Some(person), Some(membership), true) = (person, membership, errors.is_empty()) else {
                return Ok(AddMembershipPayload { membership: None, user_errors: errors.into_vec() });
            };
            let result = identity::add_membership(ctx.db()?, actor, person.id, membership).await;
            ctx.authenticator()?.forget_all();
            Ok(match result {
                Ok(m) => AddMembershipPayload { membership: Some(Membership(m)), user_errors: Vec::new() },
                Err(err) => AddMembershipPayload { membership: None, user_errors: from_write_error(err)? },
            })
        })
        .await
    }

    /// Takes a role away. Coordinators of the organisation's region only; a region keeps at
    /// least one coordinator.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn remove_membership(
        &self,
        ctx: &Context<'_>,
        input: RemoveMembershipInput,
    ) -> Result<RemoveMembershipPayload> {
        let viewer = ctx.viewer()?;
        let actor = actor(viewer)?;
        if viewer.coordinated_regions().is_empty() {
            return Err(AppError::Forbidden(allowed::MANAGE_PEOPLE).into());
        }
        let mut errors = UserErrors::default();
        let not_found = |errors: Vec<UserError>| RemoveMembershipPayload {
            removed_membership_id: None,
            person: None,
            user_errors: errors,
        };
        let Some(id) = errors.id("membership", GlobalId::decode_as(&input.membership, NodeType::Membership))
        else {
            return Ok(not_found(errors.into_vec()));
        };
        let existing = ctx.loader()?.load_one(MembershipById(id)).await?;
        let person = match &existing {
            Some(m) => visible_person(ctx, m.person_id).await?,
            None => None,
        };
        let (Some(existing), Some(person)) = (existing, person) else {
            return Ok(not_found(UserErrors::one(
                "membership",
                UserErrorCode::NotFound,
                "no such membership",
            )));
        };
        let partnerships =
            managing_partnerships(ctx, existing.partnership_id, existing.organisation_id).await?;
        let region = require_manages(viewer, &partnerships)?;
        let result = identity::remove_membership(ctx.db()?, actor, id, Some(region)).await;
        ctx.authenticator()?.forget_all();
        Ok(match result {
            Ok(_) => RemoveMembershipPayload {
                removed_membership_id: Some(input.membership),
                person: Some(Person(person)),
                user_errors: Vec::new(),
            },
            Err(err) => not_found(from_write_error(err)?),
        })
    }

    /// Ends a person's registration in a region, made by `createPerson` with an e-mail address
    /// that belonged to someone of another region. Coordinators of that region only; the person's
    /// memberships there stay until removed.
    #[tracing::instrument(level = "debug", skip_all)]
    async fn unregister_person(
        &self,
        ctx: &Context<'_>,
        input: UnregisterPersonInput,
    ) -> Result<UnregisterPersonPayload> {
        let viewer = ctx.viewer()?;
        let actor = actor(viewer)?;
        if viewer.coordinated_regions().is_empty() {
            return Err(AppError::Forbidden(allowed::MANAGE_PEOPLE).into());
        }
        let mut errors = UserErrors::default();
        let person_id = errors.id("person", GlobalId::decode_as(&input.person, NodeType::Person));
        let partnership_id = errors.id("region", GlobalId::decode_as(&input.region, NodeType::Region));
        let (Some(person_id), Some(partnership_id)) = (person_id, partnership_id) else {
            return Ok(UnregisterPersonPayload { person: None, user_errors: errors.into_vec() });
        };
        viewer.require(Action::ManagePeople { partnership_id })?;
        let Some(person) = visible_person(ctx, person_id).await? else {
            let errors = UserErrors::one("person", UserErrorCode::NotFound, "no such person");
            return Ok(UnregisterPersonPayload { person: None, user_errors: errors });
        };
        Ok(match identity::unregister_person(ctx.db()?, actor, &person, partnership_id).await {
            Ok(()) => UnregisterPersonPayload {
                person: visible_person(ctx, person.id).await?.map(Person),
                user_errors: Vec::new(),
            },
            Err(WriteError::NotFound { .. }) => UnregisterPersonPayload {
                person: None,
                user_errors: UserErrors::one(
                    "region",
                    UserErrorCode::NotFound,
                    "the person is not registered in this region (a home region cannot be left)",
                ),
            },
            Err(err) => UnregisterPersonPayload { person: None, user_errors: from_write_error(err)? },
        })
    }
}

impl Replayable for CreatePersonPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { person: None, user_errors: errors }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        Ok(Self { person: visible_person(ctx, id).await?.map(Person), user_errors: Vec::new() })
    }
}

impl Replayable for AddMembershipPayload {
    fn refused(errors: Vec<UserError>) -> Self {
        Self { membership: None, user_errors: errors }
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn replay(ctx: &Context<'_>, id: i32) -> Result<Self> {
        let found = ctx.loader()?.load_one(MembershipById(id)).await?;
        Ok(Self { membership: found.map(Membership), user_errors: Vec::new() })
    }
}
