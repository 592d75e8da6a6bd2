//! Who may do what, as a FORBIDDEN error says it: by the kind of action and the role it takes
//! (as the API writes roles), never about a particular row; and which of them refuses each
//! [`Action`]. The few guards without a resource use them directly.

use super::Action;

pub const MANAGE_PEOPLE: &str = "only a coordinator (COORDINATOR) of a partnership serving the organisation may manage its people and memberships";
pub const MINT_TOKENS: &str =
    "only the person and a coordinator (COORDINATOR) of their partnership may create their tokens";
pub const MANAGE_TOKEN: &str = "only the person, or a coordinator (COORDINATOR) of every partnership the token reaches, \
     may see or revoke a token";
pub const SEE_PERSONAL_DATA: &str = "only the person, the coordinators of their partnerships and units, and colleagues in \
     their organisation may see their personal data";
pub const READ_AUDIT_LOG: &str = "only a coordinator (COORDINATOR) of the partnership may read its audit log";
pub const SEE_DRAFT: &str = "only a member (UNIT_MEMBER) of the unit that raised the need may see its draft";
pub const SUBMIT_NEED: &str = "only a member (UNIT_MEMBER) of the unit may submit its needs";
pub const EDIT_NEED: &str =
    "only a member (UNIT_MEMBER) of the unit that raised the need may edit, submit or withdraw it";
pub const REVIEW_NEED: &str = "only a coordinator of the need's partnership (COORDINATOR), or of the unit that raised \
     it or a unit above it (UNIT_COORDINATOR), may accept, return or reject it";
pub const COSIGN: &str = "only a member (UNIT_MEMBER) of the unit, or a national coordinator (COORDINATOR of KSF), \
     may co-sign on its behalf";
pub const CURATE_NEED: &str = "only a coordinator (COORDINATOR) of the need's partnership may link evidence to it, \
     close, merge or unmerge it";
pub const MANAGE_ORGANISATION: &str = "only a coordinator (COORDINATOR) of a partnership serving the organisation (KSF's \
     for regions and counties) may create, rename, move or close it";
pub const SEE_ROUND: &str = "only members of the round's partnership may see it";
pub const MANAGE_ROUNDS: &str = "only a coordinator (COORDINATOR) of the partnership may open and close its rounds \
     and see every organisation's scores";
pub const SCORE: &str = "only a coordinator of the unit (UNIT_COORDINATOR) or a member of the institution \
     (INSTITUTION_MEMBER) may score for it";
pub const SEE_COMMISSION: &str = "only a coordinator (COORDINATOR) of the partnership may see a DRAFT commission; \
     members of the partnership and institution members see the others";
pub const MANAGE_COMMISSIONS: &str = "only a coordinator (COORDINATOR) of the commission's partnership may draft, open, \
     award and cancel it and publish its summary";
pub const ACT_FOR_INSTITUTION: &str = "only a member (INSTITUTION_MEMBER) of the institution may express interest, report \
     progress or deliver for it";
pub const ACT_FOR_AWARDED: &str = "only a member (INSTITUTION_MEMBER) of the awarded institution may report progress, \
     add milestones or deliver, once the commission is awarded";
pub const SEE_PROPOSAL: &str =
    "only the institution's members and a coordinator (COORDINATOR) of the partnership may see a proposal";
pub const SEE_UNPUBLISHED_SUMMARY: &str = "only a coordinator (COORDINATOR) of the partnership and the awarded institution \
     may see a summary before it is published";
pub const RECORD_UPTAKE: &str = "only a member (UNIT_MEMBER) of the municipality may record its uptake";
pub const MANAGE_WEBHOOKS: &str = "only a coordinator (COORDINATOR) of a partnership serving the organisation, or a \
     coordinator (UNIT_COORDINATOR) of it or a unit above it, may manage its webhooks";
pub const SET_INSTITUTION_PROFILE: &str = "only a member (INSTITUTION_MEMBER) of the institution, a coordinator \
     (COORDINATOR) of the partnership it is registered with, or a national coordinator may set its profile";
pub const FOLLOW_COMMISSIONS: &str = "only institution members (INSTITUTION_MEMBER) and coordinators (COORDINATOR) may follow opened commissions";

impl Action<'_> {
    /// Who may do this, for the FORBIDDEN error.
    pub fn allowed(&self) -> &'static str {
        match self {
            Action::ManagePeople { .. } => MANAGE_PEOPLE,
            Action::MintTokenFor(_) => MINT_TOKENS,
            Action::ManageToken { .. } => MANAGE_TOKEN,
            Action::SeePersonalData(_) => SEE_PERSONAL_DATA,
            Action::ReadAuditLog { .. } => READ_AUDIT_LOG,
            Action::SeeNeed { .. } => SEE_DRAFT,
            Action::SubmitNeedFor { .. } => SUBMIT_NEED,
            Action::EditNeed(_) => EDIT_NEED,
            Action::ReviewNeed(_) => REVIEW_NEED,
            Action::CosignFor { .. } => COSIGN,
            Action::CurateNeed(_) => CURATE_NEED,
            Action::ManageOrganisation { .. } => MANAGE_ORGANISATION,
            Action::SeeRound { .. } => SEE_ROUND,
            Action::ManageRounds { .. } => MANAGE_ROUNDS,
            Action::ScoreFor { .. } => SCORE,
            Action::SeeCommission { .. } => SEE_COMMISSION,
            Action::ManageCommissions { .. } => MANAGE_COMMISSIONS,
            Action::ActForInstitution { .. } => ACT_FOR_INSTITUTION,
            Action::SeeProposal { .. } => SEE_PROPOSAL,
            Action::SeeUnpublishedSummary { .. } => SEE_UNPUBLISHED_SUMMARY,
            Action::RecordUptakeFor { .. } => RECORD_UPTAKE,
            Action::ManageWebhooks { .. } => MANAGE_WEBHOOKS,
            Action::SetInstitutionProfile { .. } => SET_INSTITUTION_PROFILE,
        }
    }
}
