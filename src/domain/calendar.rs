//! Working days, ISO weeks and start candidates (SPEC 4.1, 4.2).

use std::collections::HashSet;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The firm's working calendar: Monday to Friday, minus holidays.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: HashSet<NaiveDate>,
}

impl Calendar {
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self { holidays: holidays.into_iter().collect() }
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&day)
    }

    /// Whether each of the `days` days from `first` is a working day.
    pub fn working_days(&self, first: NaiveDate, days: usize) -> Vec<bool> {
        (0..days).map(|offset| self.is_working_day(first + Duration::days(offset as i64))).collect()
    }
}

/// The Monday of the ISO week holding `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(day.weekday().num_days_from_monday() as i64)
}

/// The first Monday strictly after `today` that is on or after `not_before`.
pub fn first_candidate(today: NaiveDate, not_before: Option<NaiveDate>) -> NaiveDate {
    let mut earliest = today + Duration::days(1);
    if let Some(not_before) = not_before {
        earliest = earliest.max(not_before);
    }
    let monday = monday_of(earliest);
    if monday == earliest {
        monday
    } else {
        monday + Duration::weeks(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn first_candidate_is_strictly_after_today() {
        assert_eq!(first_candidate(date("2027-03-15"), None), date("2027-03-22"));
        assert_eq!(first_candidate(date("2027-03-10"), None), date("2027-03-15"));
        assert_eq!(first_candidate(date("2027-03-14"), None), date("2027-03-15"));
    }

    #[test]
    fn first_candidate_respects_not_before() {
        assert_eq!(
            first_candidate(date("2027-03-10"), Some(date("2027-04-21"))),
            date("2027-04-26")
        );
        assert_eq!(
            first_candidate(date("2027-03-10"), Some(date("2027-04-26"))),
            date("2027-04-26")
        );
        assert_eq!(
            first_candidate(date("2027-03-10"), Some(date("2026-01-01"))),
            date("2027-03-15")
        );
    }

    #[test]
    fn holidays_reduce_workdays() {
        let calendar = Calendar::new([date("2027-12-24")]);
        let workdays =
            |monday: &str| calendar.working_days(date(monday), 7).iter().filter(|w| **w).count();
        assert_eq!(workdays("2027-12-20"), 4);
        assert_eq!(workdays("2027-12-27"), 5);
        assert!(!calendar.is_working_day(date("2027-12-25")));
    }
}
