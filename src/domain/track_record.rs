//! The track record (SPEC 4.8): were the promises kept? A deal's committed start and deadline are
//! matched to how the project really went through the history row whose `deal` names the deal.
//! A deadline `D` was kept when the project ended on or before it; a start `S` when the project
//! started within six days of it (a week's slack for the kick-off). Deadlines that were approved
//! exceptions are counted apart too, so leadership sees how its exceptions end.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::firm::HistoryRow;

/// How late a start may be and still be the start promised.
pub const START_GRACE_DAYS: i64 = 6;

text_enum! {
    /// How the track record is grouped.
    pub enum TrackGrouping {
        Seller = "seller",
        Package = "package",
    }
}

text_enum! {
    /// What a promise fixed.
    pub enum PromiseKind {
        Start = "start",
        Deadline = "deadline",
    }
}

/// A deal's current committed start or deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Promise {
    pub deal: String,
    pub seller: String,
    pub package: String,
    pub kind: PromiseKind,
    pub date: NaiveDate,
    /// A deadline approved as an exception to the comparables rule.
    pub exception: bool,
}

impl Promise {
    /// Whether the project `outcome` kept this promise.
    pub fn kept_by(&self, outcome: &HistoryRow) -> bool {
        match self.kind {
            PromiseKind::Deadline => outcome.end <= self.date,
            PromiseKind::Start => outcome.start <= self.date + Duration::days(START_GRACE_DAYS),
        }
    }

    fn key(&self, by: TrackGrouping) -> &str {
        match by {
            TrackGrouping::Seller => &self.seller,
            TrackGrouping::Package => &self.package,
        }
    }
}

/// Promises kept out of promises made, and the same for approved deadline exceptions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    pub promises: usize,
    pub kept: usize,
    pub kept_rate: Option<f64>,
    pub exceptions: usize,
    pub exceptions_kept: usize,
    pub exceptions_kept_rate: Option<f64>,
}

impl Tally {
    fn add(&mut self, promise: &Promise, kept: bool) {
        self.promises += 1;
        self.kept += usize::from(kept);
        if promise.exception {
            self.exceptions += 1;
            self.exceptions_kept += usize::from(kept);
        }
        self.rates();
    }

    /// Adds another group's counts: the firm's total of its groups.
    pub fn absorb(&mut self, other: &Tally) {
        self.promises += other.promises;
        self.kept += other.kept;
        self.exceptions += other.exceptions;
        self.exceptions_kept += other.exceptions_kept;
        self.rates();
    }

    fn rates(&mut self) {
        self.kept_rate = rate(self.kept, self.promises);
        self.exceptions_kept_rate = rate(self.exceptions_kept, self.exceptions);
    }
}

/// One group of the track record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackGroup {
    pub key: String,
    #[serde(flatten)]
    pub tally: Tally,
}

/// The outcome of each deal: the history row naming it. When several rows name one deal, the one
/// that ended last (the last id on a tie) is the project's outcome.
pub fn outcomes(history: &[HistoryRow]) -> HashMap<&str, &HistoryRow> {
    let mut outcomes: HashMap<&str, &HistoryRow> = HashMap::new();
    for row in history {
        let Some(deal) = row.deal.as_deref() else { continue };
        let later = |current: &&HistoryRow| (row.end, &row.id) > (current.end, &current.id);
        if outcomes.get(deal).is_none_or(later) {
            outcomes.insert(deal, row);
        }
    }
    outcomes
}

/// SPEC 4.8: promises whose deal has an outcome, grouped `by` (sorted by key); a group is listed
/// when it has at least one such promise.
pub fn track_record(
    promises: &[Promise],
    history: &[HistoryRow],
    by: TrackGrouping,
) -> Vec<TrackGroup> {
    let outcomes = outcomes(history);
    let mut groups: BTreeMap<&str, Tally> = BTreeMap::new();
    for promise in promises {
        if let Some(outcome) = outcomes.get(promise.deal.as_str()) {
            groups.entry(promise.key(by)).or_default().add(promise, promise.kept_by(outcome));
        }
    }
    groups.into_iter().map(|(key, tally)| TrackGroup { key: key.to_string(), tally }).collect()
}

