//! Institutions' profiles: which opened commissions an institution hears of.
//!
//! A profile is two lists, the themes and the product types the institution wants. An empty list
//! is not narrowed: an institution that set nothing hears of every commission, so its people get
//! useful mail without configuring anything, and narrows the flow when it wants less.
//! `db::institutions::matching_institutions` applies this same rule in SQL, for every
//! institution at once; a test holds the two to each other.

/// What an institution wants to hear of. Each list holds ids, each once.
#[derive(Clone, Copy, Debug)]
pub struct Profile<'a> {
    pub themes: &'a [i32],
    pub product_types: &'a [i32],
}

/// What a commission is about: the themes of the needs it answers and its product type.
#[derive(Clone, Copy, Debug)]
pub struct Topic<'a> {
    pub themes: &'a [i32],
    pub product_type: i32,
}

/// Whether an institution with `profile` hears of a commission about `topic`: its themes are not
/// narrowed or it shares one with the commission, and its product types are not narrowed or hold
/// the commission's. (A commission whose needs have no theme reaches only those not narrowed by
/// theme.)
pub fn matches(profile: Profile<'_>, topic: Topic<'_>) -> bool {
    let themes = profile.themes.is_empty() || profile.themes.iter().any(|t| topic.themes.contains(t));
    let product_types =
        profile.product_types.is_empty() || profile.product_types.contains(&topic.product_type);
    themes && product_types
}

/// Refuses a list that names more than `bound` things: there are no more themes (or product
/// types) than that to name, so a longer list repeats itself, and is refused before any of it is
/// looked up. The bounds are the numbers of bundled themes and product types, which no request
/// adds to (`db::reference_data::bundled`).
pub fn within_bound(what: &str, named: usize, bound: usize) -> Result<(), String> {
    if named > bound {
        return Err(format!("at most {bound} {what}: there are no more"));
    }
    Ok(())
}

/// Each id once, in order: a profile is a set, and a name given twice means it once.
pub fn distinct(mut ids: Vec<i32>) -> Vec<i32> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEALTH: i32 = 1;
    const CARE: i32 = 2;
    const SCHOOL: i32 = 3;
    const REVIEW: i32 = 10;
    const RAPID: i32 = 11;

    fn profile<'a>(themes: &'a [i32], product_types: &'a [i32]) -> Profile<'a> {
        Profile { themes, product_types }
    }

    #[test]
    fn an_empty_profile_hears_of_every_commission() {
        for topic in [
            Topic { themes: &[HEALTH], product_type: REVIEW },
            Topic { themes: &[CARE, SCHOOL], product_type: RAPID },
            Topic { themes: &[], product_type: REVIEW },
        ] {
            assert!(matches(profile(&[], &[]), topic), "{topic:?}");
        }
    }

    #[test]
    fn a_profile_narrowed_by_theme_needs_a_shared_theme() {
        let health = profile(&[HEALTH, CARE], &[]);
        assert!(matches(health, Topic { themes: &[SCHOOL, CARE], product_type: REVIEW }));
        assert!(!matches(health, Topic { themes: &[SCHOOL], product_type: REVIEW }));
        assert!(!matches(health, Topic { themes: &[], product_type: REVIEW }), "no theme shares none");
    }

    #[test]
    fn a_profile_narrowed_by_product_type_needs_the_commissions() {
        let reviews = profile(&[], &[REVIEW]);
        assert!(matches(reviews, Topic { themes: &[SCHOOL], product_type: REVIEW }));
        assert!(!matches(reviews, Topic { themes: &[SCHOOL], product_type: RAPID }));
    }

    #[test]
    fn a_profile_narrowed_both_ways_needs_both() {
        let both = profile(&[HEALTH], &[REVIEW]);
        assert!(matches(both, Topic { themes: &[HEALTH], product_type: REVIEW }));
        assert!(!matches(both, Topic { themes: &[HEALTH], product_type: RAPID }), "the theme alone");
        assert!(!matches(both, Topic { themes: &[CARE], product_type: REVIEW }), "the product type alone");
    }

    #[test]
    fn lists_are_bounded_and_each_id_counts_once() {
        assert!(within_bound("themes", 12, 12).is_ok());
        assert_eq!(within_bound("themes", 13, 12), Err("at most 12 themes: there are no more".to_owned()));
        assert_eq!(distinct(vec![3, 1, 3, 2, 1]), vec![1, 2, 3]);
    }
}
