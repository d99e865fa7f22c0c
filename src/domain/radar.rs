//! The radar (SPEC 4.6): early warnings that sales promises are eating delivery's margin. Over
//! the projects that finished in the window, per package, per seller or for the firm as a whole:
//! how often change orders came, how far margin faded from sale to close, how often and how far
//! schedules slipped, and how often a senior person was sold and not staffed. A figure raises a
//! signal above its threshold, on a sample of at least `min_projects` rows; three or more signals
//! for the firm as a whole make the problem systemic.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use super::comparables::percentile;
use super::firm::{HistoryRow, RoleCount};

/// The tolerance exact figures are compared with: a figure at its threshold raises nothing.
const TOLERANCE: f64 = 1e-9;

text_enum! {
    /// How the radar's rows are grouped.
    pub enum Grouping {
        Package = "package",
        Seller = "seller",
        Firm = "firm",
    }
}

text_enum! {
    /// A warning sign, in the order SPEC 4.6 lists them.
    pub enum Signal {
        ChangeOrders = "change_orders",
        MarginFade = "margin_fade",
        ScheduleSlip = "schedule_slip",
        SeniorityGap = "seniority_gap",
    }
}

/// The key of the single group of `Grouping::Firm`.
pub const FIRM_KEY: &str = "firm";

/// Above what each figure raises its signal, and the sample a signal needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Rows a figure must rest on before it may raise a signal (`radar_min_projects`).
    pub min_projects: usize,
    /// `change_orders` above this share of projects with change orders.
    pub change_order_rate: f64,
    /// `margin_fade` above this many points of margin lost between sale and close.
    pub margin_fade_points: f64,
    /// `schedule_slip` above this share of projects that ended after their planned end.
    pub slip_rate: f64,
    /// `seniority_gap` above this share of projects staffed below the seniority sold.
    pub seniority_gap_rate: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_projects: 5,
            change_order_rate: 0.30,
            margin_fade_points: 10.0,
            slip_rate: 0.30,
            seniority_gap_rate: 0.20,
        }
    }
}

/// A figure and the rows it rests on (`value` is `None` when no row had its inputs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    pub value: Option<f64>,
    pub sample: usize,
}

impl Figure {
    fn of(value: Option<f64>, sample: usize) -> Figure {
        Figure { value, sample }
    }

    /// Whether the figure raises its signal: above `threshold` beyond the tolerance, on a
    /// sample of at least `min_projects`.
    fn above(&self, threshold: f64, min_projects: usize) -> bool {
        self.sample >= min_projects && self.value.is_some_and(|v| v - threshold > TOLERANCE)
    }

    /// How far above its threshold, relative to it: how bad a raised signal is.
    fn excess(&self, threshold: f64) -> f64 {
        match self.value {
            Some(value) if threshold.abs() > TOLERANCE => (value - threshold) / threshold.abs(),
            Some(value) => value - threshold,
            None => 0.0,
        }
    }
}

/// One group's figures (SPEC 4.6) and the signals they raise.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFigures {
    pub key: String,
    /// The group's rows in the window.
    pub n: usize,
    pub change_order_rate: Figure,
    pub margin_fade_points: Figure,
    pub slip_rate: Figure,
    /// Over the same rows as `slip_rate`.
    pub median_slip_days: Option<f64>,
    pub optimism_ratio: Option<f64>,
    pub seniority_gap_rate: Figure,
    /// Raised signals, in SPEC order.
    pub signals: Vec<Signal>,
}

impl GroupFigures {
    /// The figure behind `signal`, and its threshold.
    pub fn figure(&self, signal: Signal, thresholds: &Thresholds) -> (Figure, f64) {
        match signal {
            Signal::ChangeOrders => (self.change_order_rate, thresholds.change_order_rate),
            Signal::MarginFade => (self.margin_fade_points, thresholds.margin_fade_points),
            Signal::ScheduleSlip => (self.slip_rate, thresholds.slip_rate),
            Signal::SeniorityGap => (self.seniority_gap_rate, thresholds.seniority_gap_rate),
        }
    }

    /// The raised signals, worst first (furthest above its threshold, relatively); ties keep
    /// SPEC order.
    pub fn signals_worst_first(&self, thresholds: &Thresholds) -> Vec<Signal> {
        let mut signals = self.signals.clone();
        signals.sort_by(|a, b| {
            let (fa, ta) = self.figure(*a, thresholds);
            let (fb, tb) = self.figure(*b, thresholds);
            fb.excess(tb).total_cmp(&fa.excess(ta))
        });
        signals
    }
}

/// The radar over one window, grouped one way.
#[derive(Debug, Clone, PartialEq)]
pub struct Radar {
    pub by: Grouping,
    pub window_days: i64,
    /// Groups with at least one row in the window, sorted by key.
    pub groups: Vec<GroupFigures>,
    /// The firm as a whole, whatever the grouping.
    pub firm: GroupFigures,
    /// Three or more signals for the firm as a whole.
    pub systemic: bool,
}