/// How the approved deadline exceptions of `package` ended: what an approval card shows.
pub fn exception_record(promises: &[Promise], history: &[HistoryRow], package: &str) -> Tally {
    let outcomes = outcomes(history);
    let mut tally = Tally::default();
    for promise in promises.iter().filter(|p| p.exception && p.package == package) {
        if let Some(outcome) = outcomes.get(promise.deal.as_str()) {
            tally.add(promise, promise.kept_by(outcome));
        }
    }
    tally
}

fn rate(count: usize, total: usize) -> Option<f64> {
    (total > 0).then(|| count as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn outcome(deal: &str, start: &str, end: &str) -> HistoryRow {
        HistoryRow {
            deal: Some(deal.into()),
            ..HistoryRow::project(format!("h-{deal}-{end}"), "crm", date(start), date(end), 100.0)
        }
    }

    fn promise(deal: &str, seller: &str, kind: PromiseKind, on: &str, exception: bool) -> Promise {
        Promise {
            deal: deal.into(),
            seller: seller.into(),
            package: if seller == "U2" { "data".into() } else { "crm".into() },
            kind,
            date: date(on),
            exception,
        }
    }

    #[test]
    fn a_start_is_kept_within_six_days_and_a_deadline_on_or_before_it() {
        let row = outcome("d1", "2027-01-11", "2027-04-02");
        let start = |on| promise("d1", "U1", PromiseKind::Start, on, false);
        assert!(start("2027-01-11").kept_by(&row));
        assert!(start("2027-01-05").kept_by(&row), "six days late is still on time");
        assert!(!start("2027-01-04").kept_by(&row), "seven days late is not");
        assert!(start("2027-01-18").kept_by(&row), "starting early keeps it");
        let deadline = |on| promise("d1", "U1", PromiseKind::Deadline, on, false);
        assert!(deadline("2027-04-02").kept_by(&row));
        assert!(!deadline("2027-04-01").kept_by(&row));
    }

    #[test]
    fn groups_count_promises_with_an_outcome_and_exceptions_apart() {
        let history = vec![
            outcome("d1", "2027-01-11", "2027-04-02"),
            outcome("d2", "2027-02-01", "2027-05-28"),
            outcome("d3", "2027-01-04", "2027-03-05"),
        ];
        let promises = vec![
            promise("d1", "U1", PromiseKind::Start, "2027-01-11", false), // kept
            promise("d1", "U1", PromiseKind::Deadline, "2027-03-26", true), // missed
            promise("d2", "U1", PromiseKind::Deadline, "2027-05-28", true), // kept
            promise("d3", "U2", PromiseKind::Deadline, "2027-03-31", false), // kept
            promise("d9", "U1", PromiseKind::Deadline, "2027-03-31", true), // not finished
        ];
        let by_seller = track_record(&promises, &history, TrackGrouping::Seller);
        assert_eq!(by_seller.len(), 2);
        let u1 = &by_seller[0];
        assert_eq!((u1.key.as_str(), u1.tally.promises, u1.tally.kept), ("U1", 3, 2));
        assert_eq!((u1.tally.exceptions, u1.tally.exceptions_kept), (2, 1));
        assert_eq!(u1.tally.exceptions_kept_rate, Some(0.5));
        let u2 = &by_seller[1];
        assert_eq!((u2.tally.promises, u2.tally.kept_rate), (1, Some(1.0)));
        assert_eq!((u2.tally.exceptions, u2.tally.exceptions_kept_rate), (0, None));
        let by_package = track_record(&promises, &history, TrackGrouping::Package);
        let keys: Vec<&str> = by_package.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["crm", "data"]);
        let crm = exception_record(&promises, &history, "crm");
        assert_eq!((crm.exceptions, crm.exceptions_kept), (2, 1));
        assert_eq!(exception_record(&promises, &history, "data"), Tally::default());
    }

    #[test]
    fn the_last_row_to_end_is_a_deals_outcome() {
        let history = vec![
            outcome("d1", "2027-01-11", "2027-06-30"),
            outcome("d1", "2027-01-11", "2027-03-01"),
        ];
        let promises = vec![promise("d1", "U1", PromiseKind::Deadline, "2027-04-01", false)];
        let record = track_record(&promises, &history, TrackGrouping::Seller);
        assert_eq!(record[0].tally.kept, 0);
        assert!(track_record(&promises, &[], TrackGrouping::Seller).is_empty());
    }
}
