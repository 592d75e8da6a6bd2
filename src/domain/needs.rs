//! The life of a knowledge need: one state machine, `next`, for every move.

use entity::enums::NeedStatus::{self, *};

/// Something that moves a need to another state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// The municipality sends a draft, or a returned need, to review.
    Submit,
    /// The cluster (or region) forwards it to the regional pool.
    Accept,
    /// The cluster sends it back to be sharpened.
    Return,
    /// The cluster turns it down, with a reason.
    Reject,
    /// The municipality takes it back.
    Withdraw,
    /// A coordinator merges it into another need.
    Merge,
    /// A coordinator undoes a merge; the need goes back to the state it had before.
    Unmerge { restore: NeedStatus },
    /// The evidence check found an answer already.
    AnswerByExistingEvidence,
    /// A prioritisation round closed with the need among its top N.
    Prioritise,
    /// A prioritisation round closed without it.
    Defer,
    /// A commission for it was awarded.
    Commission,
    /// The awarded commission for it was cancelled: it is prioritised again, free for another.
    Release,
    /// A knowledge summary answering it was published.
    Answer,
    /// Its partnership forwards it to the national level, with a reason.
    Forward,
    /// The national level passes it on to a national authority.
    PassOn,
}

/// Why a move is not possible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IllegalMove {
    pub from: NeedStatus,
    pub attempted: Move,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a need that is {} cannot be {}", self.from, self.attempted.past_tense())
    }
}

impl Move {
    fn past_tense(self) -> &'static str {
        match self {
            Move::Submit => "submitted",
            Move::Accept => "accepted",
            Move::Return => "returned",
            Move::Reject => "rejected",
            Move::Withdraw => "withdrawn",
            Move::Merge => "merged",
            Move::Unmerge { .. } => "unmerged",
            Move::AnswerByExistingEvidence => "closed as answered by existing evidence",
            Move::Prioritise => "prioritised",
            Move::Defer => "deferred",
            Move::Commission => "commissioned",
            Move::Release => "released from a cancelled commission",
            Move::Answer => "answered",
            Move::Forward => "forwarded to the national level",
            Move::PassOn => "passed on to a national authority",
        }
    }
}

/// Whether a need in `status` is still open: not finished, withdrawn, rejected, merged or passed
/// on.
pub fn is_open(status: NeedStatus) -> bool {
    !matches!(status, Rejected | Answered | AnsweredByExistingEvidence | Withdrawn | Merged | PassedOn)
}

/// Whether a need in `status` waits in a pool for a round: ACCEPTED, FORWARDED or DEFERRED.
pub fn in_pool(status: NeedStatus) -> bool {
    next(status, Move::Prioritise).is_ok()
}

/// Whether a need in `status` is visible beyond its unit (everything but drafts).
pub fn is_published(status: NeedStatus) -> bool {
    status != Draft
}

/// The one state machine of a need: where `attempted` takes a need that is `from`.
pub fn next(from: NeedStatus, attempted: Move) -> Result<NeedStatus, IllegalMove> {
    let to = match (from, attempted) {
        (Draft | Returned, Move::Submit) => Submitted,
        (Submitted, Move::Accept) => Accepted,
        (Submitted, Move::Return) => Returned,
        (Submitted, Move::Reject) => Rejected,
        // Withdrawing is possible until work has been commissioned.
        (Draft | Submitted | Returned | Accepted | Forwarded | Deferred | Prioritised, Move::Withdraw) => {
            Withdrawn
        }
        // A draft is private and so cannot be anyone's duplicate; finished needs stay as they are.
        (Submitted | Returned | Accepted | Forwarded | Deferred | Prioritised, Move::Merge) => Merged,
        // Only to a state a merge can start from: the one the need had before it was merged.
        (Merged, Move::Unmerge { restore }) if next(restore, Move::Merge).is_ok() => restore,
        // A need in a pool (its partnership's, or the national one it was forwarded to).
        (Accepted | Forwarded | Deferred, Move::AnswerByExistingEvidence) => AnsweredByExistingEvidence,
        (Accepted | Forwarded | Deferred, Move::Prioritise) => Prioritised,
        // A deferred need that misses the next round too stays deferred, with its own history event.
        (Accepted | Forwarded | Deferred, Move::Defer) => Deferred,
        // Up to the national level from a regional pool; from there on to a national authority.
        (Accepted | Deferred, Move::Forward) => Forwarded,
        (Accepted | Forwarded | Deferred, Move::PassOn) => PassedOn,
        (Prioritised, Move::Commission) => Commissioned,
        // Cancelling the commission gives the need back to the pool of prioritised needs.
        (Commissioned, Move::Release) => Prioritised,
        (Commissioned, Move::Answer) => Answered,
        _ => return Err(IllegalMove { from, attempted }),
    };
    Ok(to)
}

