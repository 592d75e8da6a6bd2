//! The one place that decides what a viewer may do. Resolvers ask `viewer.can(...)` (or
//! `require`) with an action and the resource it touches; they never compare roles themselves.
//!
//! Personal data (a person's name and e-mail) is visible to the person, to the coordinators of
//! any region the person belongs to (or was created in), to the cluster coordinators of any
//! cluster the person belongs to directly or through a municipality, and to colleagues in the
//! same municipality or institution. Nobody else, and never the public.
//!
//! This file holds the actions ([`Action`]) and every rule, in one match ([`Viewer::can`]). Beside
//! it: what a rule needs to know about a person or a need, and the commissions a viewer may see
//! (`scopes.rs`); who may do what, as a FORBIDDEN error says it (`allowed.rs`); what the viewer's
//! memberships say (`memberships.rs`).

use entity::enums::{CommissionStatus, NeedStatus, Role};

use crate::{
    auth::viewer::{Organisation, Viewer},
    domain::rounds::Scorer,
    error::AppError,
};

pub mod allowed;
mod memberships;
mod scopes;
#[cfg(test)]
mod tests;

pub use scopes::{CommissionScope, NeedScope, PersonScope};

/// Something a viewer may want to do, with the resource it concerns.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// Create people and add or remove memberships in organisations of a region.
    ManagePeople { partnership_id: i32 },
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
    ReadAuditLog { partnership_id: i32 },
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
    ManageReferenceData { partnership_id: i32 },
    /// Create, rename, move and close organisations, add institutions, create regions and assign
    /// counties: a coordinator of one of `partnerships`, the partnerships serving the organisation
    /// concerned (it is their member, or under a member that accepts needs: KSF serves everything
    /// under the national level), or the one an institution registers with, or the national
    /// partnership for regions.
    ManageOrganisation { partnerships: &'a [i32] },
    /// See a region's prioritisation rounds and rankings: anyone with a membership in the region.
    SeeRound { partnership_id: i32 },
    /// Open and close rounds, and see every organisation's scores: the region's coordinators.
    ManageRounds { partnership_id: i32 },
    /// Score in a round on behalf of a cluster (its coordinators) or an institution (its members).
    ScoreFor { scorer: Scorer },
    /// See a commission: published ones by anyone, drafts by the region's coordinators, the rest
    /// by members of the region and by every institution member.
    SeeCommission { status: CommissionStatus, partnership_id: i32 },
    /// Draft, open, award and cancel commissions, publish summaries: the region's coordinators.
    ManageCommissions { partnership_id: i32 },
    /// Express interest, report progress, deliver: members of the institution.
    ActForInstitution { institution_id: i32 },
    /// See an institution's proposal: its members and the region's coordinators.
    SeeProposal { partnership_id: i32, institution_id: i32 },
    /// See a summary before it is published: the coordinators and the awarded institution.
    SeeUnpublishedSummary { partnership_id: i32, institution_id: Option<i32> },
    /// Record how a municipality used a summary: its members.
    RecordUptakeFor { municipality_id: i32 },
}

impl Viewer {
    /// Whether the viewer may do `action`: the rule of every action, in this one match.
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
            Action::ManagePeople { partnership_id }
            | Action::ReadAuditLog { partnership_id }
            | Action::ManageReferenceData { partnership_id }
            | Action::ManageRounds { partnership_id }
            | Action::ManageCommissions { partnership_id } => self.is_coordinator_of(partnership_id),
            Action::ManageOrganisation { partnerships } => {
                partnerships.iter().any(|p| self.is_coordinator_of(*p))
            }
            Action::SeeCommission { status, partnership_id } => match status {
                CommissionStatus::Draft => self.is_coordinator_of(partnership_id),
                _ => self
                    .grants()
                    .iter()
                    .any(|g| g.partnership_id == Some(partnership_id) || g.role == Role::InstitutionMember),
            },
            Action::ActForInstitution { institution_id } => self.is_institution_member(institution_id),
            Action::SeeProposal { partnership_id, institution_id } => {
                self.is_coordinator_of(partnership_id) || self.is_institution_member(institution_id)
            }
            Action::SeeUnpublishedSummary { partnership_id, institution_id } => {
                self.is_coordinator_of(partnership_id)
                    || institution_id.is_some_and(|i| self.is_institution_member(i))
            }
            Action::RecordUptakeFor { municipality_id } => self.is_member_of(municipality_id),
            Action::SeeRound { partnership_id } => {
                self.grants().iter().any(|g| g.partnership_id == Some(partnership_id))
            }
            Action::ScoreFor { scorer } => self.grants().iter().any(|g| match (scorer, g.organisation) {
                (Scorer::Cluster(c), Organisation::Cluster(mine)) => {
                    g.role == Role::UnitCoordinator && c == mine
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
                        || need.partnership_id.is_some_and(|r| self.is_coordinator_of(r)))
            }
            Action::CurateNeed(need) => {
                need.status != NeedStatus::Draft
                    && need.partnership_id.is_some_and(|r| self.is_coordinator_of(r))
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
}
