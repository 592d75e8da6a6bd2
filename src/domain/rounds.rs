//! Prioritisation rounds: the ranking of candidate needs from the member organisations' scores.
//!
//! For each need and criterion the mean of the organisations' values (1-5) is taken; the need's
//! weighted mean is the weight-averaged criterion means over the criteria that got any score
//! (abstentions do not pull a need down). Needs are ranked by weighted mean, then reach, then
//! earliest submission, then id; needs nobody scored come last.

use std::cmp::Ordering;

/// The most criteria a round may have (its own, or the default ones): the bound its criteria,
/// criterion means and scores are priced by.
pub const MAX_CRITERIA: usize = 20;

/// The most organisations (units and institutions) that score one need in a round. Units of any
/// kind score, so a national round could otherwise gather scores from every unit of the country:
/// the writer refuses the one past this bound, and `RankingEntry.scores` is priced at it (RSO
/// Vest's rounds have 15 possible scorers: 4 clusters and 11 institutions). Raising it raises the
/// price of every ranking page.
pub const MAX_SCORERS_PER_NEED: usize = 16;

/// The most scores one need can have in a round: one per scoring organisation
/// (`MAX_SCORERS_PER_NEED`) and criterion.
pub const MAX_SCORES_PER_NEED: usize = MAX_SCORERS_PER_NEED * MAX_CRITERIA;

use chrono::{DateTime, Utc};

/// The lowest and highest value of a score.
pub const SCORE_RANGE: std::ops::RangeInclusive<i32> = 1..=5;

/// A scoring organisation: a unit (by its organisation id; its UNIT_COORDINATORs score) or an
/// institution (by its own id; its members score).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scorer {
    Unit(i32),
    Institution(i32),
}

/// One value given by one organisation for one need on one criterion.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub need_id: i32,
    pub criterion_id: i32,
    pub scorer: Scorer,
    pub value: i32,
}

/// A candidate need and the facts the tie-breaks use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Candidate {
    pub need_id: i32,
    /// Municipalities behind the need.
    pub reach: i32,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// The mean of one criterion for one need.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CriterionMean {
    pub criterion_id: i32,
    pub mean: f64,
    pub count: usize,
}

/// One line of the ranking.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    pub position: usize,
    pub need_id: i32,
    /// `None` when nobody scored the need.
    pub weighted_mean: Option<f64>,
    /// How many organisations scored the need (on any criterion).
    pub scorers: usize,
    pub criterion_means: Vec<CriterionMean>,
    pub reach: i32,
}

