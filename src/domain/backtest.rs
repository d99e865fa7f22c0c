//! The backtest (SPEC 4.7): would the comparables have been right? Every finished project is
//! forecast again from what the firm knew the day before it started (the 4.4 rule, at the
//! project's own effort), and the backtest counts how often its P50, P80 and P90 held.
//! A calibrated firm hits about 0.5, 0.8 and 0.9; far lower means its history flatters it.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::comparables::{comparables, LOOKBACK_DAYS, MIN_COMPARABLES};
use super::firm::HistoryRow;

/// How far back the projects replayed start by default: the last two years.
pub const DEFAULT_WINDOW_DAYS: i64 = 730;

/// Percentiles are interpolated in floating point; a duration equal to one (exactly, in whole
/// days) must count as a hit even when the interpolation lands a hair below it.
const HIT_TOLERANCE_DAYS: f64 = 1e-9;

/// Fewer tested projects than this say too little about what a percentile is worth.
pub const ENOUGH_TESTED: usize = 5;

/// The first start the backtest replays when none is given: `today − 730 days`.
pub fn default_from(today: NaiveDate) -> NaiveDate {
    today - Duration::days(DEFAULT_WINDOW_DAYS)
}

/// A window the backtest cannot replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacktestError {
    #[error("--from {from} is after --today {today}: give a first start on or before today")]
    FromAfterToday { from: NaiveDate, today: NaiveDate },
}

/// The first start to replay: `from` when given (never after `today`), else the default.
pub fn window_start(from: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, BacktestError> {
    match from {
        Some(from) if from > today => Err(BacktestError::FromAfterToday { from, today }),
        Some(from) => Ok(from),
        None => Ok(default_from(today)),
    }
}

/// What replaying the rule for one project found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Fewer than 5 comparables (after the effort rule) the day before it started.
    Skipped,
    /// Whether its duration was at most the P50, P80 and P90 it would have been given.
    Tested { p50: bool, p80: bool, p90: bool },
}

/// Replays counted: how many were tested or skipped, and the hits of each percentile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub tested: usize,
    pub skipped: usize,
    pub p50_hits: usize,
    pub p80_hits: usize,
    pub p90_hits: usize,
}

impl Tally {
    fn add(&mut self, replay: Replay) {
        match replay {
            Replay::Skipped => self.skipped += 1,
            Replay::Tested { p50, p80, p90 } => {
                self.tested += 1;
                self.p50_hits += usize::from(p50);
                self.p80_hits += usize::from(p80);
                self.p90_hits += usize::from(p90);
            }
        }
    }

    fn merge(&mut self, other: &Tally) {
        self.tested += other.tested;
        self.skipped += other.skipped;
        self.p50_hits += other.p50_hits;
        self.p80_hits += other.p80_hits;
        self.p90_hits += other.p90_hits;
    }

    /// Projects replayed at all (tested or skipped).
    pub fn examined(&self) -> usize {
        self.tested + self.skipped
    }

    /// Hits / tested; `None` when nothing was tested.
    fn rate(&self, hits: usize) -> Option<f64> {
        (self.tested > 0).then(|| hits as f64 / self.tested as f64)
    }

    /// The figures SPEC 6 reports: counts and hit rates.
    pub fn summary(&self) -> Summary {
        Summary {
            tested: self.tested,
            skipped: self.skipped,
            p50_hit_rate: self.rate(self.p50_hits),
            p80_hit_rate: self.rate(self.p80_hits),
            p90_hit_rate: self.rate(self.p90_hits),
        }
    }
}

/// One group's (or the firm's) result as the `backtest --json` contract spells it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub tested: usize,
    pub skipped: usize,
    pub p50_hit_rate: Option<f64>,
    pub p80_hit_rate: Option<f64>,
    pub p90_hit_rate: Option<f64>,
}

/// One package's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageBacktest {
    pub package: String,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The whole backtest: packages with at least one project examined, sorted by id, and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub from: NaiveDate,
    pub today: NaiveDate,
    pub groups: Vec<PackageBacktest>,
    pub overall: Summary,
}

