//! The one place that decides what a viewer may do. Resolvers ask `viewer.can(...)` (or
//! `require`) with an action and the resource it touches; they never compare roles themselves.
//!
//! Authority follows the organisation tree. A coordinator (COORDINATOR) holds a partnership: its
//! pool of needs, rounds, commissions and people. A unit coordinator (UNIT_COORDINATOR) holds a
//! unit and reviews the needs raised in it or anywhere below it; a unit member (UNIT_MEMBER)
//! raises and edits its needs; an institution member (INSTITUTION_MEMBER) acts for the
//! institution. A grant counts in the partnerships that serve its organisation (its rounds and
//! commissions are open to it), and is managed by those serving it most nearly (RSO Vest for
//! Bergen, not KSF above it).
//!
//! Personal data (a person's name and e-mail) is visible to the person, to the coordinators of
//! any partnership managing them (or that they were created in), to the unit coordinators of any
//! unit at or above one of the person's, and to colleagues in the same organisation. Nobody else,
//! and never the public.
//!
//! This file holds the actions ([`Action`]) and every rule, in one match ([`Viewer::can`]). Beside
//! it: what a rule needs to know about a person or a need, and the commissions a viewer may see
//! (`scopes.rs`); who may do what, as a FORBIDDEN error says it (`allowed.rs`); what the viewer's
//! memberships say (`memberships.rs`).

use entity::enums::{CommissionStatus, NeedStatus, Role};

use crate::{auth::viewer::Viewer, domain::rounds::Scorer, error::AppError};

pub mod allowed;
mod memberships;
mod scopes;
#[cfg(test)]
mod tests;

pub use scopes::{CommissionScope, NeedScope, PersonScope};

