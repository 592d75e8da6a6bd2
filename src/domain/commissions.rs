//! The life of a commission: one state machine, `next`, for every move.

use entity::enums::CommissionStatus::{self, *};

use crate::domain::needs::Move;

/// Something that moves a commission to another state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommissionMove {
    /// Publish the request to institutions.
    Open,
    /// Give it to one institution (after interest, or directly).
    Award,
    /// The institution reports that work has started.
    Start,
    /// The institution delivers the knowledge summary.
    Deliver,
    /// The coordinator publishes the summary.
    Publish,
    /// Stop it before delivery.
    Cancel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IllegalCommissionMove {
    pub from: CommissionStatus,
    pub attempted: CommissionMove,
}

impl std::fmt::Display for IllegalCommissionMove {
    /// What happened and what comes first, in the API's words (`AWARDED`, `deliverSummary`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a commission that is {} cannot be {}", self.from, self.attempted.past_tense())?;
        let what_first = match (self.from, self.attempted) {
            (Published | Cancelled, _) => ": it is finished",
            (_, CommissionMove::Publish) => {
                ": the summary must be delivered first (deliverSummary by the awarded institution)"
            }
            (Draft | Open, CommissionMove::Start | CommissionMove::Deliver) => {
                ": it must be awarded first (awardCommission)"
            }
            (Delivered, CommissionMove::Cancel) => {
                ": its summary is delivered; publish it with publishSummary"
            }
            (Delivered, _) => ": its summary is delivered; what remains is publishSummary",
            (InProgress, CommissionMove::Start) => ": work has started already",
            (_, CommissionMove::Open) => ": only a DRAFT is opened",
            (_, CommissionMove::Award) => ": only a DRAFT or OPEN commission is awarded",
            _ => "",
        };
        f.write_str(what_first)
    }
}

impl CommissionMove {
    fn past_tense(self) -> &'static str {
        match self {
            CommissionMove::Open => "opened",
            CommissionMove::Award => "awarded",
            CommissionMove::Start => "started",
            CommissionMove::Deliver => "delivered",
            CommissionMove::Publish => "published",
            CommissionMove::Cancel => "cancelled",
        }
    }
}

/// The one state machine of a commission.
pub fn next(
    from: CommissionStatus,
    attempted: CommissionMove,
) -> Result<CommissionStatus, IllegalCommissionMove> {
    Ok(match (from, attempted) {
        (Draft, CommissionMove::Open) => Open,
        // Awarding after interest, or assigning a draft directly.
        (Draft | Open, CommissionMove::Award) => Awarded,
        (Awarded, CommissionMove::Start) => InProgress,
        // Delivery may come without a progress report.
        (Awarded | InProgress, CommissionMove::Deliver) => Delivered,
        (Delivered, CommissionMove::Publish) => Published,
        (Draft | Open | Awarded | InProgress, CommissionMove::Cancel) => Cancelled,
        _ => return Err(IllegalCommissionMove { from, attempted }),
    })
}

/// The states a commission never leaves.
pub const TERMINAL: [CommissionStatus; 2] = [Published, Cancelled];

