//! Which instants the hub stores: years 1 to 9999 (UTC). Both databases hold more (PostgreSQL's
//! `timestamptz` 4713 BC to 294276 AD, SQLite any text), but not the same more, and SQLite
//! compares times as text, which orders correctly only for four-digit years. A time outside
//! this range is refused where it comes in (arguments, input fields, cursors), never sent to SQL.

use chrono::{DateTime, Datelike, Utc};

/// The first year a time given to the hub may fall in.
pub const FIRST_YEAR: i32 = 1;
/// The last year a time given to the hub may fall in.
pub const LAST_YEAR: i32 = 9999;

/// Whether `at` lies in the years the hub stores.
pub fn storable(at: &DateTime<Utc>) -> bool {
    (FIRST_YEAR..=LAST_YEAR).contains(&at.year())
}

/// Why `at` is refused, if it is.
pub fn check_storable(at: &DateTime<Utc>) -> Result<(), String> {
    if storable(at) {
        Ok(())
    } else {
        Err(format!(
            "a time must lie in the years {FIRST_YEAR} to {LAST_YEAR} (UTC), got {}",
            at.to_rfc3339()
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn years_1_to_9999_are_storable_and_nothing_else() {
        let at = |y: i32| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).single().expect("a time");
        assert!(storable(&at(1)) && storable(&at(2026)) && storable(&at(9999)));
        assert!(!storable(&at(0)) && !storable(&at(10_000)) && !storable(&at(-262_143)));
        assert!(check_storable(&at(-262_143)).is_err());
    }
}
