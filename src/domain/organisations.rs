//! Rules of the organisation tree that need no database: how deep it may be.

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

#[cfg(test)]
mod tests {
    use super::*;

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
