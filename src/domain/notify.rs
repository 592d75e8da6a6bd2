//! Who hears of what unless they choose otherwise: the default cadence of each notification kind
//! for each role, and a person's effective preferences (what they stored, else the default).
//!
//! A new member gets useful mail without configuring anything. The defaults, by role (an old
//! role name counts as its new one):
//!
//! | kind | UNIT_MEMBER | UNIT_COORDINATOR | COORDINATOR | INSTITUTION_MEMBER |
//! |---|---|---|---|---|
//! | NEED_STATUS_CHANGED | IMMEDIATE | DIGEST | OFF | OFF |
//! | NEED_COMMENTED | IMMEDIATE | IMMEDIATE | OFF | OFF |
//! | NEED_COSIGNED | IMMEDIATE | DIGEST | OFF | OFF |
//! | NEW_NEED_IN_MY_UNITS | OFF | DIGEST | DIGEST | OFF |
//! | COMMISSION_OPENED_MATCHING | OFF | OFF | OFF | IMMEDIATE |
//! | COMMISSION_CHANGED | DIGEST | DIGEST | IMMEDIATE | IMMEDIATE |
//! | ROUND_OPENED | OFF | IMMEDIATE | OFF | IMMEDIATE |
//! | ROUND_CLOSING_SOON | OFF | IMMEDIATE | DIGEST | IMMEDIATE |
//! | DEADLINE_APPROACHING | OFF | OFF | DIGEST | IMMEDIATE |
//!
//! Why: a unit's members raise needs and want to know at once when one is returned or moves; its
//! coordinators review the unit's needs (a daily look at what arrived), are told at once of a
//! return they may have to help with, and score in rounds; a partnership's coordinators run the
//! pool (a daily look at what arrived), open the rounds themselves (so they are not told a round
//! opened), act when an institution shows interest in or delivers a commission of theirs, and
//! follow its dates in the digest; institutions' members answer open commissions, score in
//! rounds and deliver work to deadlines, each of which they need to hear of when it happens.
//!
//! A person holding several roles gets the most eager default of them (IMMEDIATE over DIGEST over
//! OFF); one holding none (a person without memberships) gets nothing by default.

use entity::enums::{Cadence, NotificationKind, Role};

/// The default cadence of `kind` for one role.
pub fn role_default(kind: NotificationKind, role: Role) -> Cadence {
    use Cadence::{Digest as D, Immediate as I, Off as O};
    use NotificationKind as K;
    // Columns: unit member, unit coordinator, coordinator, institution member.
    let [member, unit_coordinator, coordinator, institution] = match kind {
        K::NeedStatusChanged => [I, D, O, O],
        K::NeedCommented => [I, I, O, O],
        K::NeedCosigned => [I, D, O, O],
        K::NewNeedInMyUnits => [O, D, D, O],
        K::CommissionOpenedMatching => [O, O, O, I],
        K::CommissionChanged => [D, D, I, I],
        K::RoundOpened => [O, I, O, I],
        K::RoundClosingSoon => [O, I, D, I],
        K::DeadlineApproaching => [O, O, D, I],
    };
    match role.current() {
        Role::UnitMember | Role::MunicipalityMember => member,
        Role::UnitCoordinator | Role::ClusterCoordinator => unit_coordinator,
        Role::Coordinator => coordinator,
        Role::InstitutionMember => institution,
    }
}

/// The default cadence of `kind` for a person holding `roles`: the most eager of theirs.
pub fn default_for(kind: NotificationKind, roles: &[Role]) -> Cadence {
    roles.iter().map(|role| role_default(kind, *role)).max().unwrap_or(Cadence::Off)
}

/// How a person hears of one kind, and whether that is their roles' default (nothing stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preference {
    pub kind: NotificationKind,
    pub cadence: Cadence,
    pub is_default: bool,
}

/// A person's preference for every kind, in the kinds' order: what they `stored`, else the
/// default of their `roles`.
pub fn effective(stored: &[(NotificationKind, Cadence)], roles: &[Role]) -> Vec<Preference> {
    NotificationKind::ALL
        .into_iter()
        .map(|kind| match stored.iter().find(|(k, _)| *k == kind) {
            Some((_, cadence)) => Preference { kind, cadence: *cadence, is_default: false },
            None => Preference { kind, cadence: default_for(kind, roles), is_default: true },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_hear_of_their_needs_at_once_and_coordinators_of_new_needs_in_a_digest() {
        let member = [Role::UnitMember];
        assert_eq!(default_for(NotificationKind::NeedStatusChanged, &member), Cadence::Immediate);
        assert_eq!(default_for(NotificationKind::NeedCommented, &member), Cadence::Immediate);
        assert_eq!(default_for(NotificationKind::NewNeedInMyUnits, &[Role::Coordinator]), Cadence::Digest);
        assert_eq!(
            default_for(NotificationKind::NewNeedInMyUnits, &[Role::UnitCoordinator]),
            Cadence::Digest
        );
        assert_eq!(
            default_for(NotificationKind::CommissionOpenedMatching, &[Role::InstitutionMember]),
            Cadence::Immediate
        );
        assert_eq!(default_for(NotificationKind::CommissionOpenedMatching, &member), Cadence::Off);
    }

    #[test]
    fn every_kind_is_listed_once() {
        use sea_orm::Iterable;
        let all: Vec<_> = NotificationKind::iter().collect();
        assert_eq!(all, NotificationKind::ALL.to_vec());
    }

    #[test]
    fn old_role_names_get_the_defaults_of_the_new() {
        for kind in NotificationKind::ALL {
            assert_eq!(role_default(kind, Role::MunicipalityMember), role_default(kind, Role::UnitMember));
            assert_eq!(
                role_default(kind, Role::ClusterCoordinator),
                role_default(kind, Role::UnitCoordinator)
            );
        }
    }

    #[test]
    fn several_roles_get_the_most_eager_default_and_none_get_nothing() {
        let both = [Role::Coordinator, Role::UnitMember];
        assert_eq!(default_for(NotificationKind::NeedStatusChanged, &both), Cadence::Immediate);
        assert_eq!(default_for(NotificationKind::NewNeedInMyUnits, &both), Cadence::Digest);
        for kind in NotificationKind::ALL {
            assert_eq!(default_for(kind, &[]), Cadence::Off);
        }
    }

    #[test]
    fn every_role_hears_of_something_at_once_by_default() {
        for role in [Role::UnitMember, Role::UnitCoordinator, Role::Coordinator, Role::InstitutionMember] {
            assert!(
                NotificationKind::ALL.into_iter().any(|kind| role_default(kind, role) == Cadence::Immediate),
                "{role} gets nothing at once"
            );
        }
    }

    #[test]
    fn a_stored_choice_wins_over_the_default_for_its_kind_only() {
        let stored = [(NotificationKind::NeedStatusChanged, Cadence::Off)];
        let preferences = effective(&stored, &[Role::UnitMember]);
        assert_eq!(preferences.len(), NotificationKind::ALL.len());
        let status = preferences.iter().find(|p| p.kind == NotificationKind::NeedStatusChanged);
        assert_eq!(
            status,
            Some(&Preference {
                kind: NotificationKind::NeedStatusChanged,
                cadence: Cadence::Off,
                is_default: false
            })
        );
        let comments = preferences.iter().find(|p| p.kind == NotificationKind::NeedCommented);
        assert_eq!(
            comments,
            Some(&Preference {
                kind: NotificationKind::NeedCommented,
                cadence: Cadence::Immediate,
                is_default: true
            })
        );
    }
}