/// What a commission's move does to the needs it answers, in the same transaction: awarding
/// commissions them, publishing answers them, and cancelling awarded work gives them back to the
/// pool of prioritised needs (a draft or open commission never moved them).
pub fn effect_on_needs(from: CommissionStatus, attempted: CommissionMove) -> Option<Move> {
    match (from, attempted) {
        (_, CommissionMove::Award) => Some(Move::Commission),
        (_, CommissionMove::Publish) => Some(Move::Answer),
        (Awarded | InProgress, CommissionMove::Cancel) => Some(Move::Release),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use entity::enums::NeedStatus;
    use sea_orm::Iterable;

    use super::*;
    use crate::domain::needs;

    #[test]
    fn refusals_speak_the_api_and_say_what_comes_first() {
        let early = next(Awarded, CommissionMove::Publish).expect_err("not delivered");
        assert_eq!(
            early.to_string(),
            "a commission that is AWARDED cannot be published: the summary must be delivered first \
             (deliverSummary by the awarded institution)"
        );
        for from in CommissionStatus::iter() {
            for attempted in MOVES {
                if let Err(illegal) = next(from, attempted) {
                    let message = illegal.to_string();
                    assert!(message.contains(&from.to_string()), "{message}");
                    assert!(
                        !message.contains(&format!("{from:?}")) || from.to_string() == format!("{from:?}")
                    );
                }
            }
        }
    }

    const MOVES: [CommissionMove; 6] = [
        CommissionMove::Open,
        CommissionMove::Award,
        CommissionMove::Start,
        CommissionMove::Deliver,
        CommissionMove::Publish,
        CommissionMove::Cancel,
    ];

    /// DRAFT -> OPEN -> AWARDED -> IN_PROGRESS -> DELIVERED -> PUBLISHED, CANCELLED before DELIVERED,
    /// plus direct assignment (DRAFT -> AWARDED) and delivery without a progress report.
    const ALLOWED: &[(CommissionStatus, CommissionStatus)] = &[
        (Draft, Open),
        (Draft, Awarded),
        (Draft, Cancelled),
        (Open, Awarded),
        (Open, Cancelled),
        (Awarded, InProgress),
        (Awarded, Delivered),
        (Awarded, Cancelled),
        (InProgress, Delivered),
        (InProgress, Cancelled),
        (Delivered, Published),
    ];

    #[test]
    fn every_pair_of_states_is_allowed_exactly_as_described() {
        for from in CommissionStatus::iter() {
            for to in CommissionStatus::iter() {
                let reachable = MOVES.iter().any(|m| next(from, *m) == Ok(to));
                assert_eq!(reachable, ALLOWED.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
    }

    /// Every need move a person makes (reviews, rounds, merges, the evidence check); the moves
    /// that follow a commission (`Commission`, `Answer`, `Release`) come only from
    /// `effect_on_needs`.
    fn own_moves() -> Vec<Move> {
        let mut moves = vec![
            Move::Submit,
            Move::Accept,
            Move::Return,
            Move::Reject,
            Move::Withdraw,
            Move::Merge,
            Move::AnswerByExistingEvidence,
            Move::Prioritise,
            Move::Defer,
        ];
        moves.extend(NeedStatus::iter().map(|restore| Move::Unmerge { restore }));
        moves
    }

    /// A need and the commission that answers it, if one does and is not finished.
    type Joint = (NeedStatus, Option<CommissionStatus>);

    /// Where one step takes a joint state: a need's own move, drafting a commission for a
    /// prioritised need, or a commission move with its effect on the need (a move whose effect
    /// the need refuses fails as a whole, as its transaction does).
    fn steps((need, commission): Joint) -> Vec<Joint> {
        let mut out: Vec<Joint> = own_moves()
            .into_iter()
            .filter_map(|m| needs::next(need, m).ok())
            .map(|n| (n, commission))
            .collect();
        match commission {
            None if need == NeedStatus::Prioritised => out.push((need, Some(Draft))),
            None => {}
            Some(from) => {
                for m in MOVES {
                    let Ok(to) = next(from, m) else { continue };
                    let need_after = match effect_on_needs(from, m) {
                        Some(effect) => match needs::next(need, effect) {
                            Ok(n) => n,
                            Err(_) => continue,
                        },
                        None => need,
                    };
                    out.push((need_after, (!TERMINAL.contains(&to)).then_some(to)));
                }
            }
        }
        out
    }

    /// The states the life of a need ends in, documented in ARCHITECTURE.md.
    const TERMINAL_NEEDS: [NeedStatus; 4] = [
        NeedStatus::Rejected,
        NeedStatus::Answered,
        NeedStatus::AnsweredByExistingEvidence,
        NeedStatus::Withdrawn,
    ];

    #[test]
    fn every_reachable_state_of_a_need_and_its_commission_has_a_way_forward() {
        use std::collections::{BTreeSet, VecDeque};
        let key = |state: Joint| format!("{state:?}");
        let mut seen = BTreeSet::new();
        let mut states = Vec::new();
        let mut queue = VecDeque::from([(NeedStatus::Draft, None)]);
        while let Some(state) = queue.pop_front() {
            if seen.insert(key(state)) {
                states.push(state);
                queue.extend(steps(state));
            }
        }
        let terminal = |(n, c): Joint| TERMINAL_NEEDS.contains(&n) && c.is_none();
        for &state in &states {
            let exits: Vec<Joint> = steps(state).into_iter().filter(|s| key(*s) != key(state)).collect();
            if terminal(state) {
                assert!(exits.is_empty(), "{state:?} is listed as terminal but moves on: {exits:?}");
            } else {
                assert!(!exits.is_empty(), "{state:?} is a dead end");
            }
        }
        // No trap either: from every reachable state some terminal state can be reached.
        for &start in &states {
            let mut reached = BTreeSet::new();
            let mut queue = VecDeque::from([start]);
            let mut ends = false;
            while let Some(state) = queue.pop_front() {
                if !reached.insert(key(state)) {
                    continue;
                }
                ends |= terminal(state);
                queue.extend(steps(state));
            }
            assert!(ends, "nothing finishes from {start:?}");
        }
        // Every terminal state listed is reached, and a need is only ever COMMISSIONED under a
        // commission that is still going.
        for n in TERMINAL_NEEDS {
            assert!(states.contains(&(n, None)), "{n:?} is never reached");
        }
        for (n, c) in &states {
            if *n == NeedStatus::Commissioned {
                assert!(matches!(c, Some(Awarded | InProgress | Delivered)), "COMMISSIONED under {c:?}");
            }
        }
        for c in TERMINAL {
            assert!(MOVES.iter().all(|m| next(c, *m).is_err()), "{c:?} moves on");
        }
    }

    #[test]
    fn cancelling_awarded_work_gives_its_needs_back() {
        for from in [Awarded, InProgress] {
            let effect = effect_on_needs(from, CommissionMove::Cancel).expect("an effect");
            assert_eq!(needs::next(NeedStatus::Commissioned, effect), Ok(NeedStatus::Prioritised));
        }
        assert_eq!(effect_on_needs(Draft, CommissionMove::Cancel), None);
        assert_eq!(effect_on_needs(Open, CommissionMove::Cancel), None);
    }
}
