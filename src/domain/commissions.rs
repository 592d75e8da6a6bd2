//! The life of a commission: one state machine, `next`, for every move.

use entity::enums::CommissionStatus::{self, *};

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

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

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
}