#[cfg(test)]
mod tests {
    use sea_orm::Iterable;

    use super::*;

    /// Every move, with every state an unmerge could restore.
    fn all_moves() -> Vec<Move> {
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
            Move::Commission,
            Move::Release,
            Move::Answer,
            Move::Forward,
            Move::PassOn,
        ];
        moves.extend(NeedStatus::iter().map(|restore| Move::Unmerge { restore }));
        moves
    }

    /// The allowed (from, to) pairs, written out from the life of a need in the domain description.
    const ALLOWED: &[(NeedStatus, NeedStatus)] = &[
        (Draft, Submitted),
        (Draft, Withdrawn),
        (Submitted, Accepted),
        (Submitted, Returned),
        (Submitted, Rejected),
        (Submitted, Withdrawn),
        (Submitted, Merged),
        (Returned, Submitted),
        (Returned, Withdrawn),
        (Returned, Merged),
        (Accepted, Prioritised),
        (Accepted, Deferred),
        (Accepted, AnsweredByExistingEvidence),
        (Accepted, Withdrawn),
        (Accepted, Merged),
        (Accepted, Forwarded),
        (Accepted, PassedOn),
        (Forwarded, Prioritised),
        (Forwarded, Deferred),
        (Forwarded, AnsweredByExistingEvidence),
        (Forwarded, Withdrawn),
        (Forwarded, Merged),
        (Forwarded, PassedOn),
        (Deferred, Prioritised),
        (Deferred, Deferred),
        (Deferred, AnsweredByExistingEvidence),
        (Deferred, Withdrawn),
        (Deferred, Merged),
        (Deferred, Forwarded),
        (Deferred, PassedOn),
        (Prioritised, Commissioned),
        (Prioritised, Withdrawn),
        (Prioritised, Merged),
        (Commissioned, Answered),
        (Commissioned, Prioritised),
        (Merged, Submitted),
        (Merged, Returned),
        (Merged, Accepted),
        (Merged, Deferred),
        (Merged, Prioritised),
        (Merged, Forwarded),
    ];

    #[test]
    fn every_pair_of_states_is_allowed_exactly_as_described() {
        for from in NeedStatus::iter() {
            for to in NeedStatus::iter() {
                let reachable = all_moves().into_iter().any(|m| next(from, m) == Ok(to));
                assert_eq!(reachable, ALLOWED.contains(&(from, to)), "{from:?} -> {to:?}");
            }
        }
    }

    #[test]
    fn unmerge_restores_exactly_the_state_before_the_merge() {
        for before in NeedStatus::iter() {
            if let Ok(merged) = next(before, Move::Merge) {
                assert_eq!(next(merged, Move::Unmerge { restore: before }), Ok(before));
            }
        }
    }

    #[test]
    fn finished_needs_do_not_move() {
        for finished in [Rejected, Answered, AnsweredByExistingEvidence, Withdrawn, PassedOn] {
            assert!(!is_open(finished));
            assert!(all_moves().into_iter().all(|m| next(finished, m).is_err()), "{finished:?}");
        }
    }

    /// `Display` of the shared enums (`entity::enums`) is the API's spelling.
    #[test]
    fn statuses_read_as_the_schema_writes_them() {
        use entity::enums::{CommissionStatus, Role};
        assert_eq!(Accepted.to_string(), "ACCEPTED");
        assert_eq!(AnsweredByExistingEvidence.to_string(), "ANSWERED_BY_EXISTING_EVIDENCE");
        assert_eq!(CommissionStatus::InProgress.to_string(), "IN_PROGRESS");
        assert_eq!(Role::UnitCoordinator.to_string(), "UNIT_COORDINATOR");
        for status in NeedStatus::iter() {
            let shown = status.to_string();
            assert!(shown.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{shown}");
        }
    }

    #[test]
    fn illegal_moves_say_what_was_tried() {
        let err = next(Draft, Move::Accept).expect_err("a draft cannot be accepted");
        assert_eq!(err.to_string(), "a need that is DRAFT cannot be accepted");
    }
}

