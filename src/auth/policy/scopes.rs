//! What a rule needs to know about the resource it is asked about: a person ([`PersonScope`]) or a
//! need ([`NeedScope`]); and which commissions a viewer may see ([`CommissionScope`]), built from
//! the viewer's grants and applied by the commission list as a condition of its query.

use entity::enums::{NeedStatus, Role};

use crate::auth::viewer::{Grant, Organisation, Viewer};

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

    /// Every region the person is managed in.
    pub(super) fn regions(&self) -> impl Iterator<Item = i32> + '_ {
        self.home_partnership_id
            .into_iter()
            .chain(self.registered_regions.iter().copied())
            .chain(self.grants.iter().filter_map(|g| g.partnership_id))
    }

    /// Every cluster the person belongs to, directly or through a municipality.
    pub(super) fn clusters(&self) -> impl Iterator<Item = i32> + '_ {
        self.grants.iter().filter_map(|g| match g.organisation {
            Organisation::Cluster(id) => Some(id),
            Organisation::Municipality { cluster_id, .. } => cluster_id,
            _ => None,
        })
    }
}

/// What the rules need to know about a need: its state and where it belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeedScope {
    pub status: NeedStatus,
    pub municipality_id: i32,
    pub cluster_id: Option<i32>,
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
        let grants = self.grants();
        let mut regions: Vec<i32> = grants.iter().filter_map(|g| g.partnership_id).collect();
        regions.sort_unstable();
        regions.dedup();
        CommissionScope {
            draft_regions: self.coordinated_regions(),
            all_past_draft: grants.iter().any(|g| g.role == Role::InstitutionMember),
            regions,
        }
    }
}