/// Ranks `candidates` by the `scores` on criteria with `weights` (criterion id, weight).
pub fn rank(candidates: &[Candidate], weights: &[(i32, f64)], scores: &[Score]) -> Vec<Ranked> {
    let mut lines: Vec<(Ranked, Option<DateTime<Utc>>)> = candidates
        .iter()
        .map(|candidate| {
            let mine: Vec<&Score> = scores.iter().filter(|s| s.need_id == candidate.need_id).collect();
            let criterion_means: Vec<CriterionMean> = weights
                .iter()
                .filter_map(|&(criterion_id, _)| {
                    let values: Vec<i32> =
                        mine.iter().filter(|s| s.criterion_id == criterion_id).map(|s| s.value).collect();
                    (!values.is_empty()).then(|| CriterionMean {
                        criterion_id,
                        mean: f64::from(values.iter().sum::<i32>()) / values.len() as f64,
                        count: values.len(),
                    })
                })
                .collect();
            let weight_of = |id: i32| weights.iter().find(|(c, _)| *c == id).map_or(0.0, |(_, w)| *w);
            let total_weight: f64 = criterion_means.iter().map(|m| weight_of(m.criterion_id)).sum();
            let weighted_mean = (total_weight > 0.0).then(|| {
                criterion_means.iter().map(|m| weight_of(m.criterion_id) * m.mean).sum::<f64>() / total_weight
            });
            let mut scorers: Vec<Scorer> = mine.iter().map(|s| s.scorer).collect();
            scorers.sort();
            scorers.dedup();
            let line = Ranked {
                position: 0,
                need_id: candidate.need_id,
                weighted_mean,
                scorers: scorers.len(),
                criterion_means,
                reach: candidate.reach,
            };
            (line, candidate.submitted_at)
        })
        .collect();
    lines.sort_by(|(a, a_at), (b, b_at)| {
        let by_mean = match (a.weighted_mean, b.weighted_mean) {
            (Some(x), Some(y)) => y.partial_cmp(&x).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        let by_submission = match (a_at, b_at) {
            (Some(x), Some(y)) => x.cmp(y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_mean.then(b.reach.cmp(&a.reach)).then(by_submission).then(a.need_id.cmp(&b.need_id))
    });
    lines
        .into_iter()
        .enumerate()
        .map(|(i, (mut line, _))| {
            line.position = i + 1;
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(day: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).single()
    }

    fn score(need_id: i32, criterion_id: i32, scorer: Scorer, value: i32) -> Score {
        Score { need_id, criterion_id, scorer, value }
    }

    const A: Scorer = Scorer::Unit(1);
    const B: Scorer = Scorer::Unit(2);
    const U: Scorer = Scorer::Institution(1);

    #[test]
    fn weighted_means_match_hand_computed_values() {
        // Criterion 10 weighs 2, criterion 20 weighs 1.
        let weights = [(10, 2.0), (20, 1.0)];
        let candidates = [
            Candidate { need_id: 1, reach: 1, submitted_at: at(1) },
            Candidate { need_id: 2, reach: 3, submitted_at: at(2) },
        ];
        let scores = [
            // Need 1: criterion 10 -> (5 + 3) / 2 = 4; criterion 20 -> (2 + 4 + 3) / 3 = 3.
            score(1, 10, A, 5),
            score(1, 10, B, 3),
            score(1, 20, A, 2),
            score(1, 20, B, 4),
            score(1, 20, U, 3),
            // Need 2: criterion 10 -> 4; criterion 20 abstained by all, so only criterion 10 counts.
            score(2, 10, U, 4),
        ];
        let ranking = rank(&candidates, &weights, &scores);
        // Need 1: (2 * 4 + 1 * 3) / 3 = 11 / 3; need 2: (2 * 4) / 2 = 4.
        assert_eq!(ranking[0].need_id, 2);
        assert_eq!(ranking[0].weighted_mean, Some(4.0));
        assert_eq!(ranking[0].scorers, 1);
        assert_eq!(ranking[1].need_id, 1);
        let mean = ranking[1].weighted_mean.expect("scored");
        assert!((mean - 11.0 / 3.0).abs() < 1e-12, "{mean}");
        assert_eq!(ranking[1].scorers, 3);
        assert_eq!(
            ranking[1].criterion_means,
            [
                CriterionMean { criterion_id: 10, mean: 4.0, count: 2 },
                CriterionMean { criterion_id: 20, mean: 3.0, count: 3 }
            ]
        );
        assert_eq!((ranking[0].position, ranking[1].position), (1, 2));
    }

    #[test]
    fn ties_break_by_reach_then_by_submission_and_unscored_needs_come_last() {
        let weights = [(10, 1.0)];
        let candidates = [
            Candidate { need_id: 1, reach: 2, submitted_at: at(5) },
            Candidate { need_id: 2, reach: 4, submitted_at: at(6) },
            Candidate { need_id: 3, reach: 2, submitted_at: at(3) },
            Candidate { need_id: 4, reach: 9, submitted_at: at(1) },
        ];
        let scores = [score(1, 10, A, 3), score(2, 10, A, 3), score(3, 10, A, 3)];
        let order: Vec<i32> = rank(&candidates, &weights, &scores).iter().map(|r| r.need_id).collect();
        // All three score 3: reach 4 first, then the two with reach 2 by earlier submission.
        assert_eq!(order, [2, 3, 1, 4]);
        assert_eq!(rank(&candidates, &weights, &scores)[3].weighted_mean, None);
    }
}