/// SPEC 4.7 over every package's history: each package's rows are sorted by end date once, and
/// each project's comparable set is read from that order (no pass over the whole history per
/// project).
pub fn backtest<'a>(
    history: impl IntoIterator<Item = &'a HistoryRow>,
    from: NaiveDate,
    today: NaiveDate,
) -> Backtest {
    let mut by_package: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for row in history {
        by_package.entry(row.package.as_str()).or_default().push(row);
    }
    let mut overall = Tally::default();
    let mut groups = Vec::new();
    for (package, rows) in by_package {
        let tally = backtest_package(rows, from, today);
        if tally.examined() == 0 {
            continue;
        }
        overall.merge(&tally);
        groups.push(PackageBacktest { package: package.to_string(), summary: tally.summary() });
    }
    Backtest { from, today, groups, overall: overall.summary() }
}

/// SPEC 4.7 for one package's rows (in any order): the projects that started on or after `from`
/// and ended by `today`, each replayed.
pub fn backtest_package<'a>(
    rows: impl IntoIterator<Item = &'a HistoryRow>,
    from: NaiveDate,
    today: NaiveDate,
) -> Tally {
    let mut by_end: Vec<&HistoryRow> = rows.into_iter().collect();
    by_end.sort_by_key(|row| row.end);
    let mut tally = Tally::default();
    for project in by_end.iter().filter(|row| row.start >= from && row.end <= today) {
        tally.add(replay(&by_end, project));
    }
    tally
}

