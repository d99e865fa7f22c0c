use super::*;
use crate::domain::firm::parse_role_counts;
use proptest::prelude::*;

fn today() -> NaiveDate {
    "2027-03-10".parse().unwrap()
}

/// A finished project of `package`, 50 days long, ending `ended_days_ago` before today.
fn row(id: usize, package: &str, ended_days_ago: i64) -> HistoryRow {
    let end = today() - Duration::days(ended_days_ago);
    HistoryRow::project(format!("h{id:03}"), package, end - Duration::days(49), end, 100.0)
}

fn rank(role: &str) -> Option<i64> {
    match role {
        "principal" => Some(4),
        "senior" => Some(3),
        "consultant" => Some(2),
        "analyst" => Some(1),
        _ => None,
    }
}

fn group(rows: &[HistoryRow]) -> GroupFigures {
    let refs: Vec<&HistoryRow> = rows.iter().collect();
    figures("p", &refs, &Thresholds::default(), &rank)
}

/// `n` rows of which the first `with` have change orders.
fn change_orders(n: usize, with: usize) -> Vec<HistoryRow> {
    (0..n)
        .map(|i| HistoryRow { change_orders: Some(i64::from(i < with)), ..row(i, "p", 10) })
        .collect()
}

#[test]
fn the_window_holds_projects_that_ended_in_the_last_window_days_and_not_after_today() {
    let history =
        vec![row(1, "p", 0), row(2, "p", 364), row(3, "p", 365), row(4, "p", -1), row(5, "p", 30)];
    let ids: Vec<&str> = in_window(&history, today(), 365).iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["h001", "h002", "h005"]);
}

#[test]
fn change_orders_just_under_at_and_just_over_the_threshold() {
    // 10 rows: 2, 3 and 4 with change orders are 20%, exactly 30% and 40%.
    assert!(group(&change_orders(10, 2)).signals.is_empty());
    let at = group(&change_orders(10, 3));
    assert_eq!(at.change_order_rate.value, Some(0.3));
    assert!(at.signals.is_empty(), "exactly at the threshold raises nothing");
    assert_eq!(group(&change_orders(10, 4)).signals, [Signal::ChangeOrders]);
}

#[test]
fn a_signal_needs_its_own_figure_to_rest_on_the_minimum_sample() {
    // 4 of 4 with change orders: 100%, but only 4 rows carry the column.
    let mut rows = change_orders(4, 4);
    rows.extend((10..20).map(|i| row(i, "p", 10)));
    let figures = group(&rows);
    assert_eq!(figures.n, 14);
    assert_eq!(figures.change_order_rate, Figure { value: Some(1.0), sample: 4 });
    assert!(figures.signals.is_empty());
    assert_eq!(group(&change_orders(5, 5)).signals, [Signal::ChangeOrders]);
}

#[test]
fn missing_columns_give_null_figures() {
    let figures = group(&[row(1, "p", 1), row(2, "p", 2)]);
    assert_eq!(figures.n, 2);
    assert_eq!(figures.change_order_rate, Figure { value: None, sample: 0 });
    assert_eq!(figures.margin_fade_points.value, None);
    assert_eq!(figures.slip_rate.value, None);
    assert_eq!(figures.median_slip_days, None);
    assert_eq!(figures.optimism_ratio, None);
    assert_eq!(figures.seniority_gap_rate.value, None);
    assert!(figures.signals.is_empty());
}

/// Five rows whose margin faded by `points` each (sold 0.40).
fn fading(points: f64) -> Vec<HistoryRow> {
    (0..5)
        .map(|i| HistoryRow {
            sold_margin: Some(0.40),
            closed_margin: Some(0.40 - points / 100.0),
            ..row(i, "p", 10)
        })
        .collect()
}

#[test]
fn margin_fade_just_under_at_and_just_over_ten_points() {
    assert!(group(&fading(9.9)).signals.is_empty());
    let at = group(&fading(10.0));
    assert!((at.margin_fade_points.value.unwrap() - 10.0).abs() < 1e-9);
    assert!(at.signals.is_empty(), "10 points in floating point is still at the threshold");
    assert_eq!(group(&fading(10.1)).signals, [Signal::MarginFade]);
}

/// Ten rows, `late` of them ending `days` after their planned end, the rest on time.
fn slipping(late: usize, days: i64) -> Vec<HistoryRow> {
    (0..10)
        .map(|i| {
            let r = row(i, "p", 10);
            let slip = if i < late { days } else { 0 };
            HistoryRow { planned_end: Some(r.end - Duration::days(slip)), ..r }
        })
        .collect()
}

