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
//!
//! Also here: what each history event tells and to whom (`need_notices`, `commission_notices`), and
//! when the notices no event triggers fall due (`round_opened`, `round_closing_soon`,
//! `round_closed`, `deadline_near`; `notify::schedule` writes them).

use chrono::{DateTime, TimeDelta, Utc};
use entity::enums::{
    Cadence, CommissionEventKind, CommissionStatus, NeedEventKind, NeedStatus, NotificationKind, Role,
    WebhookEventKind,
};

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

/// Who hears of an event, as groups the fan-out looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    /// A need's followers: the members of the unit that raised it, the unit coordinators of it
    /// and of every unit above it, and whoever wrote it.
    NeedFollowers,
    /// Those who review a need that arrived: the coordinators of its pool (the partnership it is
    /// in now) and the unit coordinators of the unit that raised it and of every unit above it.
    NeedReviewers,
    /// The members of the institutions whose profile the commission matches.
    MatchingInstitutions,
    /// A commission's parties: the coordinators of its partnership and the members of the
    /// institutions that showed interest in it or were awarded it.
    CommissionParties,
    /// Those who deliver a commission's work and follow it: the coordinators of its partnership
    /// and the members of the institution awarded it.
    AwardedParties,
    /// Those who score in a partnership's rounds: the unit coordinators and institution members
    /// whose grants count in it (held in an organisation the partnership serves).
    RoundScorers,
}

/// One group told of an event, under the first of `kinds` each person has not turned off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    pub audience: Audience,
    pub kinds: &'static [NotificationKind],
}

/// What an event tells: the people (each told once, by the first notice that names them) and the
/// kind of webhook the endpoints concerned receive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notices {
    pub people: Vec<Notice>,
    pub webhook: Option<WebhookEventKind>,
}

/// What a need's event tells. A draft is its unit's own: its creation tells no one, and of its
/// edits, evidence and merges (seen in the need's history) no one is told. The person who acted
/// is never told of their own act (the fan-out leaves them out).
pub fn need_notices(
    kind: NeedEventKind,
    from: Option<NeedStatus>,
    to: Option<NeedStatus>,
    reason: bool,
) -> Notices {
    use NotificationKind as K;
    let followers = |kinds| Notice { audience: Audience::NeedFollowers, kinds };
    let reviewers = Notice { audience: Audience::NeedReviewers, kinds: &[K::NewNeedInMyUnits] };
    let arrived = matches!(to, Some(NeedStatus::Submitted)) && from.is_none_or(|f| f == NeedStatus::Draft);
    match kind {
        NeedEventKind::Created if arrived => {
            Notices { people: vec![reviewers], webhook: Some(WebhookEventKind::NeedCreated) }
        }
        NeedEventKind::StatusChanged if arrived => Notices {
            people: vec![reviewers, followers(&[K::NeedStatusChanged])],
            webhook: Some(WebhookEventKind::NeedCreated),
        },
        NeedEventKind::StatusChanged => {
            let commented = reason && matches!(to, Some(NeedStatus::Returned | NeedStatus::Rejected));
            let kinds: &'static [NotificationKind] =
                if commented { &[K::NeedCommented, K::NeedStatusChanged] } else { &[K::NeedStatusChanged] };
            // A need forwarded arrives in the national pool: its reviewers hear of it as new.
            let people = if to == Some(NeedStatus::Forwarded) {
                vec![followers(kinds), reviewers]
            } else {
                vec![followers(kinds)]
            };
            Notices { people, webhook: Some(WebhookEventKind::NeedStatusChanged) }
        }
        NeedEventKind::Cosigned => Notices {
            people: vec![followers(&[K::NeedCosigned])],
            webhook: Some(WebhookEventKind::NeedCosigned),
        },
        _ => Notices::default(),
    }
}

/// What a commission's event tells. Drafting tells no one (a draft is its coordinators' own);
/// opening tells the institutions it matches, and its parties; every later step its parties.
pub fn commission_notices(kind: CommissionEventKind, to: Option<CommissionStatus>) -> Notices {
    use NotificationKind as K;
    let parties = Notice { audience: Audience::CommissionParties, kinds: &[K::CommissionChanged] };
    match (kind, to) {
        (_, Some(CommissionStatus::Draft)) | (CommissionEventKind::Created, None) => Notices::default(),
        (_, Some(CommissionStatus::Open)) => Notices {
            people: vec![
                Notice { audience: Audience::MatchingInstitutions, kinds: &[K::CommissionOpenedMatching] },
                parties,
            ],
            webhook: Some(WebhookEventKind::CommissionOpened),
        },
        _ => Notices { people: vec![parties], webhook: Some(WebhookEventKind::CommissionChanged) },
    }
}