/// Something a viewer may want to do, with the resource it concerns.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// Create people and add or remove memberships that the partnership manages.
    ManagePeople { partnership_id: i32 },
    /// Mint a token for a person: their own, or a coordinator of a partnership managing them (the
    /// token is then bound to the partnerships the coordinator coordinates).
    MintTokenFor(&'a PersonScope),
    /// See or revoke one token of `owner`'s, which carries grants in `bound` (`None`: all of the
    /// owner's). The owner may, unless the caller's own token is bound to fewer partnerships than
    /// the token; someone else only when they coordinate every partnership the token is bound to,
    /// or, for an unbound token, a partnership managing each of the owner's grants and every
    /// partnership the owner is registered in.
    ManageToken { owner: &'a PersonScope, bound: Option<&'a [i32]> },
    /// See a person at all, and their name and e-mail.
    SeePersonalData(&'a PersonScope),
    /// Read a partnership's audit log.
    ReadAuditLog { partnership_id: i32 },
    /// See a need: a draft only by the members of the unit that raised it, everything else by
    /// anyone.
    SeeNeed { status: NeedStatus, organisation_id: i32 },
    /// Write a need for a unit (as a member of it).
    SubmitNeedFor { organisation_id: i32 },
    /// Edit, submit, resubmit or withdraw a need of one's own unit.
    EditNeed(&'a NeedScope),
    /// Accept, return or reject a submitted need: the coordinators of its partnership, and the
    /// unit coordinators of the unit that raised it or of any unit above it.
    ReviewNeed(&'a NeedScope),
    /// Co-sign a need, or take a co-signature back, on behalf of a unit: its members, and the
    /// national coordinators on behalf of any unit (a need shared across regions).
    CosignFor { organisation_id: i32 },
    /// Link evidence, close as answered by existing evidence, merge and unmerge: the coordinators
    /// of the need's partnership.
    CurateNeed(&'a NeedScope),
    /// Create, rename, move and close organisations, add institutions, create regions and assign
    /// counties: a coordinator of one of `partnerships`, the partnerships serving the organisation
    /// concerned (it is their member, or under a member that accepts needs: KSF serves everything
    /// under the national level), or the one an institution registers with, or the national
    /// partnership for regions.
    ManageOrganisation { partnerships: &'a [i32] },
    /// See a partnership's prioritisation rounds and rankings: anyone whose grants count in it.
    SeeRound { partnership_id: i32 },
    /// Open and close rounds, and see every organisation's scores: the partnership's coordinators.
    ManageRounds { partnership_id: i32 },
    /// Score in a round on behalf of a unit (its coordinators) or an institution (its members).
    ScoreFor { scorer: Scorer },
    /// See a commission: published ones by anyone, drafts by the partnership's coordinators, the
    /// rest by those whose grants count in the partnership and by every institution member.
    SeeCommission { status: CommissionStatus, partnership_id: i32 },
    /// Draft, open, award and cancel commissions, publish summaries: the partnership's coordinators.
    ManageCommissions { partnership_id: i32 },
    /// Express interest, report progress, deliver: members of the institution.
    ActForInstitution { institution_id: i32 },
    /// See an institution's proposal: its members and the partnership's coordinators.
    SeeProposal { partnership_id: i32, institution_id: i32 },
    /// See a summary before it is published: the coordinators and the awarded institution.
    SeeUnpublishedSummary { partnership_id: i32, institution_id: Option<i32> },
    /// Record how a municipality used a summary: its members.
    RecordUptakeFor { organisation_id: i32 },
    /// Register, see, rotate, disable, enable and delete an organisation's webhook endpoints and
    /// see their attempts: a coordinator of one of `partnerships` (those serving it), or a unit
    /// coordinator of one of `units` (the organisation and the units above it).
    ManageWebhooks { partnerships: &'a [i32], units: &'a [i32] },
    /// Set which commissions an institution hears of (its themes and product types): its members,
    /// the coordinators of the partnership it is registered with, and the national coordinators.
    SetInstitutionProfile { institution_id: i32, partnership_id: i32 },
}

impl Viewer {
    /// Whether the viewer may do `action`: the rule of every action, in this one match.
    pub fn can(&self, action: Action<'_>) -> bool {
        match action {
            Action::SeeNeed { status, .. } if status != NeedStatus::Draft => return true,
            Action::SeeCommission { status: CommissionStatus::Published, .. } => return true,
            _ => {}
        }
        let Some(me) = self.person_id() else {
            return false;
        };
        match action {
            Action::ManagePeople { partnership_id }
            | Action::ReadAuditLog { partnership_id }
            | Action::ManageRounds { partnership_id }
            | Action::ManageCommissions { partnership_id } => self.is_coordinator_of(partnership_id),
            Action::ManageOrganisation { partnerships } => {
                partnerships.iter().any(|p| self.is_coordinator_of(*p))
            }
            Action::ManageWebhooks { partnerships, units } => {
                partnerships.iter().any(|p| self.is_coordinator_of(*p)) || self.coordinates_unit_among(units)
            }
            Action::SeeCommission { status, partnership_id } => match status {
                CommissionStatus::Draft => self.is_coordinator_of(partnership_id),
                _ => {
                    self.regions().contains(&partnership_id)
                        || self.grants().iter().any(|g| g.role == Role::InstitutionMember)
                }
            },
            Action::ActForInstitution { institution_id } => self.is_institution_member(institution_id),
            Action::SetInstitutionProfile { institution_id, partnership_id } => {
                self.is_institution_member(institution_id)
                    || self.is_coordinator_of(partnership_id)
                    || self.grants().iter().any(|g| g.national)
            }
            Action::SeeProposal { partnership_id, institution_id } => {
                self.is_coordinator_of(partnership_id) || self.is_institution_member(institution_id)
            }
            Action::SeeUnpublishedSummary { partnership_id, institution_id } => {
                self.is_coordinator_of(partnership_id)
                    || institution_id.is_some_and(|i| self.is_institution_member(i))
            }
            Action::SeeRound { partnership_id } => self.regions().contains(&partnership_id),
            Action::ScoreFor { scorer } => self.scorers().contains(&scorer),
            Action::CosignFor { organisation_id } => {
                self.is_member_of(organisation_id) || self.grants().iter().any(|g| g.national)
            }
            Action::SeeNeed { organisation_id, .. }
            | Action::SubmitNeedFor { organisation_id }
            | Action::RecordUptakeFor { organisation_id } => self.is_member_of(organisation_id),
            Action::EditNeed(need) => self.is_member_of(need.organisation_id),
            Action::ReviewNeed(need) => {
                need.status != NeedStatus::Draft
                    && (self.coordinates_unit_among(&need.ancestors)
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
            Action::ManageToken { bound: Some(partnerships), .. } => {
                !partnerships.is_empty() && partnerships.iter().all(|p| self.is_coordinator_of(*p))
            }
            // A token that carries all of the owner's grants: the caller must manage each grant
            // (coordinate a partnership that manages it) and every partnership the owner is
            // registered in.
            Action::ManageToken { owner, bound: None } => {
                let registered: Vec<i32> = owner
                    .home_partnership_id
                    .into_iter()
                    .chain(owner.registered_regions.iter().copied())
                    .collect();
                (!owner.grants.is_empty() || !registered.is_empty())
                    && owner.grants.iter().all(|g| g.managed_by.iter().any(|p| self.is_coordinator_of(*p)))
                    && registered.iter().all(|p| self.is_coordinator_of(*p))
            }
            Action::SeePersonalData(person) => {
                person.person_id == me
                    || person.regions().any(|r| self.is_coordinator_of(r))
                    || person.grants.iter().any(|g| {
                        self.coordinates_unit_among(&g.ancestors)
                            || g.organisation_id.is_some_and(|o| self.is_colleague_in(o))
                    })
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
