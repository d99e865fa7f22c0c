//! The bundled demo firm (Northwind Consulting, a fictional CRM / data / IT services firm), shipped
//! inside the binary. Its calendar is moved by whole weeks so that it always looks current.

use chrono::{Duration, NaiveDate};

use super::{parse_files, ParsedFirm};
use crate::domain::calendar::monday_of;

macro_rules! demo_files {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../demo/", $name)))),*]
    };
}

const FILES: [(&str, &str); 10] = demo_files!(
    "roles.csv",
    "people.csv",
    "allocations.csv",
    "time_off.csv",
    "holidays.csv",
    "packages.csv",
    "package_roles.csv",
    "deliverables.csv",
    "package_items.csv",
    "history.csv",
);

/// The Monday of the week the demo data was written for.
const ANCHOR: (i32, u32, u32) = (2026, 11, 23);

/// The demo firm as of `today`: every date moved by the whole weeks between the anchor and today.
pub fn demo_firm(today: NaiveDate) -> anyhow::Result<ParsedFirm> {
    let files: Vec<(&str, String)> =
        FILES.iter().map(|(name, text)| (*name, text.to_string())).collect();
    let (mut parsed, problems) = parse_files(&files);
    anyhow::ensure!(problems.is_empty(), "the bundled demo firm is invalid: {}", problems[0]);
    let anchor = NaiveDate::from_ymd_opt(ANCHOR.0, ANCHOR.1, ANCHOR.2).unwrap_or_default();
    let shift = Duration::weeks((monday_of(today) - anchor).num_weeks());
    let data = &mut parsed.data;
    for a in &mut data.allocations {
        a.start += shift;
        a.end += shift;
    }
    for t in &mut data.time_off {
        t.start += shift;
        t.end += shift;
    }
    for h in &mut data.holidays {
        h.date += shift;
    }
    for h in &mut data.history {
        h.start += shift;
        h.end += shift;
        h.planned_end = h.planned_end.map(|d| d + shift);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{check, KnownIds};

    #[test]
    fn the_demo_firm_is_valid_and_complete() {
        let parsed = demo_firm("2026-11-25".parse().unwrap()).unwrap();
        assert!(check(&parsed, Vec::new(), &KnownIds::default()).is_empty());
        assert_eq!(parsed.data.packages.len(), 5);
        assert!(parsed.data.people.len() >= 50);
        assert!(parsed.data.deliverables.len() >= 40);
        assert!(parsed.data.history.len() >= 150);
    }

    #[test]
    fn the_demo_calendar_follows_today() {
        let now = demo_firm("2026-11-25".parse().unwrap()).unwrap();
        let later = demo_firm("2027-11-24".parse().unwrap()).unwrap();
        let shift = later.data.allocations[0].start - now.data.allocations[0].start;
        assert_eq!(shift, Duration::weeks(52));
    }
}