/// The forecast `project` would have been given the day before it started, against what it
/// took. `by_end` is its package's rows sorted by end date.
pub fn replay(by_end: &[&HistoryRow], project: &HistoryRow) -> Replay {
    let day_before = project.start - Duration::days(1);
    // A comparable started within the lookback and ends on or after its start, so only the rows
    // ending between the lookback's first day and the day before can be comparable.
    let since = day_before - Duration::days(LOOKBACK_DAYS);
    let first = by_end.partition_point(|row| row.end < since);
    let last = by_end.partition_point(|row| row.end <= day_before);
    let window = by_end.get(first..last).unwrap_or_default();
    let set = comparables(window.iter().copied(), day_before, Some(project.effort_hours));
    if set.rows.len() < MIN_COMPARABLES {
        return Replay::Skipped;
    }
    let (Some(p50), Some(p80), Some(p90)) = (set.p50_days, set.p80_days, set.p90_days) else {
        return Replay::Skipped;
    };
    let took = project.duration_days() as f64;
    let held = |percentile: f64| took <= percentile + HIT_TOLERANCE_DAYS;
    Replay::Tested { p50: held(p50), p80: held(p80), p90: held(p90) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// A project of package `p` from `start` lasting `days` calendar days.
    fn row(id: &str, start: NaiveDate, days: i64, effort: f64) -> HistoryRow {
        HistoryRow::project(id, "p", start, start + Duration::days(days - 1), effort)
    }

    /// Five comparables ending by 2026-01-31 that took 10, 20, 30, 40 and 50 days.
    fn five_before() -> Vec<HistoryRow> {
        (1..=5)
            .map(|i| {
                let end = date("2026-01-31") - Duration::days(i);
                row(&format!("c{i}"), end - Duration::days(i * 10 - 1), i * 10, 100.0)
            })
            .collect()
    }

    fn sorted(rows: &[HistoryRow]) -> Vec<&HistoryRow> {
        let mut by_end: Vec<&HistoryRow> = rows.iter().collect();
        by_end.sort_by_key(|r| r.end);
        by_end
    }

    #[test]
    fn a_project_is_forecast_from_the_rows_that_ended_the_day_before_it_started() {
        let mut rows = five_before();
        rows.push(row("h", date("2026-02-02"), 30, 100.0));
        // Ends on the day before h starts: comparable.
        rows.push(row("edge", date("2026-01-22"), 11, 100.0));
        let by_end = sorted(&rows);
        let h = rows.iter().find(|r| r.id == "h").unwrap();
        let set = comparables(by_end.iter().copied(), date("2026-02-01"), Some(100.0));
        assert_eq!(set.rows.len(), 6);
        // Durations 10, 11, 20, 30, 40, 50: P50 = 25, so 30 days misses P50 and holds P80.
        assert_eq!(replay(&by_end, h), Replay::Tested { p50: false, p80: true, p90: true });
    }

    #[test]
    fn a_row_ending_on_the_start_day_is_not_yet_known() {
        let mut rows: Vec<HistoryRow> = five_before().into_iter().take(4).collect();
        rows.push(row("h", date("2026-02-02"), 30, 100.0));
        rows.push(row("same-day", date("2026-01-20"), 14, 100.0));
        assert_eq!(rows[5].end, date("2026-02-02"));
        assert_eq!(replay(&sorted(&rows), &rows[4]), Replay::Skipped);
        rows[5].end = date("2026-02-01");
        assert!(matches!(replay(&sorted(&rows), &rows[4]), Replay::Tested { .. }));
    }

    #[test]
    fn the_lookback_counts_starts_from_the_day_before_back_1826_days() {
        let h = row("h", date("2026-02-02"), 30, 100.0);
        let bound = date("2026-02-01") - Duration::days(1826);
        let mut rows: Vec<HistoryRow> = five_before().into_iter().take(4).collect();
        rows.push(row("old", bound, 100, 100.0));
        rows.push(h.clone());
        assert!(matches!(replay(&sorted(&rows), &h), Replay::Tested { .. }));
        rows[4].start = bound - Duration::days(1);
        assert_eq!(replay(&sorted(&rows), &h), Replay::Skipped);
    }

    #[test]
    fn the_effort_filter_uses_the_projects_own_effort_and_falls_back_below_five() {
        let mut rows = five_before();
        // Five big projects that took 200 days: near an effort of 1000, far from 100.
        for i in 0..5 {
            rows.push(row(&format!("big{i}"), date("2025-06-01") - Duration::days(i), 200, 1000.0));
        }
        let small = row("small", date("2026-02-02"), 45, 100.0);
        let big = row("big", date("2026-02-02"), 45, 1000.0);
        let by_end = sorted(&rows);
        // At 100 h only the five small ones count: P50 = 30, P80 = 42, P90 = 46.
        assert_eq!(replay(&by_end, &small), Replay::Tested { p50: false, p80: false, p90: true });
        // At 1000 h the big ones: 45 days holds every percentile.
        assert_eq!(replay(&by_end, &big), Replay::Tested { p50: true, p80: true, p90: true });
        // With only four projects near 100 h, the filter falls back to all nine: 20, 30, 40,
        // 50 and five of 200 days, whose P50 is 200.
        let mut four_near = rows.clone();
        four_near.remove(0);
        let set = comparables(sorted(&four_near), date("2026-02-01"), Some(100.0));
        assert!(!set.effort_filter_applied);
        assert_eq!(set.rows.len(), 9);
        let replayed = replay(&sorted(&four_near), &small);
        assert_eq!(replayed, Replay::Tested { p50: true, p80: true, p90: true });
    }

    #[test]
    fn fewer_than_five_comparables_skip_the_project() {
        let rows: Vec<HistoryRow> = five_before().into_iter().take(4).collect();
        let h = row("h", date("2026-02-02"), 30, 100.0);
        assert_eq!(replay(&sorted(&rows), &h), Replay::Skipped);
    }

    #[test]
    fn a_duration_equal_to_a_percentile_is_a_hit() {
        let rows = five_before();
        let by_end = sorted(&rows);
        // 10, 20, 30, 40, 50: P50 = 30, P80 = 42, P90 = 46.
        let at_p50 = row("h", date("2026-02-02"), 30, 100.0);
        assert_eq!(replay(&by_end, &at_p50), Replay::Tested { p50: true, p80: true, p90: true });
        let at_p80 = row("h", date("2026-02-02"), 42, 100.0);
        assert_eq!(replay(&by_end, &at_p80), Replay::Tested { p50: false, p80: true, p90: true });
        let past_p90 = row("h", date("2026-02-02"), 47, 100.0);
        let replayed = replay(&by_end, &past_p90);
        assert_eq!(replayed, Replay::Tested { p50: false, p80: false, p90: false });
    }

    #[test]
    fn rates_are_null_when_nothing_was_tested_and_packages_listed_when_examined() {
        let mut rows: Vec<HistoryRow> = five_before().into_iter().take(3).collect();
        let mut other = row("q1", date("2020-01-01"), 30, 100.0);
        other.package = "q".into();
        rows.push(other);
        let today = date("2026-03-01");
        let result = backtest(&rows, date("2025-01-01"), today);
        assert_eq!(result.groups.len(), 1, "q's only row started before from: {result:?}");
        assert_eq!(result.groups[0].package, "p");
        assert_eq!(result.groups[0].summary.skipped, 3);
        assert_eq!(result.overall.p80_hit_rate, None);
        assert_eq!(result.overall.tested, 0);
    }

    #[test]
    fn only_projects_started_from_from_and_ended_by_today_are_replayed() {
        let mut rows = five_before();
        rows.push(row("h", date("2026-02-02"), 30, 100.0));
        rows.push(row("running", date("2026-02-02"), 300, 100.0));
        let today = date("2026-03-10");
        let result = backtest(&rows, date("2026-02-02"), today);
        assert_eq!(result.overall.tested, 1);
        assert_eq!(result.overall.skipped, 0);
        assert_eq!(result.overall.p50_hit_rate, Some(1.0));
        let earlier = backtest(&rows, date("2025-01-01"), today);
        assert_eq!(earlier.overall.tested + earlier.overall.skipped, 6);
    }

    #[test]
    fn from_after_today_is_refused_and_the_default_is_two_years() {
        let today = date("2027-03-10");
        assert_eq!(window_start(None, today), Ok(date("2025-03-10")));
        assert_eq!(window_start(Some(today), today), Ok(today));
        let error = window_start(Some(date("2027-03-11")), today).unwrap_err();
        assert!(error.to_string().contains("after --today 2027-03-10"), "{error}");
    }

    /// A package's history: starts over six years, durations of 1 to 200 days, varied effort.
    fn histories() -> impl Strategy<Value = Vec<HistoryRow>> {
        let one = (0i64..2200, 1i64..200, 20u32..2000, 0usize..3);
        prop::collection::vec(one, 0..60).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, (offset, days, effort, package))| {
                    let start = date("2021-01-01") + Duration::days(offset);
                    let mut r = row(&format!("h{i}"), start, days, f64::from(effort));
                    r.package = ["a", "b", "c"][package].into();
                    r
                })
                .collect()
        })
    }

    proptest! {
        /// The sorted-slice replay gives what the 4.4 rule over the package's whole history does.
        #[test]
        fn the_sorted_replay_matches_the_rule_over_the_whole_history(
            history in histories(),
            from_offset in 0i64..2200,
        ) {
            let today = date("2027-01-01");
            let from = date("2021-01-01") + Duration::days(from_offset);
            let result = backtest(&history, from, today);
            let mut naive: BTreeMap<&str, Tally> = BTreeMap::new();
            for h in history.iter().filter(|h| h.start >= from && h.end <= today) {
                let package: Vec<&HistoryRow> =
                    history.iter().filter(|r| r.package == h.package).collect();
                let set = comparables(package, h.start - Duration::days(1), Some(h.effort_hours));
                let replayed = if set.rows.len() < MIN_COMPARABLES {
                    Replay::Skipped
                } else {
                    let took = h.duration_days() as f64;
                    Replay::Tested {
                        p50: took <= set.p50_days.unwrap() + HIT_TOLERANCE_DAYS,
                        p80: took <= set.p80_days.unwrap() + HIT_TOLERANCE_DAYS,
                        p90: took <= set.p90_days.unwrap() + HIT_TOLERANCE_DAYS,
                    }
                };
                naive.entry(h.package.as_str()).or_default().add(replayed);
            }
            let expected: Vec<PackageBacktest> = naive
                .iter()
                .map(|(p, t)| PackageBacktest { package: p.to_string(), summary: t.summary() })
                .collect();
            prop_assert_eq!(&result.groups, &expected);
        }

        /// Every examined project is tested or skipped, groups add up to the firm, and a
        /// higher percentile never holds less often.
        #[test]
        fn tested_and_skipped_add_up_and_hit_rates_are_ordered(
            history in histories(),
            from_offset in 0i64..2200,
        ) {
            let today = date("2027-01-01");
            let from = date("2021-01-01") + Duration::days(from_offset);
            let result = backtest(&history, from, today);
            let examined = history.iter().filter(|h| h.start >= from && h.end <= today).count();
            prop_assert_eq!(result.overall.tested + result.overall.skipped, examined);
            let tested: usize = result.groups.iter().map(|g| g.summary.tested).sum();
            prop_assert_eq!(tested, result.overall.tested);
            for group in &result.groups {
                prop_assert!(group.summary.tested + group.summary.skipped > 0);
            }
            for s in result.groups.iter().map(|g| &g.summary).chain([&result.overall]) {
                match (s.p50_hit_rate, s.p80_hit_rate, s.p90_hit_rate) {
                    (Some(a), Some(b), Some(c)) => prop_assert!(a <= b && b <= c),
                    (None, None, None) => prop_assert_eq!(s.tested, 0),
                    other => prop_assert!(false, "rates half null: {:?}", other),
                }
            }
        }
    }
}
