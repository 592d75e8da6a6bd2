//! What the viewer's memberships say, as the rules and the resolvers' row scoping ask it: the
//! organisations the viewer belongs to, the clusters they coordinate, who they may score for.

use entity::enums::Role;

use crate::{
    auth::viewer::{Organisation, Viewer},
    domain::rounds::Scorer,
};

impl Viewer {
    pub(super) fn coordinates_cluster(&self, cluster_id: i32) -> bool {
        self.grants()
            .iter()
            .any(|g| g.role == Role::UnitCoordinator && g.organisation == Organisation::Cluster(cluster_id))
    }

    /// The organisations the viewer may score for.
    pub fn scorers(&self) -> Vec<Scorer> {
        self.grants()
            .iter()
            .filter_map(|g| match (g.role, g.organisation) {
                (Role::UnitCoordinator, Organisation::Cluster(id)) => Some(Scorer::Cluster(id)),
                (Role::InstitutionMember, Organisation::Institution(id)) => Some(Scorer::Institution(id)),
                _ => None,
            })
            .collect()
    }

    /// The regions the viewer has any membership in.
    pub fn regions(&self) -> Vec<i32> {
        let mut regions: Vec<i32> = self.grants().iter().filter_map(|g| g.partnership_id).collect();
        regions.sort_unstable();
        regions.dedup();
        regions
    }

    /// Whether the viewer is a member of this institution.
    pub fn is_institution_member(&self, institution_id: i32) -> bool {
        self.member_institutions().contains(&institution_id)
    }

    /// The institutions the viewer is a member of.
    pub fn member_institutions(&self) -> Vec<i32> {
        self.grants()
            .iter()
            .filter_map(|g| match g.organisation {
                Organisation::Institution(id) if g.role == Role::InstitutionMember => Some(id),
                _ => None,
            })
            .collect()
    }

    /// Whether the viewer is a member of this municipality.
    pub fn is_member_of(&self, municipality_id: i32) -> bool {
        self.member_municipalities().contains(&municipality_id)
    }

    /// The municipalities the viewer is a member of (row scoping: their drafts).
    pub fn member_municipalities(&self) -> Vec<i32> {
        self.grants()
            .iter()
            .filter_map(|g| match g.organisation {
                Organisation::Municipality { id, .. } if g.role == Role::UnitMember => Some(id),
                _ => None,
            })
            .collect()
    }

    pub(super) fn is_colleague_in(&self, organisation: Organisation) -> bool {
        self.grants().iter().any(|mine| match (mine.organisation, organisation) {
            (Organisation::Municipality { id: a, .. }, Organisation::Municipality { id: b, .. }) => a == b,
            (Organisation::Institution(a), Organisation::Institution(b)) => a == b,
            _ => false,
        })
    }
}
