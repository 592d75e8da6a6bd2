//! The words of a text as search finds them. A text is split into words at every character that
//! is not a letter or digit, lowercased, the Norwegian function words (`norwegian.stop`, the
//! Snowball project's list, which PostgreSQL's `norwegian` configuration uses too) left out, and
//! each word reduced to its stem by the Snowball Norwegian stemmer, so that "barnehage" and
//! "barnehagane" are one term, as are "skulehelseteneste" and "skulehelsetenesta".
//!
//! A need's terms are scored by where they stand: a word of the title weighs most, then the
//! question, then the background (as PostgreSQL's `ts_rank` weighs A, B and C by default: 1.0,
//! 0.4, 0.2), each further occurrence in the same text as much again, up to three.

use std::{collections::BTreeMap, sync::LazyLock};

use frostem::{Algorithm, Stemmer};

/// Function words, one per line (bokmål and nynorsk).
const STOP: &str = include_str!("norwegian.stop");

static STOP_WORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut words: Vec<&str> = STOP.lines().map(str::trim).filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words.dedup();
    words
});

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::new(Algorithm::Norwegian));

/// The longest word kept: longer runs of letters are not words anyone searches for.
pub const MAX_WORD: usize = 60;

/// The most a term scores in one need: three occurrences in each of the three texts.
pub const MAX_SCORE: i32 = 3 * (TITLE + QUESTION + BACKGROUND);

/// What an occurrence of a term scores in each text of a need.
pub const TITLE: i32 = 10;
pub const QUESTION: i32 = 4;
pub const BACKGROUND: i32 = 2;

/// The words of `text`, lowercased, in order (function words included).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && w.chars().count() <= MAX_WORD)
        .map(str::to_lowercase)
}

/// Whether a lowercased word is a function word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The stem of a lowercased word.
pub fn stem(word: &str) -> String {
    STEMMER.stem(word).into_owned()
}

/// The terms of a text: the stems of its words but the function words.
pub fn terms(text: &str) -> impl Iterator<Item = String> + '_ {
    words(text).filter(|w| !is_stop_word(w)).map(|w| stem(&w))
}

/// A term of a need and what it scores there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scored {
    pub term: String,
    pub score: i32,
}

impl Scored {
    /// Where the term puts the need among the term's needs in the index (`need_term.rank`):
    /// lower is better, so an index read in ascending order yields the best first.
    pub fn rank(&self) -> i32 {
        -self.score
    }
}

/// The terms of a need's title, question and background, each once with its score, in the order
/// of the terms.
pub fn need_terms(title: &str, question: &str, background: &str) -> Vec<Scored> {
    let mut scores: BTreeMap<String, [i32; 3]> = BTreeMap::new();
    for (i, text) in [title, question, background].into_iter().enumerate() {
        for term in terms(text) {
            scores.entry(term).or_default()[i] += 1;
        }
    }
    scores
        .into_iter()
        .map(|(term, counts)| {
            let score = [TITLE, QUESTION, BACKGROUND].iter().zip(counts).map(|(w, n)| w * n.min(3)).sum();
            Scored { term, score }
        })
        .collect()
}

/// What a word of a search looks for: its stem, and, as typed (lowercased), the start of longer
/// words ("rehab" finds "rehabilitering"). `None` for a function word, which finds nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sought {
    pub stem: String,
    pub prefix: String,
}

/// What each word of a search looks for, function words left out.
pub fn sought(words: &[String]) -> Vec<Sought> {
    words
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| !w.is_empty() && !is_stop_word(w))
        .map(|w| Sought { stem: stem(&w), prefix: w })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(text: &str) -> Vec<String> {
        terms(text).collect()
    }

    #[test]
    fn inflections_of_a_word_share_a_stem_in_bokmal_and_nynorsk() {
        for family in [
            &["barnehage", "barnehagen", "barnehagar", "barnehagane", "barnehager", "barnehagene"][..],
            &["skulehelseteneste", "skulehelsetenesta"],
            &["skolehelsetjeneste", "skolehelsetjenesten"],
            &["sjukeheim", "sjukeheimar", "sjukeheimane"],
            &["pårørande", "pårørende"],
        ] {
            let first = stem(family[0]);
            for word in family {
                assert_eq!(stem(word), first, "{word} and {}", family[0]);
            }
        }
        assert_eq!(stem("barnehagane"), "barnehag");
        assert_eq!(stem("skulehelsetenesta"), "skulehelsetenest");
    }

    #[test]
    fn function_words_are_left_out_and_case_does_not_matter() {
        assert_eq!(stems("Kva veit vi om BARNEHAGANE i Bergen?"), ["veit", "barnehag", "berg"]);
        assert!(is_stop_word("og") && is_stop_word("ikkje") && is_stop_word("korleis"));
        assert_eq!(STOP_WORDS.len(), 172, "the Snowball list, each word once");
    }

    #[test]
    fn a_need_scores_its_title_over_its_question_over_its_background() {
        let terms = need_terms("Demens", "Kva hjelper ved demens?", "Demens, demens og demens, demens.");
        let score = |t: &str| terms.iter().find(|s| s.term == stem(t)).map(|s| s.score);
        assert_eq!(score("demens"), Some(TITLE + QUESTION + 3 * BACKGROUND), "at most three of each count");
        assert_eq!(score("hjelper"), Some(QUESTION));
        assert!(terms.windows(2).all(|w| w[0].term < w[1].term), "each term once, in order");
        assert!(terms.iter().all(|s| s.score <= MAX_SCORE));
    }

    #[test]
    fn a_search_word_looks_for_its_stem_and_its_start() {
        let words: Vec<String> = ["Barnehagane", "og", "rehab"].map(String::from).into();
        assert_eq!(
            sought(&words),
            [
                Sought { stem: "barnehag".into(), prefix: "barnehagane".into() },
                Sought { stem: stem("rehab"), prefix: "rehab".into() },
            ]
        );
    }

    #[test]
    fn overlong_runs_of_letters_are_not_words() {
        let long = "a".repeat(MAX_WORD + 1);
        assert_eq!(words(&format!("kort {long} ord")).collect::<Vec<_>>(), ["kort", "ord"]);
    }
}
