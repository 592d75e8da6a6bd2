//! What a rule needs to know about the resource it is asked about: a person ([`PersonScope`]) or a
//! need ([`NeedScope`]); and which commissions a viewer may see ([`CommissionScope`]), built from
//! the viewer's grants and applied by the commission list as a condition of its query.

use entity::enums::{NeedStatus, Role};

use crate::auth::viewer::{Grant, Viewer};

/// What the rules need to know about a person: the regions they are registered in (their home
/// region and any region that registered them since) and their memberships.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonScope {
    pub person_id: i32,
    pub home_partnership_id: Option<i32>,
    pub registered_regions: Vec<i32>,
    pub grants: Vec<Grant>,
}

impl PersonScope {
    /// The region the person is filed under for the audit log: their home region, else the
    /// region of their first membership.
    pub fn primary_region(&self) -> Option<i32> {
        self.regions().next()
    }

    /// Every partnership the person is managed in: their home, the partnerships that registered
    /// them, and those that manage their grants.
    pub(super) fn regions(&self) -> impl Iterator<Item = i32> + '_ {
        self.home_partnership_id
            .into_iter()
            .chain(self.registered_regions.iter().copied())
            .chain(self.grants.iter().flat_map(|g| g.managed_by.iter().copied()))
    }
}

/// What the rules need to know about a need: its state, the unit that raised it with every
/// organisation above that unit, and the partnership whose pool it is in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeedScope {
    pub status: NeedStatus,
    /// The raising unit.
    pub organisation_id: i32,
    /// The raising unit and every organisation above it (from the closure, by a batched loader).
    pub ancestors: Vec<i32>,
    /// The partnership that reviews and prioritises it.
    pub partnership_id: Option<i32>,
}

/// Which commissions a viewer may see; built here, from the viewer's grants, by
/// [`Viewer::commission_scope`], and applied in SQL by the commission list.
pub use crate::db::commissions::CommissionScope;

impl Viewer {
    /// Which commissions this viewer may see; see [`CommissionScope`].
    pub fn commission_scope(&self) -> CommissionScope {
        if self.person_id().is_none() {
            return CommissionScope::default();
        }
        CommissionScope {
            draft_regions: self.coordinated_regions(),
            all_past_draft: self.grants().iter().any(|g| g.role == Role::InstitutionMember),
            regions: self.regions(),
        }
    }
}