/// How long before a round closes it is told that it closes soon.
pub const ROUND_CLOSING_NOTICE: TimeDelta = TimeDelta::hours(24);

/// How long before a commission's deadline, or a milestone's due date, it is told to be near.
pub const DEADLINE_NOTICE: TimeDelta = TimeDelta::days(3);

/// How long a round is open before its opening is told: a round opened by mistake and closed at
/// once tells no one it opened.
pub const ROUND_OPENED_GRACE: TimeDelta = TimeDelta::minutes(1);

/// Whether a scheduled notice (one no history event triggers) is to be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Not yet: look again later.
    NotYet,
    /// Now: tell, and mark it told.
    Now,
    /// Never: what it would tell is past or moot; mark it told without a word.
    Never,
}

/// What a round's scheduled notices need to know of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoundTimes {
    pub open: bool,
    pub opened_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// A round's opening is told once it has been open [`ROUND_OPENED_GRACE`], while it is still
/// open.
pub fn round_opened(round: RoundTimes, now: DateTime<Utc>) -> Due {
    if !round.open || now >= round.closes_at {
        Due::Never
    } else if now < round.opened_at + ROUND_OPENED_GRACE {
        Due::NotYet
    } else {
        Due::Now
    }
}

/// A round's closing is told [`ROUND_CLOSING_NOTICE`] before it closes, while it is open; not
/// for a round opened within that time (its opening said when it closes).
pub fn round_closing_soon(round: RoundTimes, now: DateTime<Utc>) -> Due {
    let soon = round.closes_at - ROUND_CLOSING_NOTICE;
    if !round.open || now >= round.closes_at || round.opened_at >= soon {
        Due::Never
    } else if now < soon {
        Due::NotYet
    } else {
        Due::Now
    }
}

/// A round's closing is told (to webhooks) once it is closed.
pub fn round_closed(round: RoundTimes) -> Due {
    if round.open { Due::NotYet } else { Due::Now }
}

/// Whether a commission in `status` has work under way whose dates are told: opened to
/// institutions or awarded, not yet delivered, published or cancelled.
pub fn under_way(status: CommissionStatus) -> bool {
    matches!(status, CommissionStatus::Open | CommissionStatus::Awarded | CommissionStatus::InProgress)
}

/// A deadline (a commission's, or a milestone's, `due`) is told [`DEADLINE_NOTICE`] before it,
/// while the work is `under_way`; a draft's waits (it may still open).
pub fn deadline_near(status: CommissionStatus, due: DateTime<Utc>, now: DateTime<Utc>) -> Due {
    if status == CommissionStatus::Draft {
        Due::NotYet
    } else if !under_way(status) || now >= due {
        Due::Never
    } else if now < due - DEADLINE_NOTICE {
        Due::NotYet
    } else {
        Due::Now
    }
}

