//! Comparable projects, their spread, and the deadline rule (SPEC 4.4).

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::firm::HistoryRow;

/// Fewer comparables than this cannot support a deadline (and disable the effort filter).
pub const MIN_COMPARABLES: usize = 5;
/// How far back history counts as comparable.
pub const LOOKBACK_DAYS: i64 = 1826;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparables<'a> {
    #[serde(skip)]
    pub rows: Vec<&'a HistoryRow>,
    pub effort_filter_applied: bool,
    pub p10_days: Option<f64>,
    pub p50_days: Option<f64>,
    /// What four in five comparables finished within: the confidence the backtest checks.
    pub p80_days: Option<f64>,
    pub p90_days: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadlineVerdict {
    pub start: Option<NaiveDate>,
    pub requested_days: Option<i64>,
    pub share_within: f64,
    pub approval_required: bool,
}

/// The comparable set for one package's history as of `today`, optionally filtered by effort.
/// `history` may be any part of the package's rows that holds every row ending in the lookback
/// (the backtest passes the slice of rows that ended by then).
pub fn comparables<'a>(
    history: impl IntoIterator<Item = &'a HistoryRow>,
    today: NaiveDate,
    effort: Option<f64>,
) -> Comparables<'a> {
    let since = today - Duration::days(LOOKBACK_DAYS);
    let all: Vec<&HistoryRow> =
        history.into_iter().filter(|row| row.end <= today && row.start >= since).collect();
    let (rows, effort_filter_applied) = match effort {
        Some(effort) => {
            let near: Vec<&HistoryRow> = all
                .iter()
                .copied()
                .filter(|row| effort / 2.0 <= row.effort_hours && row.effort_hours <= 2.0 * effort)
                .collect();
            if near.len() >= MIN_COMPARABLES {
                (near, true)
            } else {
                (all, false)
            }
        }
        None => (all, false),
    };
    let mut durations: Vec<f64> = rows.iter().map(|row| row.duration_days() as f64).collect();
    durations.sort_by(f64::total_cmp);
    Comparables {
        effort_filter_applied,
        p10_days: percentile(&durations, 0.10),
        p50_days: percentile(&durations, 0.50),
        p80_days: percentile(&durations, 0.80),
        p90_days: percentile(&durations, 0.90),
        rows,
    }
}

/// numpy's default (linear) percentile of sorted values; `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p * last as f64;
    let low = rank.floor() as usize;
    let high = (low + 1).min(last);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

/// The last day of a project that starts on `start` and takes `days` (a percentile, so maybe
/// fractional): `start + ceil(days) − 1`. Rounding up never promises a day earlier than the
/// comparables finished; a hair of floating-point error above a whole day is not a day more.
pub fn finish_by(start: NaiveDate, days: f64) -> NaiveDate {
    let whole = (days - 1e-9).ceil().max(1.0) as i64;
    start + Duration::days(whole - 1)
}

/// The deadline rule: `start` is the given start or the earliest start (None when unknown).
pub fn deadline_verdict(
    set: &Comparables<'_>,
    start: Option<NaiveDate>,
    deadline: NaiveDate,
) -> DeadlineVerdict {
    let n = set.rows.len();
    let Some(start) = start else {
        return DeadlineVerdict {
            start: None,
            requested_days: None,
            share_within: 0.0,
            approval_required: true,
        };
    };
    let requested = (deadline - start).num_days() + 1;
    let within = set.rows.iter().filter(|row| row.duration_days() <= requested).count();
    let longer = n - within;
    let share_within = if n == 0 { 0.0 } else { within as f64 / n as f64 };
    let approval_required = n < MIN_COMPARABLES || (longer as f64) >= 0.9 * n as f64;
    DeadlineVerdict {
        start: Some(start),
        requested_days: Some(requested),
        share_within,
        approval_required,
    }
}

