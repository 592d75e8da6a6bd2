//! The words mails put in for the API's values, in each language: a need's or commission's
//! status, what happened to a commission, a date. Matches are exhaustive, so a new status cannot
//! be left out of a language.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use entity::enums::{CommissionEventKind, CommissionStatus, Language, NeedStatus};

/// A need's status, as a person reads it.
pub fn need_status(status: NeedStatus, language: Language) -> &'static str {
    use Language::{En, Nb, Nn};
    use NeedStatus as S;
    match (status, language) {
        (S::Draft, Nb | Nn) => "utkast",
        (S::Draft, En) => "draft",
        (S::Submitted, Nb) => "sendt inn",
        (S::Submitted, Nn) => "sendt inn",
        (S::Submitted, En) => "submitted",
        (S::Returned, Nb) => "sendt tilbake",
        (S::Returned, Nn) => "sendt attende",
        (S::Returned, En) => "returned",
        (S::Rejected, Nb) => "avvist",
        (S::Rejected, Nn) => "avvist",
        (S::Rejected, En) => "rejected",
        (S::Accepted, Nb | Nn) => "godkjent",
        (S::Accepted, En) => "accepted",
        (S::Prioritised, Nb | Nn) => "prioritert",
        (S::Prioritised, En) => "prioritised",
        (S::Commissioned, Nb) => "bestilt",
        (S::Commissioned, Nn) => "tinga",
        (S::Commissioned, En) => "commissioned",
        (S::Answered, Nb) => "besvart",
        (S::Answered, Nn) => "svara",
        (S::Answered, En) => "answered",
        (S::AnsweredByExistingEvidence, Nb) => "besvart av kunnskap som finnes",
        (S::AnsweredByExistingEvidence, Nn) => "svara av kunnskap som finst",
        (S::AnsweredByExistingEvidence, En) => "answered by existing evidence",
        (S::Deferred, Nb) => "utsatt",
        (S::Deferred, Nn) => "utsett",
        (S::Deferred, En) => "deferred",
        (S::Withdrawn, Nb) => "trukket",
        (S::Withdrawn, Nn) => "trekt",
        (S::Withdrawn, En) => "withdrawn",
        (S::Merged, Nb) => "slått sammen",
        (S::Merged, Nn) => "slått saman",
        (S::Merged, En) => "merged",
        (S::Forwarded, Nb) => "sendt videre til nasjonalt nivå",
        (S::Forwarded, Nn) => "sendt vidare til nasjonalt nivå",
        (S::Forwarded, En) => "forwarded to the national level",
        (S::PassedOn, Nb) => "gitt videre til en statlig aktør",
        (S::PassedOn, Nn) => "gjeve vidare til ein statleg aktør",
        (S::PassedOn, En) => "passed on to a national authority",
    }
}

/// A commission's status, as a person reads it.
pub fn commission_status(status: CommissionStatus, language: Language) -> &'static str {
    use CommissionStatus as S;
    use Language::{En, Nb, Nn};
    match (status, language) {
        (S::Draft, Nb | Nn) => "utkast",
        (S::Draft, En) => "draft",
        (S::Open, Nb) => "åpen for interesse",
        (S::Open, Nn) => "open for interesse",
        (S::Open, En) => "open for interest",
        (S::Awarded, Nb) => "tildelt",
        (S::Awarded, Nn) => "tildelt",
        (S::Awarded, En) => "awarded",
        (S::InProgress, Nb | Nn) => "i arbeid",
        (S::InProgress, En) => "in progress",
        (S::Delivered, Nb) => "levert",
        (S::Delivered, Nn) => "levert",
        (S::Delivered, En) => "delivered",
        (S::Published, Nb | Nn) => "publisert",
        (S::Published, En) => "published",
        (S::Cancelled, Nb | Nn) => "avlyst",
        (S::Cancelled, En) => "cancelled",
    }
}

/// What happened to a commission, as a person reads it.
pub fn commission_event(kind: CommissionEventKind, language: Language) -> &'static str {
    use CommissionEventKind as K;
    use Language::{En, Nb, Nn};
    match (kind, language) {
        (K::Created, Nb) => "ble opprettet",
        (K::Created, Nn) => "vart oppretta",
        (K::Created, En) => "was created",
        (K::StatusChanged, Nb) => "fikk ny status",
        (K::StatusChanged, Nn) => "fekk ny status",
        (K::StatusChanged, En) => "changed status",
        (K::Interest, Nb) => "fikk en interessemelding",
        (K::Interest, Nn) => "fekk ei interessemelding",
        (K::Interest, En) => "received an expression of interest",
        (K::Progress, Nb) => "fikk en framdriftsmelding",
        (K::Progress, Nn) => "fekk ei framdriftsmelding",
        (K::Progress, En) => "received a progress note",
        (K::MilestoneAdded, Nb) => "fikk en ny milepæl",
        (K::MilestoneAdded, Nn) => "fekk ein ny milepæl",
        (K::MilestoneAdded, En) => "got a new milestone",
        (K::MilestoneDone, Nb) => "nådde en milepæl",
        (K::MilestoneDone, Nn) => "nådde ein milepæl",
        (K::MilestoneDone, En) => "reached a milestone",
    }
}

const MONTHS_NO: [&str; 12] = [
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A day as a person writes it: "1. desember 2026", "1 December 2026".
pub fn day(date: NaiveDate, language: Language) -> String {
    let month = date.month0() as usize;
    match language {
        Language::Nb | Language::Nn => format!("{}. {} {}", date.day(), MONTHS_NO[month], date.year()),
        Language::En => format!("{} {} {}", date.day(), MONTHS_EN[month], date.year()),
    }
}

/// A moment as a person writes it, in UTC (the hub keeps no time zones): "1. desember 2026
/// kl. 14.00 UTC", "1 December 2026, 14:00 UTC".
pub fn moment(at: DateTime<Utc>, language: Language) -> String {
    let (hour, minute) = (at.hour(), at.minute());
    match language {
        Language::Nb | Language::Nn => {
            format!("{} kl. {hour:02}.{minute:02} UTC", day(at.date_naive(), language))
        }
        Language::En => format!("{}, {hour:02}:{minute:02} UTC", day(at.date_naive(), language)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_each_language_writes_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T14:05:00Z").expect("a time").with_timezone(&Utc);
        assert_eq!(moment(at, Language::Nb), "1. desember 2026 kl. 14.05 UTC");
        assert_eq!(moment(at, Language::En), "1 December 2026, 14:05 UTC");
        assert_eq!(day(at.date_naive(), Language::Nn), "1. desember 2026");
    }
}
