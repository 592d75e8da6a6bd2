//! Rules of the organisation tree that need no database: how deep it may be, which units raise
//! needs, and which partnership's pool a new need goes to.

use entity::enums::OrganisationKind;

/// The most steps from an organisation up to the root of its tree (the national level is depth
/// 0, a district of Oslo depth 3, a project under a sub-programme about 6). It bounds every
/// organisation's list of ancestors, which a response may carry for each need, so the cost of such
/// a list is known; a move or an addition that would make the tree deeper is refused.
pub const MAX_DEPTH: i32 = 12;

/// Whether a subtree `height` steps tall fits under a parent at `parent_depth` (its root one step
/// below the parent), or at the root when there is no parent.
pub fn fits(parent_depth: Option<i32>, height: i32) -> bool {
    parent_depth.map_or(0, |d| d.saturating_add(1)).saturating_add(height) <= MAX_DEPTH
}

/// Whether needs are raised in units of `kind`: a municipality and the units within one (a
/// district, a programme, a sub-programme, a project). The bodies above municipalities review
/// and forward needs, and institutions answer them.
pub fn raises_needs(kind: OrganisationKind) -> bool {
    matches!(
        kind,
        OrganisationKind::Municipality
            | OrganisationKind::District
            | OrganisationKind::Programme
            | OrganisationKind::SubProgramme
            | OrganisationKind::Project
    )
}

/// A partnership that takes needs raised in a unit, through its member `depth` steps above the
/// unit (0: the unit itself is the member).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepting {
    pub depth: i32,
    pub partnership_id: i32,
}

/// The partnership whose pool a new need goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pool {
    Chosen(i32),
    /// No partnership takes needs from the unit (or not the one named).
    NotAccepted,
    /// Several take them from equally near: the submitter must name one (of these).
    Ambiguous(Vec<i32>),
}

/// The pool of a need raised in a unit that `accepting` take needs from: the one `named`, if it
/// is among them; else the nearest, the partnership whose member is closest above the unit
/// (RSO Vest before KSF for Bergen, Områdesatsingene before KSF for Alna).
pub fn pool(accepting: &[Accepting], named: Option<i32>) -> Pool {
    if let Some(named) = named {
        return match accepting.iter().any(|a| a.partnership_id == named) {
            true => Pool::Chosen(named),
            false => Pool::NotAccepted,
        };
    }
    let Some(nearest) = accepting.iter().map(|a| a.depth).min() else {
        return Pool::NotAccepted;
    };
    let mut candidates: Vec<i32> =
        accepting.iter().filter(|a| a.depth == nearest).map(|a| a.partnership_id).collect();
    candidates.sort_unstable();
    candidates.dedup();
    match candidates.as_slice() {
        [only] => Pool::Chosen(*only),
        _ => Pool::Ambiguous(candidates),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(depth: i32, partnership_id: i32) -> Accepting {
        Accepting { depth, partnership_id }
    }

    #[test]
    fn a_new_need_goes_to_the_nearest_partnership_that_takes_it() {
        // Bergen: RSO Vest through its region (2 up), KSF through the nation (3 up).
        assert_eq!(pool(&[at(3, 1), at(2, 2)], None), Pool::Chosen(2));
        // Søndre Nordstrand: Områdesatsingene and Universitetskommunen both take it directly.
        assert_eq!(pool(&[at(0, 4), at(0, 5), at(3, 1)], None), Pool::Ambiguous(vec![4, 5]));
        assert_eq!(pool(&[at(0, 4), at(0, 5), at(3, 1)], Some(5)), Pool::Chosen(5));
        assert_eq!(pool(&[at(0, 4), at(0, 5), at(3, 1)], Some(1)), Pool::Chosen(1), "KSF, named");
        assert_eq!(pool(&[at(2, 2)], Some(9)), Pool::NotAccepted, "a partnership that does not take it");
        assert_eq!(pool(&[], None), Pool::NotAccepted);
        // One partnership through two members counts once.
        assert_eq!(pool(&[at(1, 2), at(1, 2)], None), Pool::Chosen(2));
    }

    #[test]
    fn needs_are_raised_in_municipalities_and_the_units_within_them() {
        assert!(raises_needs(OrganisationKind::District));
        assert!(raises_needs(OrganisationKind::Project));
        assert!(!raises_needs(OrganisationKind::Cluster));
        assert!(!raises_needs(OrganisationKind::Institution));
        assert!(!raises_needs(OrganisationKind::National));
    }

    #[test]
    fn a_subtree_fits_while_its_deepest_organisation_is_at_most_max_depth() {
        assert!(fits(None, MAX_DEPTH));
        assert!(!fits(None, MAX_DEPTH + 1));
        assert!(fits(Some(MAX_DEPTH - 1), 0));
        assert!(!fits(Some(MAX_DEPTH), 0));
        assert!(fits(Some(3), MAX_DEPTH - 4));
        assert!(!fits(Some(3), MAX_DEPTH - 3));
        assert!(!fits(Some(i32::MAX), i32::MAX), "no overflow");
    }
}
