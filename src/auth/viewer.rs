//! The `Viewer`: who is calling (nobody, for the public) and in which roles.

use std::sync::Arc;

use entity::enums::Role;

/// An organisation a membership is held in, with what the rules need to know about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Organisation {
    Region(i32),
    Cluster(i32),
    Municipality { id: i32, cluster_id: Option<i32> },
    Institution(i32),
}

/// One membership, resolved: the role, the organisation, and the organisation's region.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Grant {
    pub membership_id: i32,
    pub role: Role,
    pub organisation: Organisation,
    pub partnership_id: Option<i32>,
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

    /// The regions this caller coordinates (row scoping for coordinator-only lists).
    pub fn coordinated_regions(&self) -> Vec<i32> {
        self.grants()
            .iter()
            .filter_map(|g| match g.organisation {
                Organisation::Region(id) if g.role == Role::Coordinator => Some(id),
                _ => None,
            })
            .collect()
    }

    pub fn is_coordinator_of(&self, partnership_id: i32) -> bool {
        self.coordinated_regions().contains(&partnership_id)
    }
}
