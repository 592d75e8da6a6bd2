//! The one place that decides what a viewer may do. Resolvers ask `viewer.can(...)` (or
//! `require`) with an action and the resource it touches; they never compare roles themselves.
//!
//! Personal data (a person's name and e-mail) is visible to the person, to the coordinators of
//! any region the person belongs to (or was created in), to the cluster coordinators of any
//! cluster the person belongs to directly or through a municipality, and to colleagues in the
//! same municipality or institution. Nobody else, and never the public.

use entity::enums::{CommissionStatus, NeedStatus, Role};

use crate::{
    auth::viewer::{Grant, Organisation, Viewer},
    domain::rounds::Scorer,
    error::AppError,
};

/// What the rules need to know about a person: the regions they are registered in (their home
/// region and any region that registered them since) and their memberships.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PersonScope {
    pub person_id: i32,
    pub home_region_id: Option<i32>,
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
    fn regions(&self) -> impl Iterator<Item = i32> + '_ {
        self.home_region_id
            .into_iter()
            .chain(self.registered_regions.iter().copied())
            .chain(self.grants.iter().filter_map(|g| g.region_id))
    }

    /// Every cluster the person belongs to, directly or through a municipality.
    fn clusters(&self) -> impl Iterator<Item = i32> + '_ {
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
    pub region_id: Option<i32>,
}