/// The kind a person hears of a notice under, and how: the first of `kinds` whose cadence (from
/// `cadence_of`) is not OFF; `None` when they turned every one off.
pub fn chosen(
    kinds: &[NotificationKind],
    cadence_of: impl Fn(NotificationKind) -> Cadence,
) -> Option<(NotificationKind, Cadence)> {
    kinds.iter().map(|kind| (*kind, cadence_of(*kind))).find(|(_, cadence)| *cadence != Cadence::Off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_that_arrives_tells_its_reviewers_and_a_draft_tells_no_one() {
        let created = need_notices(NeedEventKind::Created, None, Some(NeedStatus::Submitted), false);
        assert_eq!(created.people[0].audience, Audience::NeedReviewers);
        assert_eq!(created.webhook, Some(WebhookEventKind::NeedCreated));
        assert_eq!(
            need_notices(NeedEventKind::Created, None, Some(NeedStatus::Draft), false),
            Notices::default()
        );
        let submitted = need_notices(
            NeedEventKind::StatusChanged,
            Some(NeedStatus::Draft),
            Some(NeedStatus::Submitted),
            false,
        );
        assert_eq!(
            submitted.people.iter().map(|n| n.audience).collect::<Vec<_>>(),
            [Audience::NeedReviewers, Audience::NeedFollowers]
        );
        for quiet in [NeedEventKind::Edited, NeedEventKind::EvidenceLinked, NeedEventKind::Merged] {
            assert_eq!(need_notices(quiet, None, None, false), Notices::default(), "{quiet:?}");
        }
    }

    #[test]
    fn a_return_with_a_reason_is_a_comment_first() {
        let returned = need_notices(
            NeedEventKind::StatusChanged,
            Some(NeedStatus::Submitted),
            Some(NeedStatus::Returned),
            true,
        );
        assert_eq!(
            returned.people[0].kinds,
            [NotificationKind::NeedCommented, NotificationKind::NeedStatusChanged]
        );
        let accepted = need_notices(
            NeedEventKind::StatusChanged,
            Some(NeedStatus::Submitted),
            Some(NeedStatus::Accepted),
            true,
        );
        assert_eq!(accepted.people[0].kinds, [NotificationKind::NeedStatusChanged]);
        let forwarded = need_notices(
            NeedEventKind::StatusChanged,
            Some(NeedStatus::Accepted),
            Some(NeedStatus::Forwarded),
            true,
        );
        assert_eq!(forwarded.people[1].audience, Audience::NeedReviewers);
    }

    #[test]
    fn an_opened_commission_tells_the_matching_institutions_and_a_draft_no_one() {
        let opened = commission_notices(CommissionEventKind::StatusChanged, Some(CommissionStatus::Open));
        assert_eq!(opened.people[0].audience, Audience::MatchingInstitutions);
        assert_eq!(opened.webhook, Some(WebhookEventKind::CommissionOpened));
        assert_eq!(
            commission_notices(CommissionEventKind::Created, Some(CommissionStatus::Draft)),
            Notices::default()
        );
        let progress = commission_notices(CommissionEventKind::Progress, None);
        assert_eq!(progress.people[0].audience, Audience::CommissionParties);
        assert_eq!(progress.webhook, Some(WebhookEventKind::CommissionChanged));
    }

    #[test]
    fn a_person_hears_under_the_first_kind_they_did_not_turn_off() {
        let kinds = [NotificationKind::NeedCommented, NotificationKind::NeedStatusChanged];
        let off_for_comments =
            |k| if k == NotificationKind::NeedCommented { Cadence::Off } else { Cadence::Digest };
        assert_eq!(
            chosen(&kinds, off_for_comments),
            Some((NotificationKind::NeedStatusChanged, Cadence::Digest))
        );
        assert_eq!(chosen(&kinds, |_| Cadence::Off), None);
    }

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

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + TimeDelta::hours(hours)
    }

    #[test]
    fn a_round_is_told_open_after_a_minute_and_closing_a_day_before() {
        let round = RoundTimes { open: true, opened_at: at(0), closes_at: at(72) };
        assert_eq!(round_opened(round, at(0)), Due::NotYet, "a minute's grace");
        assert_eq!(round_opened(round, at(1)), Due::Now);
        assert_eq!(round_opened(RoundTimes { open: false, ..round }, at(1)), Due::Never);
        assert_eq!(round_closing_soon(round, at(47)), Due::NotYet);
        assert_eq!(round_closing_soon(round, at(48)), Due::Now, "24 hours before");
        assert_eq!(round_closing_soon(round, at(71)), Due::Now);
        assert_eq!(round_closing_soon(round, at(72)), Due::Never, "closed by its time");
        assert_eq!(round_closing_soon(RoundTimes { open: false, ..round }, at(50)), Due::Never);
        assert_eq!(round_closed(round), Due::NotYet);
        assert_eq!(round_closed(RoundTimes { open: false, ..round }), Due::Now);
    }

    #[test]
    fn a_round_opened_within_a_day_of_closing_is_not_told_closing_soon() {
        let short = RoundTimes { open: true, opened_at: at(0), closes_at: at(12) };
        assert_eq!(round_closing_soon(short, at(1)), Due::Never);
        assert_eq!(round_opened(short, at(1)), Due::Now);
    }

    #[test]
    fn a_deadline_is_near_three_days_before_while_the_work_is_under_way() {
        let due = at(100);
        assert_eq!(deadline_near(CommissionStatus::Awarded, due, at(27)), Due::NotYet);
        assert_eq!(deadline_near(CommissionStatus::Awarded, due, at(28)), Due::Now, "72 hours before");
        assert_eq!(deadline_near(CommissionStatus::InProgress, due, at(99)), Due::Now);
        assert_eq!(deadline_near(CommissionStatus::Open, due, at(99)), Due::Now);
        assert_eq!(deadline_near(CommissionStatus::InProgress, due, at(100)), Due::Never, "passed");
        assert_eq!(deadline_near(CommissionStatus::Delivered, due, at(99)), Due::Never);
        assert_eq!(deadline_near(CommissionStatus::Cancelled, due, at(99)), Due::Never);
        assert_eq!(deadline_near(CommissionStatus::Draft, due, at(99)), Due::NotYet, "it may still open");
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
