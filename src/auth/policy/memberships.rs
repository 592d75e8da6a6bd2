//! What the viewer's memberships say, as the rules and the resolvers' row scoping ask it: the
//! units the viewer belongs to or coordinates, the partnerships they count in, who they may score
//! for.

use entity::enums::Role;

use crate::{auth::viewer::Viewer, domain::rounds::Scorer};

impl Viewer {
    /// The organisations in which the viewer holds `role`.
    fn units(&self, role: Role) -> impl Iterator<Item = i32> + '_ {
        self.grants().iter().filter(move |g| g.role == role).filter_map(|g| g.organisation_id)
    }

    /// Whether the viewer coordinates (UNIT_COORDINATOR) one of `organisations` (a need's raising
    /// unit and its ancestors, or a person's).
    pub(super) fn coordinates_unit_among(&self, organisations: &[i32]) -> bool {
        self.units(Role::UnitCoordinator).any(|unit| organisations.contains(&unit))
    }

    /// The organisations the viewer may score for: the units they coordinate and the institutions
    /// they are members of.
    pub fn scorers(&self) -> Vec<Scorer> {
        self.grants()
            .iter()
            .filter_map(|g| match (g.role, g.organisation_id, g.institution_id) {
                (Role::UnitCoordinator, Some(id), _) => Some(Scorer::Unit(id)),
                (Role::InstitutionMember, _, Some(id)) => Some(Scorer::Institution(id)),
                _ => None,
            })
            .collect()
    }

    /// The partnerships the viewer has any grant in.
    pub fn regions(&self) -> Vec<i32> {
        let mut partnerships: Vec<i32> =
            self.grants().iter().flat_map(|g| g.partnerships.iter().copied()).collect();
        partnerships.sort_unstable();
        partnerships.dedup();
        partnerships
    }

    /// Whether the viewer is a member of this institution.
    pub fn is_institution_member(&self, institution_id: i32) -> bool {
        self.member_institutions().contains(&institution_id)
    }

    /// The institutions the viewer is a member of.
    pub fn member_institutions(&self) -> Vec<i32> {
        self.grants()
            .iter()
            .filter(|g| g.role == Role::InstitutionMember)
            .filter_map(|g| g.institution_id)
            .collect()
    }

    /// Whether the viewer is a member (UNIT_MEMBER) of this unit.
    pub fn is_member_of(&self, organisation_id: i32) -> bool {
        self.units(Role::UnitMember).any(|unit| unit == organisation_id)
    }

    /// The units the viewer is a member of (UNIT_MEMBER; row scoping: their drafts).
    pub fn member_units(&self) -> Vec<i32> {
        self.units(Role::UnitMember).collect()
    }

    /// Whether the viewer holds a unit or institution role in `organisation_id` too.
    pub(super) fn is_colleague_in(&self, organisation_id: i32) -> bool {
        self.grants().iter().any(|mine| mine.organisation_id == Some(organisation_id))
    }
}