/// Something a viewer may want to do, with the resource it concerns.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// Create people and add or remove memberships in organisations of a region.
    ManagePeople { region_id: i32 },
    /// Mint a token for a person: their own, or a coordinator of a region the person is in (the
    /// token is then bound to the regions the coordinator coordinates).
    MintTokenFor(&'a PersonScope),
    /// See or revoke one token of `owner`'s, which carries grants in `bound` (`None`: all of the
    /// owner's). The owner may, unless the caller's own token is bound to fewer regions than the
    /// token; someone else only when they coordinate every region the token reaches.
    ManageToken { owner: &'a PersonScope, bound: Option<&'a [i32]> },
    /// See a person at all, and their name and e-mail.
    SeePersonalData(&'a PersonScope),
    /// Read a region's audit log.
    ReadAuditLog { region_id: i32 },
    /// See a need: drafts only within their municipality, everything else by anyone.
    SeeNeed(&'a NeedScope),
    /// Write a need for a municipality (as a member of it).
    SubmitNeedFor { municipality_id: i32 },
    /// Edit, submit, resubmit or withdraw a need of one's own municipality.
    EditNeed(&'a NeedScope),
    /// Accept, return or reject a submitted need: its cluster's coordinators and its region's.
    ReviewNeed(&'a NeedScope),
    /// Co-sign a need, or take a co-signature back, on behalf of a municipality.
    CosignFor { municipality_id: i32 },
    /// Link evidence, close as answered by existing evidence, merge and unmerge: the region's coordinators.
    CurateNeed(&'a NeedScope),
    /// Set reference facts of a region's municipalities (population).
    ManageReferenceData { region_id: i32 },
    /// See a region's prioritisation rounds and rankings: anyone with a membership in the region.
    SeeRound { region_id: i32 },
    /// Open and close rounds, and see every organisation's scores: the region's coordinators.
    ManageRounds { region_id: i32 },
    /// Score in a round on behalf of a cluster (its coordinators) or an institution (its members).
    ScoreFor { scorer: Scorer },
    /// See a commission: published ones by anyone, drafts by the region's coordinators, the rest
    /// by members of the region and by every institution member.
    SeeCommission { status: CommissionStatus, region_id: i32 },
    /// Draft, open, award and cancel commissions, publish summaries: the region's coordinators.
    ManageCommissions { region_id: i32 },
    /// Express interest, report progress, deliver: members of the institution.
    ActForInstitution { institution_id: i32 },
    /// See an institution's proposal: its members and the region's coordinators.
    SeeProposal { region_id: i32, institution_id: i32 },
    /// See a summary before it is published: the coordinators and the awarded institution.
    SeeUnpublishedSummary { region_id: i32, institution_id: Option<i32> },
    /// Record how a municipality used a summary: its members.
    RecordUptakeFor { municipality_id: i32 },
}

/// Who may do what, as a FORBIDDEN error says it: by the kind of action and the role it takes
/// (as the API writes roles), never about a particular row.
pub mod allowed {
    pub const MANAGE_PEOPLE: &str =
        "only a coordinator (COORDINATOR) of the region may manage its people and memberships";
    pub const MINT_TOKENS: &str =
        "only the person and a coordinator (COORDINATOR) of their region may create their tokens";
    pub const MANAGE_TOKEN: &str = "only the person, or a coordinator (COORDINATOR) of every region the token reaches, \
         may see or revoke a token";
    pub const SEE_PERSONAL_DATA: &str = "only the person, their coordinators and cluster coordinators, and colleagues in their \
         organisation may see their personal data";
    pub const READ_AUDIT_LOG: &str = "only a coordinator (COORDINATOR) of the region may read its audit log";
    pub const SEE_DRAFT: &str =
        "only a member (MUNICIPALITY_MEMBER) of the need's municipality may see its draft";
    pub const SUBMIT_NEED: &str =
        "only a member (MUNICIPALITY_MEMBER) of the municipality may submit its needs";
    pub const EDIT_NEED: &str =
        "only a member (MUNICIPALITY_MEMBER) of the need's municipality may edit, submit or withdraw it";
    pub const REVIEW_NEED: &str = "only a coordinator of the need's cluster (CLUSTER_COORDINATOR) or region (COORDINATOR) \
         may accept, return or reject it";
    pub const COSIGN: &str =
        "only a member (MUNICIPALITY_MEMBER) of the municipality may co-sign on its behalf";
    pub const CURATE_NEED: &str = "only a coordinator (COORDINATOR) of the need's region may link evidence to it, close, \
         merge or unmerge it";
    pub const MANAGE_REFERENCE_DATA: &str =
        "only a coordinator (COORDINATOR) of the municipality's region may change its reference data";
    pub const SEE_ROUND: &str = "only members of the round's region may see it";
    pub const MANAGE_ROUNDS: &str = "only a coordinator (COORDINATOR) of the region may open and close its rounds and see \
         every organisation's scores";
    pub const SCORE: &str = "only a coordinator of the cluster (CLUSTER_COORDINATOR) or a member of the institution \
         (INSTITUTION_MEMBER) may score for it";
    pub const SEE_COMMISSION: &str = "only a coordinator (COORDINATOR) of the region may see a DRAFT commission; members of \
         the region and institution members see the others";
    pub const MANAGE_COMMISSIONS: &str = "only a coordinator (COORDINATOR) of the commission's region may draft, open, \
         award and cancel it and publish its summary";
    pub const ACT_FOR_INSTITUTION: &str = "only a member (INSTITUTION_MEMBER) of the institution may express interest, report \
         progress or deliver for it";
    pub const ACT_FOR_AWARDED: &str = "only a member (INSTITUTION_MEMBER) of the awarded institution may report progress, \
         add milestones or deliver, once the commission is awarded";
    pub const SEE_PROPOSAL: &str =
        "only the institution's members and a coordinator (COORDINATOR) of the region may see a proposal";
    pub const SEE_UNPUBLISHED_SUMMARY: &str = "only a coordinator (COORDINATOR) of the region and the awarded institution \
         may see a summary before it is published";
    pub const RECORD_UPTAKE: &str =
        "only a member (MUNICIPALITY_MEMBER) of the municipality may record its uptake";
    pub const FOLLOW_COMMISSIONS: &str = "only institution members (INSTITUTION_MEMBER) and coordinators (COORDINATOR) may follow opened commissions";
}

impl Action<'_> {
    /// Who may do this, for the FORBIDDEN error.
    pub fn allowed(&self) -> &'static str {
        match self {
            Action::ManagePeople { .. } => allowed::MANAGE_PEOPLE,
            Action::MintTokenFor(_) => allowed::MINT_TOKENS,
            Action::ManageToken { .. } => allowed::MANAGE_TOKEN,
            Action::SeePersonalData(_) => allowed::SEE_PERSONAL_DATA,
            Action::ReadAuditLog { .. } => allowed::READ_AUDIT_LOG,
            Action::SeeNeed(_) => allowed::SEE_DRAFT,
            Action::SubmitNeedFor { .. } => allowed::SUBMIT_NEED,
            Action::EditNeed(_) => allowed::EDIT_NEED,
            Action::ReviewNeed(_) => allowed::REVIEW_NEED,
            Action::CosignFor { .. } => allowed::COSIGN,
            Action::CurateNeed(_) => allowed::CURATE_NEED,
            Action::ManageReferenceData { .. } => allowed::MANAGE_REFERENCE_DATA,
            Action::SeeRound { .. } => allowed::SEE_ROUND,
            Action::ManageRounds { .. } => allowed::MANAGE_ROUNDS,
            Action::ScoreFor { .. } => allowed::SCORE,
            Action::SeeCommission { .. } => allowed::SEE_COMMISSION,
            Action::ManageCommissions { .. } => allowed::MANAGE_COMMISSIONS,
            Action::ActForInstitution { .. } => allowed::ACT_FOR_INSTITUTION,
            Action::SeeProposal { .. } => allowed::SEE_PROPOSAL,
            Action::SeeUnpublishedSummary { .. } => allowed::SEE_UNPUBLISHED_SUMMARY,
            Action::RecordUptakeFor { .. } => allowed::RECORD_UPTAKE,
        }
    }
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
        let mut regions: Vec<i32> = grants.iter().filter_map(|g| g.region_id).collect();
        regions.sort_unstable();
        regions.dedup();
        CommissionScope {
            draft_regions: self.coordinated_regions(),
            all_past_draft: grants.iter().any(|g| g.role == Role::InstitutionMember),
            regions,
        }
    }

    pub fn can(&self, action: Action<'_>) -> bool {
        match action {
            Action::SeeNeed(need) if need.status != NeedStatus::Draft => return true,
            Action::SeeCommission { status: CommissionStatus::Published, .. } => return true,
            _ => {}
        }
        let Some(me) = self.person_id() else {
            return false;
        };
        match action {
            Action::ManagePeople { region_id }
            | Action::ReadAuditLog { region_id }
            | Action::ManageReferenceData { region_id }
            | Action::ManageRounds { region_id }
            | Action::ManageCommissions { region_id } => self.is_coordinator_of(region_id),
            Action::SeeCommission { status, region_id } => match status {
                CommissionStatus::Draft => self.is_coordinator_of(region_id),
                _ => self
                    .grants()
                    .iter()
                    .any(|g| g.region_id == Some(region_id) || g.role == Role::InstitutionMember),
            },
            Action::ActForInstitution { institution_id } => self.is_institution_member(institution_id),
            Action::SeeProposal { region_id, institution_id } => {
                self.is_coordinator_of(region_id) || self.is_institution_member(institution_id)
            }
            Action::SeeUnpublishedSummary { region_id, institution_id } => {
                self.is_coordinator_of(region_id)
                    || institution_id.is_some_and(|i| self.is_institution_member(i))
            }
            Action::RecordUptakeFor { municipality_id } => self.is_member_of(municipality_id),
            Action::SeeRound { region_id } => self.grants().iter().any(|g| g.region_id == Some(region_id)),
            Action::ScoreFor { scorer } => self.grants().iter().any(|g| match (scorer, g.organisation) {
                (Scorer::Cluster(c), Organisation::Cluster(mine)) => {
                    g.role == Role::ClusterCoordinator && c == mine
                }
                (Scorer::Institution(i), Organisation::Institution(mine)) => {
                    g.role == Role::InstitutionMember && i == mine
                }
                _ => false,
            }),
            Action::SeeNeed(need) => {
                need.status != NeedStatus::Draft || self.is_member_of(need.municipality_id)
            }
            Action::SubmitNeedFor { municipality_id } | Action::CosignFor { municipality_id } => {
                self.is_member_of(municipality_id)
            }
            Action::EditNeed(need) => self.is_member_of(need.municipality_id),
            Action::ReviewNeed(need) => {
                need.status != NeedStatus::Draft
                    && (need.cluster_id.is_some_and(|c| self.coordinates_cluster(c))
                        || need.region_id.is_some_and(|r| self.is_coordinator_of(r)))
            }
            Action::CurateNeed(need) => {
                need.status != NeedStatus::Draft && need.region_id.is_some_and(|r| self.is_coordinator_of(r))
            }
            Action::MintTokenFor(person) => {
                person.person_id == me || person.regions().any(|r| self.is_coordinator_of(r))
            }
            Action::ManageToken { owner, bound } if owner.person_id == me => {
                match (self.token_bound(), bound) {
                    (None, _) => true,
                    (Some(mine), Some(its)) => its.iter().all(|r| mine.contains(r)),
                    (Some(_), None) => false,
                }
            }
            Action::ManageToken { owner, bound } => {
                let reach: Vec<i32> = match bound {
                    Some(regions) => regions.to_vec(),
                    None => owner.regions().collect(),
                };
                !reach.is_empty() && reach.iter().all(|r| self.is_coordinator_of(*r))
            }
            Action::SeePersonalData(person) => {
                person.person_id == me
                    || person.regions().any(|r| self.is_coordinator_of(r))
                    || person.clusters().any(|c| self.coordinates_cluster(c))
                    || person.grants.iter().any(|g| self.is_colleague_in(g.organisation))
            }
        }
    }

    /// `can`, as a result: the public gets `UNAUTHENTICATED`, a known caller `FORBIDDEN`.
    pub fn require(&self, action: Action<'_>) -> Result<(), AppError> {
        match (self.can(action), self.person_id()) {
            (true, _) => Ok(()),
            (false, None) => Err(AppError::Unauthenticated),
            (false, Some(_)) => Err(AppError::Forbidden(action.allowed())),
        }
    }

    /// The person id of an authenticated caller, or `UNAUTHENTICATED`.
    pub fn require_person(&self) -> Result<i32, AppError> {
        self.person_id().ok_or(AppError::Unauthenticated)
    }

    fn coordinates_cluster(&self, cluster_id: i32) -> bool {
        self.grants().iter().any(|g| {
            g.role == Role::ClusterCoordinator && g.organisation == Organisation::Cluster(cluster_id)
        })
    }

    /// The organisations the viewer may score for.
    pub fn scorers(&self) -> Vec<Scorer> {
        self.grants()
            .iter()
            .filter_map(|g| match (g.role, g.organisation) {
                (Role::ClusterCoordinator, Organisation::Cluster(id)) => Some(Scorer::Cluster(id)),
                (Role::InstitutionMember, Organisation::Institution(id)) => Some(Scorer::Institution(id)),
                _ => None,
            })
            .collect()
    }

    /// The regions the viewer has any membership in.
    pub fn regions(&self) -> Vec<i32> {
        let mut regions: Vec<i32> = self.grants().iter().filter_map(|g| g.region_id).collect();
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
                Organisation::Municipality { id, .. } if g.role == Role::MunicipalityMember => Some(id),
                _ => None,
            })
            .collect()
    }

    fn is_colleague_in(&self, organisation: Organisation) -> bool {
        self.grants().iter().any(|mine| match (mine.organisation, organisation) {
            (Organisation::Municipality { id: a, .. }, Organisation::Municipality { id: b, .. }) => a == b,
            (Organisation::Institution(a), Organisation::Institution(b)) => a == b,
            _ => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::viewer::Identity;

    const REGION: i32 = 1;
    const OTHER_REGION: i32 = 2;

    fn grant(role: Role, organisation: Organisation, region_id: i32) -> Grant {
        Grant { membership_id: 0, role, organisation, region_id: Some(region_id) }
    }

    fn viewer(person_id: i32, grants: Vec<Grant>) -> Viewer {
        Viewer::authenticated(Arc::new(Identity {
            person_id,
            token_id: 1,
            minted_by: None,
            bound: None,
            bound_by: None,
            grants,
        }))
    }

    fn bergen_member(person_id: i32) -> PersonScope {
        PersonScope {
            person_id,
            home_region_id: None,
            registered_regions: Vec::new(),
            grants: vec![grant(
                Role::MunicipalityMember,
                Organisation::Municipality { id: 24, cluster_id: Some(1) },
                REGION,
            )],
        }
    }

    #[test]
    fn personal_data_follows_the_written_rule() {
        let person = bergen_member(10);
        let cases = [
            ("the person", viewer(10, vec![]), true),
            (
                "a coordinator of the region",
                viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]),
                true,
            ),
            (
                "a coordinator of another region",
                viewer(2, vec![grant(Role::Coordinator, Organisation::Region(OTHER_REGION), OTHER_REGION)]),
                false,
            ),
            (
                "the cluster coordinator",
                viewer(3, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(1), REGION)]),
                true,
            ),
            (
                "another cluster's coordinator",
                viewer(4, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(2), REGION)]),
                false,
            ),
            (
                "a colleague in Bergen",
                viewer(
                    5,
                    vec![grant(
                        Role::MunicipalityMember,
                        Organisation::Municipality { id: 24, cluster_id: Some(1) },
                        REGION,
                    )],
                ),
                true,
            ),
            (
                "a member of another municipality",
                viewer(
                    6,
                    vec![grant(
                        Role::MunicipalityMember,
                        Organisation::Municipality { id: 25, cluster_id: Some(1) },
                        REGION,
                    )],
                ),
                false,
            ),
            (
                "an institution member",
                viewer(7, vec![grant(Role::InstitutionMember, Organisation::Institution(1), REGION)]),
                false,
            ),
            ("the public", Viewer::public(), false),
        ];
        for (who, viewer, allowed) in cases {
            assert_eq!(viewer.can(Action::SeePersonalData(&person)), allowed, "{who}");
        }
    }

    #[test]
    fn only_coordinators_of_the_region_manage_people() {
        let coordinator = viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]);
        assert!(coordinator.can(Action::ManagePeople { region_id: REGION }));
        assert!(!coordinator.can(Action::ManagePeople { region_id: OTHER_REGION }));
        let cluster = viewer(3, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(1), REGION)]);
        assert!(!cluster.can(Action::ManagePeople { region_id: REGION }));
        assert_eq!(
            cluster.require(Action::ManagePeople { region_id: REGION }),
            Err(AppError::Forbidden(allowed::MANAGE_PEOPLE))
        );
        assert_eq!(
            Viewer::public().require(Action::ManagePeople { region_id: REGION }),
            Err(AppError::Unauthenticated)
        );
    }

    #[test]
    fn needs_follow_their_municipality_cluster_and_region() {
        let draft = NeedScope {
            status: NeedStatus::Draft,
            municipality_id: 24,
            cluster_id: Some(1),
            region_id: Some(REGION),
        };
        let submitted = NeedScope { status: NeedStatus::Submitted, ..draft };
        let bergen = viewer(
            5,
            vec![grant(
                Role::MunicipalityMember,
                Organisation::Municipality { id: 24, cluster_id: Some(1) },
                REGION,
            )],
        );
        let askoy = viewer(
            6,
            vec![grant(
                Role::MunicipalityMember,
                Organisation::Municipality { id: 25, cluster_id: Some(1) },
                REGION,
            )],
        );
        let cluster = viewer(3, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(1), REGION)]);
        let other_cluster =
            viewer(4, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(2), REGION)]);
        let coordinator = viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]);
        let elsewhere =
            viewer(2, vec![grant(Role::Coordinator, Organisation::Region(OTHER_REGION), OTHER_REGION)]);

        assert!(bergen.can(Action::SeeNeed(&draft)));
        for v in [&askoy, &cluster, &coordinator, &Viewer::public()] {
            assert!(!v.can(Action::SeeNeed(&draft)), "drafts stay in their municipality");
            assert!(v.can(Action::SeeNeed(&submitted)));
        }
        assert!(bergen.can(Action::EditNeed(&draft)) && !askoy.can(Action::EditNeed(&draft)));
        assert!(
            cluster.can(Action::ReviewNeed(&submitted)) && coordinator.can(Action::ReviewNeed(&submitted))
        );
        for v in [&bergen, &other_cluster, &elsewhere] {
            assert!(!v.can(Action::ReviewNeed(&submitted)));
        }
        assert!(
            coordinator.can(Action::CurateNeed(&submitted)) && !cluster.can(Action::CurateNeed(&submitted))
        );
        assert!(
            askoy.can(Action::CosignFor { municipality_id: 25 })
                && !askoy.can(Action::CosignFor { municipality_id: 24 })
        );
    }

    #[test]
    fn tokens_are_managed_by_their_owner_and_the_region_coordinators() {
        let person = bergen_member(10);
        let coordinator = viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]);
        assert!(viewer(10, vec![]).can(Action::MintTokenFor(&person)));
        assert!(coordinator.can(Action::MintTokenFor(&person)));
        assert!(coordinator.can(Action::ManageToken { owner: &person, bound: None }));
        let colleague = viewer(
            5,
            vec![grant(
                Role::MunicipalityMember,
                Organisation::Municipality { id: 24, cluster_id: Some(1) },
                REGION,
            )],
        );
        let cluster = viewer(3, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(1), REGION)]);
        for v in [&colleague, &cluster] {
            assert!(!v.can(Action::MintTokenFor(&person)));
            assert!(!v.can(Action::ManageToken { owner: &person, bound: None }));
        }
    }

    /// The review's case: B's coordinator and a person who coordinates A and is a member in B.
    #[test]
    fn managing_someone_elses_tokens_never_reaches_past_the_managers_regions() {
        let victim = PersonScope {
            person_id: 20,
            home_region_id: Some(REGION),
            registered_regions: Vec::new(),
            grants: vec![
                grant(Role::Coordinator, Organisation::Region(REGION), REGION),
                grant(
                    Role::MunicipalityMember,
                    Organisation::Municipality { id: 40, cluster_id: Some(5) },
                    OTHER_REGION,
                ),
            ],
        };
        let b = viewer(2, vec![grant(Role::Coordinator, Organisation::Region(OTHER_REGION), OTHER_REGION)]);
        assert!(b.can(Action::MintTokenFor(&victim)), "B may give the person a token for B");
        assert!(b.can(Action::ManageToken { owner: &victim, bound: Some(&[OTHER_REGION]) }));
        assert!(
            !b.can(Action::ManageToken { owner: &victim, bound: None }),
            "the person's own token reaches A"
        );
        assert!(!b.can(Action::ManageToken { owner: &victim, bound: Some(&[REGION]) }));
        assert!(!b.can(Action::ManageToken { owner: &victim, bound: Some(&[REGION, OTHER_REGION]) }));
        assert!(
            !b.can(Action::ManageToken { owner: &victim, bound: Some(&[]) }),
            "reaches nothing: nobody's"
        );

        // The person holding a token bound to B manages only tokens bound within B.
        let bound_to_b = Viewer::authenticated(Arc::new(Identity {
            person_id: 20,
            token_id: 7,
            minted_by: Some(2),
            bound: Some(vec![OTHER_REGION]),
            bound_by: Some(2),
            grants: vec![victim.grants[1]],
        }));
        assert!(bound_to_b.can(Action::ManageToken { owner: &victim, bound: Some(&[OTHER_REGION]) }));
        assert!(!bound_to_b.can(Action::ManageToken { owner: &victim, bound: None }));
        assert!(!bound_to_b.can(Action::ManageToken { owner: &victim, bound: Some(&[REGION]) }));
        assert!(!bound_to_b.can(Action::ManagePeople { region_id: REGION }));
        assert!(!bound_to_b.can(Action::ReadAuditLog { region_id: REGION }));
        let unbound = viewer(20, victim.grants.clone());
        assert!(unbound.can(Action::ManageToken { owner: &victim, bound: None }));
    }

    #[test]
    fn the_commission_scope_is_the_rule_for_seeing_a_commission() {
        let viewers = [
            Viewer::public(),
            viewer(1, vec![grant(Role::Coordinator, Organisation::Region(REGION), REGION)]),
            viewer(2, vec![grant(Role::InstitutionMember, Organisation::Institution(3), OTHER_REGION)]),
            viewer(3, vec![grant(Role::ClusterCoordinator, Organisation::Cluster(1), REGION)]),
            viewer(
                4,
                vec![grant(
                    Role::MunicipalityMember,
                    Organisation::Municipality { id: 24, cluster_id: Some(1) },
                    OTHER_REGION,
                )],
            ),
        ];
        let statuses = [
            CommissionStatus::Draft,
            CommissionStatus::Open,
            CommissionStatus::Awarded,
            CommissionStatus::InProgress,
            CommissionStatus::Delivered,
            CommissionStatus::Published,
            CommissionStatus::Cancelled,
        ];
        for viewer in &viewers {
            let scope = viewer.commission_scope();
            for status in statuses {
                for region_id in [REGION, OTHER_REGION, 99] {
                    let in_scope = match status {
                        CommissionStatus::Published => true,
                        CommissionStatus::Draft => scope.draft_regions.contains(&region_id),
                        _ => scope.all_past_draft || scope.regions.contains(&region_id),
                    };
                    assert_eq!(
                        in_scope,
                        viewer.can(Action::SeeCommission { status, region_id }),
                        "{viewer:?} {status:?} in region {region_id}"
                    );
                }
            }
        }
    }
}