/// The text fields of a need, checked: what a municipality writes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NeedText {
    pub title: String,
    pub question: String,
    pub background: String,
    pub intended_use: String,
    pub target_group: String,
    pub population: Option<String>,
    pub intervention: Option<String>,
    pub comparison: Option<String>,
    pub outcome: Option<String>,
}

/// A need's text as someone wrote it, before its checks: what [`NeedText::parse`] takes.
#[derive(Clone, Copy, Debug, Default)]
pub struct WrittenText<'a> {
    pub title: &'a str,
    pub question: &'a str,
    pub background: &'a str,
    pub intended_use: &'a str,
    pub target_group: &'a str,
    /// The parts of the structured question (PICO).
    pub population: Option<&'a str>,
    pub intervention: Option<&'a str>,
    pub comparison: Option<&'a str>,
    pub outcome: Option<&'a str>,
}

impl NeedText {
    /// Checks every field of `written`: trimmed, within its length (`TITLE`, `QUESTION`,
    /// `LONG_TEXT`, `SHORT_TEXT`), without control characters; an empty part of the structured
    /// question counts as absent. The text, or every problem found, in the order of the fields.
    pub fn parse(written: WrittenText<'_>) -> Result<Self, Vec<FieldProblem>> {
        fn required(problems: &mut Vec<FieldProblem>, checked: Result<String, FieldProblem>) -> String {
            checked.unwrap_or_else(|problem| {
                problems.push(problem);
                String::new()
            })
        }
        fn part(problems: &mut Vec<FieldProblem>, raw: Option<&str>) -> Option<String> {
            optional_text("structuredQuestion", raw, SHORT_TEXT).unwrap_or_else(|problem| {
                problems.push(problem);
                None
            })
        }
        let mut problems = Vec::new();
        let p = &mut problems;
        let parsed = Self {
            title: required(p, text("title", written.title, TITLE.0, TITLE.1)),
            question: required(p, text("question", written.question, QUESTION.0, QUESTION.1)),
            background: required(p, text("background", written.background, 1, LONG_TEXT)),
            intended_use: required(p, text("intendedUse", written.intended_use, 1, LONG_TEXT)),
            target_group: required(p, text("targetGroup", written.target_group, 1, SHORT_TEXT)),
            population: part(p, written.population),
            intervention: part(p, written.intervention),
            comparison: part(p, written.comparison),
            outcome: part(p, written.outcome),
        };
        if problems.is_empty() { Ok(parsed) } else { Err(problems) }
    }
}

/// A field of a need that failed its check, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

/// Trims `raw` and checks its length in characters; `min == 0` allows empty.
pub fn text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, FieldProblem> {
    let value = raw.trim();
    let len = value.chars().count();
    if len < min {
        let message = if min == 1 {
            "must not be empty".to_owned()
        } else {
            format!("must be at least {min} characters")
        };
        return Err(FieldProblem { field, message });
    }
    if len > max {
        return Err(FieldProblem { field, message: format!("must be at most {max} characters") });
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(FieldProblem { field, message: "contains control characters".into() });
    }
    Ok(value.to_owned())
}

