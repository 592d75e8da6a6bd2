//! The rules of webhooks that are neither HTTP nor SQL: when a delivery that failed is tried again
//! (exponential backoff with jitter over about a day, then no more: the endpoint is disabled; a
//! pure function, the caller draws the jitter), how long a rotated-out secret keeps signing, and
//! how many endpoints an organisation may have.
//!
//! The Standard Webhooks specification recommends retrying on an exponential schedule with random
//! jitter, so that receivers that fail under load are not hit again by every sender at once, and
//! disabling an endpoint that keeps failing (with word to its owner by another channel).

use std::time::Duration;

/// How long a secret rotated out keeps signing beside the new one, so receivers can switch
/// without losing a message.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 60 * 60);

/// The most endpoints one organisation may register (`Organisation.webhooks` is read whole).
pub const MAX_ENDPOINTS: usize = 10;

/// The longest description of an endpoint.
pub const MAX_DESCRIPTION_CHARS: usize = 200;

/// The pause after the first, second, ... failed attempt of one message: from seconds (a blip)
/// to hours (an outage), 85,355 s (23.7 h) in all before jitter.
pub const SCHEDULE: [Duration; 10] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(2 * 60),
    Duration::from_secs(10 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(60 * 60),
    Duration::from_secs(2 * 60 * 60),
    Duration::from_secs(4 * 60 * 60),
    Duration::from_secs(8 * 60 * 60),
    Duration::from_secs(8 * 60 * 60),
];

/// How far jitter moves a pause either way, as a share of it (a fifth: 8 h lands between 6.4 h
/// and 9.6 h).
pub const JITTER: f64 = 0.2;

/// Attempts of one message in all: the first and one after each pause of the schedule.
pub const MAX_ATTEMPTS: u32 = SCHEDULE.len() as u32 + 1;

/// What follows a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Retry {
    /// Try again after this pause.
    After(Duration),
    /// The schedule is spent: give the message up and disable the endpoint.
    GiveUp,
}

/// What follows the `failures`-th failed attempt of a message (1 after the first), with `jitter`
/// a random draw in `[0, 1)` (values outside are clamped): the schedule's pause moved by up to
/// [`JITTER`] of it either way.
pub fn after_failure(failures: u32, jitter: f64) -> Retry {
    let Some(base) = failures.checked_sub(1).and_then(|i| SCHEDULE.get(i as usize)) else {
        return Retry::GiveUp;
    };
    let jitter = if jitter.is_finite() { jitter.clamp(0.0, 1.0) } else { 0.5 };
    let factor = 1.0 - JITTER + 2.0 * JITTER * jitter;
    Retry::After(base.mul_f64(factor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(failures: u32, jitter: f64) -> Duration {
        match after_failure(failures, jitter) {
            Retry::After(pause) => pause,
            Retry::GiveUp => panic!("the schedule ended after {failures} failures"),
        }
    }

    #[test]
    fn the_pauses_grow_and_end_after_about_a_day() {
        let pauses: Vec<Duration> = (1..MAX_ATTEMPTS).map(|n| pause(n, 0.5)).collect();
        assert_eq!(pauses, SCHEDULE, "without jitter, the schedule itself");
        assert!(pauses.windows(2).all(|w| w[0] <= w[1]), "never shorter than the one before");
        let total: Duration = pauses.iter().sum();
        assert!(
            total > Duration::from_secs(20 * 3600) && total < Duration::from_secs(28 * 3600),
            "{total:?}"
        );
        assert_eq!(after_failure(MAX_ATTEMPTS, 0.5), Retry::GiveUp, "the eleventh failure gives up");
        assert_eq!(after_failure(u32::MAX, 0.5), Retry::GiveUp);
        assert_eq!(after_failure(0, 0.5), Retry::GiveUp, "no failure, no retry");
    }

    #[test]
    fn jitter_moves_a_pause_by_at_most_a_fifth_either_way() {
        for failures in 1..MAX_ATTEMPTS {
            let base = SCHEDULE[failures as usize - 1];
            let shortest = pause(failures, 0.0);
            let longest = pause(failures, 0.999_999);
            assert_eq!(shortest, base.mul_f64(0.8));
            assert!(longest <= base.mul_f64(1.2) && longest > base.mul_f64(1.19), "{longest:?}");
            for jitter in [0.1, 0.3, 0.7, 0.9] {
                let p = pause(failures, jitter);
                assert!(p >= shortest && p <= longest);
            }
        }
        let total_longest: Duration = (1..MAX_ATTEMPTS).map(|n| pause(n, 1.0)).sum();
        assert!(total_longest < Duration::from_secs(29 * 3600), "at most about a day: {total_longest:?}");
    }

    #[test]
    fn a_draw_outside_the_unit_interval_is_clamped() {
        assert_eq!(pause(1, -3.0), pause(1, 0.0));
        assert_eq!(pause(1, 7.0), pause(1, 1.0));
        assert_eq!(pause(1, f64::NAN), pause(1, 0.5));
    }
}