/// Signals for the firm as a whole from which the problem is the system's, not a team's.
pub const SYSTEMIC_SIGNALS: usize = 3;

/// The rows the radar looks at: finished on or before `today`, within the last `window_days`.
pub fn in_window(history: &[HistoryRow], today: NaiveDate, window_days: i64) -> Vec<&HistoryRow> {
    let after = today - Duration::days(window_days);
    history.iter().filter(|row| row.end <= today && row.end > after).collect()
}

/// SPEC 4.6 over `history` as of `today`. `rank` gives a role's rank (None for a role the firm
/// does not know).
pub fn radar(
    history: &[HistoryRow],
    today: NaiveDate,
    window_days: i64,
    by: Grouping,
    thresholds: &Thresholds,
    rank: &dyn Fn(&str) -> Option<i64>,
) -> Radar {
    let rows = in_window(history, today, window_days);
    let mut grouped: BTreeMap<&str, Vec<&HistoryRow>> = BTreeMap::new();
    for row in &rows {
        let key = match by {
            Grouping::Package => Some(row.package.as_str()),
            Grouping::Seller => row.seller.as_deref(),
            Grouping::Firm => Some(FIRM_KEY),
        };
        if let Some(key) = key {
            grouped.entry(key).or_default().push(row);
        }
    }
    let groups =
        grouped.into_iter().map(|(key, rows)| figures(key, &rows, thresholds, rank)).collect();
    let firm = figures(FIRM_KEY, &rows, thresholds, rank);
    let systemic = firm.signals.len() >= SYSTEMIC_SIGNALS;
    Radar { by, window_days, groups, firm, systemic }
}

/// One group's figures and signals.
pub fn figures(
    key: &str,
    rows: &[&HistoryRow],
    thresholds: &Thresholds,
    rank: &dyn Fn(&str) -> Option<i64>,
) -> GroupFigures {
    let with_change_orders: Vec<i64> = rows.iter().filter_map(|r| r.change_orders).collect();
    let change_order_rate =
        share(with_change_orders.iter().filter(|c| **c > 0).count(), with_change_orders.len());
    let fades: Vec<f64> =
        rows.iter().filter_map(|r| Some((r.sold_margin? - r.closed_margin?) * 100.0)).collect();
    let margin_fade_points = Figure::of(mean(&fades), fades.len());
    let planned: Vec<(&HistoryRow, NaiveDate)> =
        rows.iter().filter_map(|r| Some((*r, r.planned_end?))).collect();
    let slip_rate = share(planned.iter().filter(|(r, p)| r.end > *p).count(), planned.len());
    let slips: Vec<f64> = planned.iter().map(|(r, p)| (r.end - *p).num_days() as f64).collect();
    let ratios: Vec<f64> = planned
        .iter()
        .map(|(r, p)| r.duration_days() as f64 / ((*p - r.start).num_days() + 1) as f64)
        .collect();
    let gaps: Vec<bool> = rows
        .iter()
        .filter_map(|r| seniority_gap(r.sold_roles.as_deref()?, r.staffed_roles.as_deref()?, rank))
        .collect();
    let seniority_gap_rate = share(gaps.iter().filter(|g| **g).count(), gaps.len());
    let mut group = GroupFigures {
        key: key.to_string(),
        n: rows.len(),
        change_order_rate,
        margin_fade_points,
        slip_rate,
        median_slip_days: median(slips),
        optimism_ratio: median(ratios),
        seniority_gap_rate,
        signals: Vec::new(),
    };
    group.signals = Signal::ALL
        .iter()
        .copied()
        .filter(|signal| {
            let (figure, threshold) = group.figure(*signal, thresholds);
            figure.above(threshold, thresholds.min_projects)
        })
        .collect();
    group
}

/// Whether a project sold `sold` and staffed `staffed` has a seniority gap: fewer people staffed
/// at the highest rank sold, or above, than were sold at that rank. `None` when a role's rank is
/// unknown: the row cannot be judged and is left out of the figure's sample.
pub fn seniority_gap(
    sold: &[RoleCount],
    staffed: &[RoleCount],
    rank: &dyn Fn(&str) -> Option<i64>,
) -> Option<bool> {
    let ranked = |counts: &[RoleCount]| -> Option<Vec<(i64, i64)>> {
        counts.iter().map(|c| Some((rank(&c.role)?, c.count))).collect()
    };
    let (sold, staffed) = (ranked(sold)?, ranked(staffed)?);
    let top = sold.iter().map(|(r, _)| *r).max()?;
    let sold_at_top: i64 = sold.iter().filter(|(r, _)| *r == top).map(|(_, c)| c).sum();
    let staffed_at_or_above: i64 = staffed.iter().filter(|(r, _)| *r >= top).map(|(_, c)| c).sum();
    Some(staffed_at_or_above < sold_at_top)
}

/// `count / total` as a figure on `total` rows.
fn share(count: usize, total: usize) -> Figure {
    Figure::of((total > 0).then(|| count as f64 / total as f64), total)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The 4.4 percentile rule at 0.5.
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    percentile(&values, 0.5)
}

#[cfg(test)]
mod tests;
