//! Which instants the hub stores: years 1 to 9999 (UTC). Both databases hold more (PostgreSQL's
//! `timestamptz` 4713 BC to 294276 AD, SQLite any text), but not the same more, and SQLite
//! compares times as text, which orders correctly only for four-digit years. A time outside
//! this range is refused where it comes in (arguments, input fields, cursors), never sent to SQL.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};

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

/// Norway's offset from UTC at `at`, in hours: 2 in summer time (from 01:00 UTC on the last
/// Sunday of March to 01:00 UTC on the last Sunday of October, the European Union's rule that
/// Norway follows), 1 otherwise. The hub keeps times in UTC; this is only for choosing the hour
/// people in Norway are mailed their digest, so a table of zones is not worth its weight.
pub fn norway_offset_hours(at: DateTime<Utc>) -> i64 {
    let last_sunday_1am = |month: u32| {
        let next_month_first = NaiveDate::from_ymd_opt(at.year(), month + 1, 1).unwrap_or(NaiveDate::MIN);
        let mut day = next_month_first - Duration::days(1);
        while day.weekday() != Weekday::Sun {
            day -= Duration::days(1);
        }
        Utc.from_utc_datetime(&day.and_time(NaiveTime::from_hms_opt(1, 0, 0).unwrap_or(NaiveTime::MIN)))
    };
    if at >= last_sunday_1am(3) && at < last_sunday_1am(10) { 2 } else { 1 }
}

/// The first moment after `at` that is `hour`:00 in Norway: when a digest collected at `at` goes.
pub fn next_norwegian_hour(at: DateTime<Utc>, hour: u32) -> DateTime<Utc> {
    let offset = Duration::hours(norway_offset_hours(at));
    let local = at + offset;
    let at_hour = |date: NaiveDate| {
        let time = NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN);
        let local = date.and_time(time);
        // The offset of that moment itself, which differs across the change of summer time.
        let guess = Utc.from_utc_datetime(&local) - offset;
        Utc.from_utc_datetime(&local) - Duration::hours(norway_offset_hours(guess))
    };
    let today = at_hour(local.date_naive());
    if today > at { today } else { at_hour(local.date_naive() + Duration::days(1)) }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).single().expect("a time")
    }

    #[test]
    fn norway_is_an_hour_ahead_in_winter_and_two_in_summer() {
        assert_eq!(norway_offset_hours(utc(2026, 1, 15, 12, 0)), 1);
        assert_eq!(norway_offset_hours(utc(2026, 7, 1, 12, 0)), 2);
        // 2026: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
        assert_eq!(norway_offset_hours(utc(2026, 3, 29, 0, 59)), 1);
        assert_eq!(norway_offset_hours(utc(2026, 3, 29, 1, 0)), 2);
        assert_eq!(norway_offset_hours(utc(2026, 10, 25, 0, 59)), 2);
        assert_eq!(norway_offset_hours(utc(2026, 10, 25, 1, 0)), 1);
    }

    #[test]
    fn a_digest_goes_at_the_next_seven_in_the_morning_norwegian_time() {
        // Winter: 07:00 in Oslo is 06:00 UTC.
        assert_eq!(next_norwegian_hour(utc(2026, 11, 30, 15, 0), 7), utc(2026, 12, 1, 6, 0));
        assert_eq!(next_norwegian_hour(utc(2026, 12, 1, 5, 59), 7), utc(2026, 12, 1, 6, 0));
        assert_eq!(next_norwegian_hour(utc(2026, 12, 1, 6, 0), 7), utc(2026, 12, 2, 6, 0));
        // Late evening in Oslo is already the next day there.
        assert_eq!(next_norwegian_hour(utc(2026, 12, 1, 23, 30), 7), utc(2026, 12, 2, 6, 0));
        // Summer: 05:00 UTC.
        assert_eq!(next_norwegian_hour(utc(2026, 7, 1, 12, 0), 7), utc(2026, 7, 2, 5, 0));
        // Across the change: the evening before summer time begins, the morning after it has.
        assert_eq!(next_norwegian_hour(utc(2026, 3, 28, 20, 0), 7), utc(2026, 3, 29, 5, 0));
        assert_eq!(next_norwegian_hour(utc(2026, 10, 24, 20, 0), 7), utc(2026, 10, 25, 6, 0));
    }

    #[test]
    fn years_1_to_9999_are_storable_and_nothing_else() {
        let at = |y: i32| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).single().expect("a time");
        assert!(storable(&at(1)) && storable(&at(2026)) && storable(&at(9999)));
        assert!(!storable(&at(0)) && !storable(&at(10_000)) && !storable(&at(-262_143)));
        assert!(check_storable(&at(-262_143)).is_err());
    }
}