/// An optional text: empty after trimming counts as absent.
pub fn optional_text(
    field: &'static str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldProblem> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(value) => text(field, value, 1, max).map(Some),
        None => Ok(None),
    }
}

/// Limits of the fields, in characters.
pub const TITLE: (usize, usize) = (5, 200);
pub const QUESTION: (usize, usize) = (10, 4_000);
pub const LONG_TEXT: usize = 10_000;
pub const SHORT_TEXT: usize = 1_000;

/// The words of a search, for the full-text engines: letters and digits only (so nothing in it
/// is query syntax), lower-cased, at most 12 words.
pub fn search_words(search: &str) -> Vec<String> {
    search_words_unbounded(search).take(12).collect()
}

/// Common bokmål and nynorsk function words, which say nothing about what a need is about.
const STOPWORDS: &[&str] = &[
    "og", "i", "på", "for", "til", "av", "med", "om", "som", "er", "det", "den", "de", "dei", "en", "ein",
    "et", "eit", "ei", "å", "kva", "hva", "vi", "me", "kan", "skal", "ikkje", "ikke", "eller", "men",
    "korleis", "hvordan", "hvilke", "kven", "hvem", "der", "her", "blir", "bli", "frå", "fra", "ved",
    "etter", "under", "over", "mot", "seg", "sin", "sitt", "sine", "vår", "våre", "vere", "være", "har",
    "hadde", "eg", "jeg", "du", "han", "ho", "hun", "dem", "oss", "no", "nå", "veit", "vet", "best", "kor",
    "hvor", "når", "kommunen", "kommune", "kommunar", "kommuner",
];

/// The words that say what a text is about, for finding similar needs: no function words,
/// nothing shorter than three letters.
pub fn content_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = search_words_unbounded(text)
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()))
        .collect();
    words.dedup();
    words.truncate(12);
    words
}

fn search_words_unbounded(search: &str) -> impl Iterator<Item = String> + '_ {
    search.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn text_fields_are_trimmed_and_bounded() {
        assert_eq!(text("title", "  Fallforebygging  ", 5, 200), Ok("Fallforebygging".into()));
        assert_eq!(text("title", "   ", 1, 200).map_err(|p| p.message), Err("must not be empty".into()));
        assert!(text("title", "abc", 5, 200).is_err());
        assert!(text("title", &"x".repeat(201), 5, 200).is_err());
        assert!(text("question", "line one\nline two", 5, 200).is_ok());
        assert_eq!(optional_text("outcome", Some("  "), 10), Ok(None));
    }

    #[test]
    fn a_need_text_is_parsed_whole_or_its_every_problem_named() {
        let written = WrittenText {
            title: " Fallforebygging ",
            question: "Kva verkar mot fall?",
            background: "Mange fall",
            intended_use: "Plan",
            target_group: "Eldre",
            population: Some("  "),
            outcome: Some("Færre fall"),
            ..WrittenText::default()
        };
        let parsed = NeedText::parse(written).expect("a valid text");
        assert_eq!(parsed.title, "Fallforebygging");
        assert_eq!((parsed.population, parsed.outcome), (None, Some("Færre fall".into())));
        let problems = NeedText::parse(WrittenText {
            title: "x",
            target_group: "",
            comparison: Some("\u{7}"),
            ..written
        })
        .expect_err("three problems");
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["title", "targetGroup", "structuredQuestion"]);
    }

    #[test]
    fn content_words_leave_out_function_words() {
        assert_eq!(
            content_words("Kva veit vi om fallforebygging i Stavanger?"),
            ["fallforebygging", "stavanger"]
        );
    }

    #[test]
    fn search_words_are_plain_words() {
        assert_eq!(
            search_words("Sjukeheim: eldre & \"fall\"* OR x"),
            ["sjukeheim", "eldre", "fall", "or", "x"]
        );
        assert_eq!(search_words("Bør ØYGARDEN"), ["bør", "øygarden"]);
        assert!(search_words(" *\"(): ").is_empty());
    }
}
