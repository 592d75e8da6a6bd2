//! The `Viewer`: who is calling (nobody, for the public) and in which roles.

use std::sync::Arc;

use entity::enums::Role;

/// One membership, resolved: the role, where it is held, and the partnerships it counts in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    pub membership_id: i32,
    pub role: Role,
    /// The partnership a coordinator (COORDINATOR) coordinates.
    pub partnership_id: Option<i32>,
    /// The organisation a unit or institution role is held in.
    pub organisation_id: Option<i32>,
    /// The institution's own id, when that organisation is one (commissions name institutions so).
    pub institution_id: Option<i32>,
    /// The organisation and every organisation above it.
    pub ancestors: Vec<i32>,
    /// The partnerships the grant counts in: a coordinator's own, or those that serve the
    /// organisation (it is a member, or a member above it accepts needs).
    pub partnerships: Vec<i32>,
    /// The partnerships whose coordinators manage the grant: a coordinator's own; those serving
    /// the organisation through the members nearest above it (RSO Vest for Bergen, not KSF).
    pub managed_by: Vec<i32>,
    /// A coordinator of the national level (a partnership whose body is NATIONAL: KSF).
    pub national: bool,
}

/// An authenticated caller: the person and the token, with the grants the token carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identity {
    pub person_id: i32,
    pub token_id: i32,
    /// Who minted the token (the person, a coordinator, or `None` for the command line).
    pub minted_by: Option<i32>,
    /// The regions a region-bound token carries grants in (`None`: all of the person's). A
    /// token minted for someone else is bound to the regions its minter coordinates, and so is
    /// every token minted with a bound one: no token carries more than its minter holds.
    pub bound: Option<Vec<i32>>,
    /// Whose coordination bounds the token (the regions they stop coordinating leave the bound).
    pub bound_by: Option<i32>,
    /// The person's memberships that the token carries.
    pub grants: Vec<Grant>,
}

/// The caller of one request: `identity` is `None` for the public.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    identity: Option<Arc<Identity>>,
}

impl Viewer {
    pub fn public() -> Self {
        Self::default()
    }

    pub fn authenticated(identity: Arc<Identity>) -> Self {
        Self { identity: Some(identity) }
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.identity.as_deref()
    }

    pub fn person_id(&self) -> Option<i32> {
        self.identity().map(|i| i.person_id)
    }

    /// The regions the token is bound to; `None` when it carries all of the person's grants.
    pub fn token_bound(&self) -> Option<&[i32]> {
        self.identity().and_then(|i| i.bound.as_deref())
    }

    /// Whose coordination bounds the token, when it is bound.
    pub fn token_bound_by(&self) -> Option<i32> {
        self.identity().and_then(|i| i.bound_by)
    }

    pub(crate) fn grants(&self) -> &[Grant] {
        self.identity().map(|i| i.grants.as_slice()).unwrap_or_default()
    }

    /// The partnerships this caller coordinates (row scoping for coordinator-only lists).
    pub fn coordinated_regions(&self) -> Vec<i32> {
        self.grants()
            .iter()
            .filter(|g| g.role == Role::Coordinator)
            .filter_map(|g| g.partnership_id)
            .collect()
    }

    pub fn is_coordinator_of(&self, partnership_id: i32) -> bool {
        self.coordinated_regions().contains(&partnership_id)
    }
}
