//! Rules of the organisation tree that need no database: how deep it may be, which kind of
//! organisation may stand under which, what coordinators may create and move through the API, the
//! bounds on the reference data that requests can grow (what lists over it are priced at), which
//! units raise needs, and which partnership's pool a new need goes to.

use entity::enums::OrganisationKind::{self, *};

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

/// The most partnerships the hub holds (KSF, the RSOs, the city partnerships): KSF coordinators
/// create regions through the API, so this, not the bundled number, bounds a list of partnerships
/// (`Organisation.partnerships`, `ApiToken.boundToRegions`). A creation beyond it is refused.
pub const MAX_PARTNERSHIPS: usize = 32;
/// The most clusters the hub holds (`NeedStats.byCluster` is priced at it); a creation beyond it is
/// refused.
pub const MAX_CLUSTERS: usize = 64;
/// The most institutions the hub holds (any institution may express interest in any commission:
/// `Commission.interests` is priced at it); an addition beyond it is refused.
pub const MAX_INSTITUTIONS: usize = 64;

/// The kinds coordinators create with `createOrganisation`; regions, institutions have mutations
/// of their own, and the national level, counties and municipalities are the nation's (bundled).
pub const CREATABLE: [OrganisationKind; 6] =
    [Cluster, District, Programme, SubProgramme, Project, StatePartner];

/// Whether an organisation of kind `child` may stand directly under one of kind `parent` (`None`:
/// at the top). Every edge of the bundled tree is one of these (a test in
/// `db::organisations::write` checks it); the rest keeps a municipality out of a district, a
/// county out of a cluster and so on.
pub fn may_hold(parent: Option<OrganisationKind>, child: OrganisationKind) -> bool {
    match parent {
        // Institutions stand apart: they belong to partnerships, not to a place.
        None => matches!(child, National | Institution),
        Some(National) => matches!(child, Region | County | Programme | StatePartner),
        Some(Region) => matches!(child, County | Cluster | Programme | Project),
        Some(County) => matches!(child, Municipality | Programme | Project),
        Some(Cluster) => matches!(child, Municipality | Project),
        Some(Municipality) => matches!(child, District | Programme | Project),
        Some(District) => matches!(child, Programme | Project),
        Some(Programme) => matches!(child, Programme | SubProgramme | Project),
        Some(SubProgramme) => matches!(child, Project),
        Some(StatePartner) => matches!(child, StatePartner),
        Some(Project | Institution) => false,
    }
}

/// Whether `moveOrganisation` moves organisations of this kind. A region's counties move with
/// `assignCounty`; a cluster belongs to its region's partnership (its scorers, its rounds) and a
/// county, a region or the national level to the nation's map; an institution stands apart.
pub fn movable(kind: OrganisationKind) -> bool {
    matches!(kind, Municipality | District | Programme | SubProgramme | Project | StatePartner)
}

/// A key as users know organisations by (`rso-nord`, `oslomet`): 2 to 64 lowercase letters,
/// digits and hyphens, starting with a letter (so no key reads as an official number).
pub fn key(raw: &str) -> Result<String, String> {
    let key = raw.trim();
    let well_formed = (2..=64).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    match well_formed {
        true => Ok(key.to_owned()),
        false => Err(format!(
            "`{key}` is not a key: use 2 to 64 lowercase letters, digits and hyphens, starting with a letter"
        )),
    }
}

/// An official number (a district's `030115`): 2 to 8 digits.
pub fn code(raw: &str) -> Result<String, String> {
    let code = raw.trim();
    match (2..=8).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
        true => Ok(code.to_owned()),
        false => Err(format!("`{code}` is not an official number: use 2 to 8 digits")),
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
    fn keys_are_words_and_codes_are_digits() {
        assert_eq!(key(" rso-nord "), Ok("rso-nord".to_owned()));
        for bad in ["", "r", "RSO", "4601", "-x", "rso nord", "rso_nord", "ø-key"] {
            assert!(key(bad).is_err(), "{bad}");
        }
        assert_eq!(code("030116"), Ok("030116".to_owned()));
        for bad in ["", "1", "0301a", "123456789"] {
            assert!(code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_kinds_coordinators_make_are_creatable_and_each_has_a_parent() {
        for kind in CREATABLE {
            assert!(!may_hold(None, kind), "{kind:?} stands under something");
            let kinds = [National, Region, County, Cluster, Municipality, District, Programme];
            assert!(kinds.into_iter().any(|p| may_hold(Some(p), kind)), "{kind:?}");
        }
        assert!(!may_hold(Some(District), Municipality), "no municipality under a district");
        assert!(!may_hold(Some(Cluster), County));
        assert!(may_hold(Some(Cluster), Municipality) && may_hold(Some(County), Municipality));
        assert!(!movable(Cluster) && !movable(County) && movable(Municipality));
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