/// The `count` comparables nearest to `effort` (or the most recent ones without an effort).
pub fn nearest<'a>(
    set: &Comparables<'a>,
    effort: Option<f64>,
    count: usize,
) -> Vec<&'a HistoryRow> {
    let mut rows = set.rows.clone();
    match effort {
        Some(effort) => rows.sort_by(|a, b| {
            (a.effort_hours - effort)
                .abs()
                .total_cmp(&(b.effort_hours - effort).abs())
                .then(b.end.cmp(&a.end))
        }),
        None => rows.sort_by_key(|row| std::cmp::Reverse(row.end)),
    }
    rows.truncate(count);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn row(start: &str, days: i64, effort: f64) -> HistoryRow {
        let start: NaiveDate = start.parse().unwrap();
        HistoryRow::project(
            format!("h{start}{days}"),
            "p",
            start,
            start + Duration::days(days - 1),
            effort,
        )
    }

    fn today() -> NaiveDate {
        "2027-03-10".parse().unwrap()
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let values = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(percentile(&values, 0.5), Some(25.0));
        assert!((percentile(&values, 0.1).unwrap() - 13.0).abs() < 1e-9);
        assert!((percentile(&values, 0.9).unwrap() - 37.0).abs() < 1e-9);
        assert_eq!(percentile(&[7.0], 0.9), Some(7.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn a_finish_date_rounds_the_days_up_and_counts_the_start_day() {
        let start: NaiveDate = "2027-01-18".parse().unwrap();
        assert_eq!(finish_by(start, 1.0), start);
        assert_eq!(finish_by(start, 88.0), "2027-04-15".parse::<NaiveDate>().unwrap());
        assert_eq!(finish_by(start, 88.5), "2027-04-16".parse::<NaiveDate>().unwrap());
        assert_eq!(finish_by(start, 88.000000000001), "2027-04-15".parse::<NaiveDate>().unwrap());
    }

    #[test]
    fn unfinished_and_old_projects_are_not_comparable() {
        let history = vec![
            row("2026-01-01", 30, 100.0),
            row("2027-03-01", 30, 100.0),
            row("2020-01-01", 30, 100.0),
        ];
        assert_eq!(comparables(&history, today(), None).rows.len(), 1);
    }

    #[test]
    fn the_effort_filter_falls_back_below_five() {
        let history: Vec<_> =
            (0..6).map(|i| row("2026-01-01", 30 + i, 100.0 * (i + 1) as f64)).collect();
        let set = comparables(&history, today(), Some(100.0));
        assert!(!set.effort_filter_applied);
        assert_eq!(set.rows.len(), 6);
        let set = comparables(&history, today(), Some(300.0));
        assert!(set.effort_filter_applied);
        assert_eq!(set.rows.len(), 5);
    }

    #[test]
    fn a_deadline_shorter_than_ninety_percent_needs_approval() {
        let history: Vec<_> = (0..10).map(|i| row("2026-01-01", 50 + i, 100.0)).collect();
        let set = comparables(&history, today(), None);
        let start: NaiveDate = "2027-04-01".parse().unwrap();
        let tight = deadline_verdict(&set, Some(start), start + Duration::days(49));
        assert_eq!(tight.requested_days, Some(50));
        assert!((tight.share_within - 0.1).abs() < 1e-9);
        assert!(tight.approval_required);
        let fine = deadline_verdict(&set, Some(start), start + Duration::days(50));
        assert!(!fine.approval_required);
    }

    #[test]
    fn too_few_comparables_or_no_start_need_approval() {
        let history: Vec<_> = (0..4).map(|i| row("2026-01-01", 50 + i, 100.0)).collect();
        let set = comparables(&history, today(), None);
        let start: NaiveDate = "2027-04-01".parse().unwrap();
        assert!(deadline_verdict(&set, Some(start), start + Duration::days(300)).approval_required);
        assert!(deadline_verdict(&set, None, start).approval_required);
    }

    proptest! {
        #[test]
        fn percentiles_are_monotone(mut values in prop::collection::vec(1.0f64..500.0, 1..40)) {
            values.sort_by(f64::total_cmp);
            let p10 = percentile(&values, 0.1).unwrap();
            let p50 = percentile(&values, 0.5).unwrap();
            let p90 = percentile(&values, 0.9).unwrap();
            prop_assert!(values[0] <= p10 && p10 <= p50 && p50 <= p90 && p90 <= values[values.len() - 1]);
        }
    }
}