#[test]
fn schedule_slip_just_under_at_and_just_over_the_threshold() {
    assert!(group(&slipping(2, 7)).signals.is_empty());
    assert!(group(&slipping(3, 7)).signals.is_empty());
    assert_eq!(group(&slipping(4, 7)).signals, [Signal::ScheduleSlip]);
}

#[test]
fn median_slip_and_optimism_use_the_percentile_rule_at_one_half() {
    // Slips of 0, 0, 4 and 10 days: the median interpolates to 2.
    let rows: Vec<HistoryRow> = [0, 10, 0, 4]
        .iter()
        .enumerate()
        .map(|(i, slip)| {
            let r = row(i, "p", 10);
            HistoryRow { planned_end: Some(r.end - Duration::days(*slip)), ..r }
        })
        .collect();
    let figures = group(&rows);
    assert_eq!(figures.median_slip_days, Some(2.0));
    assert_eq!(figures.slip_rate, Figure { value: Some(0.5), sample: 4 });
    // 50 days done against 50, 40, 50 and 46 planned: ratios 1, 1.25, 1, 50/46.
    let expected = (1.0 + 50.0 / 46.0) / 2.0;
    assert!((figures.optimism_ratio.unwrap() - expected).abs() < 1e-12);
}

#[test]
fn an_early_finish_is_a_negative_slip_and_no_slip() {
    let r = row(1, "p", 10);
    let early = HistoryRow { planned_end: Some(r.end + Duration::days(5)), ..r };
    let figures = group(&[early]);
    assert_eq!(figures.slip_rate.value, Some(0.0));
    assert_eq!(figures.median_slip_days, Some(-5.0));
}

fn gap(sold: &str, staffed: &str) -> Option<bool> {
    seniority_gap(&parse_role_counts(sold).unwrap(), &parse_role_counts(staffed).unwrap(), &rank)
}

#[test]
fn the_seniority_gap_is_judged_at_the_highest_rank_sold() {
    // A principal sold, a senior staffed instead: a gap.
    assert_eq!(gap("senior:2;principal:1", "senior:3"), Some(true));
    // Staffing more senior people instead is no gap.
    assert_eq!(gap("senior:2", "principal:2"), Some(false));
    assert_eq!(gap("senior:2", "principal:1;senior:1"), Some(false));
    // Only the highest rank sold counts: a missing analyst is no seniority gap.
    assert_eq!(gap("principal:1;analyst:2", "principal:1"), Some(false));
    // Two principals sold, one staffed.
    assert_eq!(gap("principal:2", "principal:1;senior:4"), Some(true));
    // A role the firm does not know cannot be ranked: the row is left out.
    assert_eq!(gap("wizard:1", "senior:1"), None);
    assert_eq!(gap("senior:1", "wizard:1"), None);
}

/// Ten rows sold `senior:1;principal:1`, `short` of them staffed without the principal.
fn staffed(short: usize) -> Vec<HistoryRow> {
    (0..10)
        .map(|i| HistoryRow {
            sold_roles: parse_role_counts("senior:1;principal:1").ok(),
            staffed_roles: parse_role_counts(if i < short {
                "senior:2"
            } else {
                "principal:1;senior:1"
            })
            .ok(),
            ..row(i, "p", 10)
        })
        .collect()
}

#[test]
fn seniority_gap_just_under_at_and_just_over_the_threshold() {
    assert!(group(&staffed(1)).signals.is_empty());
    let at = group(&staffed(2));
    assert_eq!(at.seniority_gap_rate, Figure { value: Some(0.2), sample: 10 });
    assert!(at.signals.is_empty());
    assert_eq!(group(&staffed(3)).signals, [Signal::SeniorityGap]);
}

#[test]
fn thresholds_are_configurable() {
    let rows = change_orders(10, 2);
    let refs: Vec<&HistoryRow> = rows.iter().collect();
    let strict = Thresholds { change_order_rate: 0.1, min_projects: 10, ..Thresholds::default() };
    assert_eq!(figures("p", &refs, &strict, &rank).signals, [Signal::ChangeOrders]);
    let larger_sample = Thresholds { min_projects: 11, ..strict };
    assert!(figures("p", &refs, &larger_sample, &rank).signals.is_empty());
}

#[test]
fn groups_are_sorted_by_key_and_systemic_is_about_the_firm() {
    let mut history = Vec::new();
    for (i, package) in ["b", "a", "c"].iter().enumerate() {
        for j in 0..4 {
            let mut r = row(i * 10 + j, package, 10);
            r.change_orders = Some(1);
            r.sold_margin = Some(0.4);
            r.closed_margin = Some(0.2);
            r.planned_end = Some(r.end - Duration::days(3));
            r.seller = (j < 2).then(|| format!("U{j}"));
            history.push(r);
        }
    }
    let radar = radar(&history, today(), 365, Grouping::Package, &Thresholds::default(), &rank);
    let keys: Vec<&str> = radar.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "c"]);
    // Four rows per package are too few for a signal; the firm's twelve raise three.
    assert!(radar.groups.iter().all(|g| g.signals.is_empty()));
    assert_eq!(
        radar.firm.signals,
        [Signal::ChangeOrders, Signal::MarginFade, Signal::ScheduleSlip]
    );
    assert!(radar.systemic);
    let sellers =
        super::radar(&history, today(), 365, Grouping::Seller, &Thresholds::default(), &rank);
    let keys: Vec<(&str, usize)> = sellers.groups.iter().map(|g| (g.key.as_str(), g.n)).collect();
    assert_eq!(keys, [("U0", 3), ("U1", 3)], "rows without a seller are left out");
    assert!(sellers.systemic, "systemic is about the firm whatever the grouping");
}

#[test]
fn signals_read_worst_first() {
    let mut rows = change_orders(10, 4); // 40% against 30%: a third over.
    for r in &mut rows {
        r.sold_margin = Some(0.5);
        r.closed_margin = Some(0.2); // 30 points against 10: twice over.
    }
    let figures = group(&rows);
    assert_eq!(figures.signals, [Signal::ChangeOrders, Signal::MarginFade]);
    assert_eq!(
        figures.signals_worst_first(&Thresholds::default()),
        [Signal::MarginFade, Signal::ChangeOrders]
    );
}

fn arbitrary_row() -> impl Strategy<Value = HistoryRow> {
    (
        0usize..1000,
        prop::sample::select(vec!["a", "b", "c"]),
        -30i64..500,
        prop::option::of(-20i64..40),
        prop::option::of((0.0f64..0.6, 0.0f64..0.6)),
        prop::option::of(0i64..4),
        prop::option::of(prop::sample::select(vec!["U1", "U2", "U3"])),
        prop::option::of((0usize..3, 0usize..3)),
    )
        .prop_map(|(id, package, ago, slip, margins, changes, seller, roles)| {
            let r = row(id, package, ago);
            let patterns = ["principal:1;senior:1", "senior:2", "analyst:1;consultant:1"];
            HistoryRow {
                planned_end: slip.map(|s| r.end - Duration::days(s.min(49))),
                sold_margin: margins.map(|m| m.0),
                closed_margin: margins.map(|m| m.1),
                change_orders: changes,
                seller: seller.map(String::from),
                sold_roles: roles.and_then(|(s, _)| parse_role_counts(patterns[s]).ok()),
                staffed_roles: roles.and_then(|(_, t)| parse_role_counts(patterns[t]).ok()),
                ..r
            }
        })
}

proptest! {
    #[test]
    fn rates_are_shares_and_the_firm_is_the_union_of_its_packages(
        history in prop::collection::vec(arbitrary_row(), 0..60),
    ) {
        let thresholds = Thresholds::default();
        let by_package = radar(&history, today(), 365, Grouping::Package, &thresholds, &rank);
        let by_firm = radar(&history, today(), 365, Grouping::Firm, &thresholds, &rank);
        let in_window = in_window(&history, today(), 365).len();
        prop_assert_eq!(by_package.groups.iter().map(|g| g.n).sum::<usize>(), in_window);
        prop_assert_eq!(by_firm.groups.len(), usize::from(in_window > 0));
        if let Some(firm) = by_firm.groups.first() {
            prop_assert_eq!(firm, &by_package.firm);
            let sum = |f: fn(&GroupFigures) -> Figure| -> usize {
                by_package.groups.iter().map(|g| f(g).sample).sum()
            };
            prop_assert_eq!(sum(|g| g.change_order_rate), firm.change_order_rate.sample);
            prop_assert_eq!(sum(|g| g.slip_rate), firm.slip_rate.sample);
            prop_assert_eq!(sum(|g| g.seniority_gap_rate), firm.seniority_gap_rate.sample);
        }
        for g in &by_package.groups {
            for rate in [g.change_order_rate, g.slip_rate, g.seniority_gap_rate] {
                prop_assert!(rate.value.map_or(rate.sample == 0, |v| (0.0..=1.0).contains(&v)));
                prop_assert!(rate.sample <= g.n);
            }
            prop_assert!(g.optimism_ratio.is_none_or(|r| r > 0.0));
        }
        prop_assert_eq!(by_package.systemic, by_firm.firm.signals.len() >= SYSTEMIC_SIGNALS);
    }
}
