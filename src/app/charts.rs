//! The charts answers carry, built from the answer's own figures: the comparables' durations
//! (SPEC 4.4) as a histogram in whole weeks with the requested duration marked, and the radar's
//! four figures per group against their thresholds (SPEC 4.6).
//!
//! To attach a chart to another answer, build a `chart::Chart` from its plain figures (for the
//! radar, `Rates::radar(title, thresholds)` then `.group(label, figures)` per group) and set
//! `reply.chart = Some(chart)` (or `reply.with_chart(chart)`); every adapter then shows it.

use super::answers::ComparablesAnswer;
use super::signals::{RadarAnswer, RadarGroup};
use crate::chart::{Chart, ChartError, Histogram, Rates};
use crate::domain::radar::Grouping;

/// The durations of the comparable projects, with the requested duration marked when a deadline
/// was asked from a known start; `None` without comparables.
pub(super) fn comparables_chart(answer: &ComparablesAnswer) -> Option<Chart> {
    let title = format!("How long {} comparable {} projects took", answer.n, answer.package_name);
    let mut caption = "Each bar: comparable projects that took that many whole weeks.".to_string();
    if let (Some(p10), Some(p90)) = (answer.p10_days, answer.p90_days) {
        caption.push_str(&format!(" P10–P90: {:.1}–{:.1} weeks.", p10 / 7.0, p90 / 7.0));
    }
    let histogram = Histogram::of_durations(title, caption, &answer.durations_days)?;
    let requested = answer.deadline.as_ref().and_then(|d| d.requested_days).filter(|d| *d > 0);
    Some(Chart::Histogram(match (requested, answer.deadline_date) {
        (Some(days), Some(deadline)) => {
            histogram.marked(days, format!("asked (deadline {deadline})"))
        }
        _ => histogram,
    }))
}

/// The radar's figures per group shown (for `by=firm`, the firm), each against its threshold;
/// `None` when no group is shown.
pub(super) fn radar_chart(answer: &RadarAnswer) -> Result<Option<Chart>, ChartError> {
    let t = &answer.thresholds;
    let title = match answer.by {
        Grouping::Package => "Warning signs by package",
        Grouping::Seller => "Warning signs by seller",
        Grouping::Firm => "Warning signs across the firm",
    };
    let thresholds = [t.change_order_rate, t.margin_fade_points, t.slip_rate, t.seniority_gap_rate];
    let groups: Vec<&RadarGroup> = match answer.by {
        Grouping::Firm if answer.firm.n > 0 => vec![&answer.firm],
        Grouping::Firm => Vec::new(),
        _ => answer.groups.iter().collect(),
    };
    if groups.is_empty() {
        return Ok(None);
    }
    groups
        .into_iter()
        .try_fold(Rates::radar(title, thresholds), |chart, g| {
            chart.group(
                g.label.clone(),
                vec![g.change_order_rate, g.margin_fade_points, g.slip_rate, g.seniority_gap_rate],
            )
        })
        .map(|rates| Some(Chart::Rates(rates)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::answers::DeadlineAnswer;
    use chrono::NaiveDate;

    fn answer(durations_days: Vec<i64>) -> ComparablesAnswer {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        ComparablesAnswer {
            package: "crm-rollout".into(),
            package_name: "CRM Rollout".into(),
            n: durations_days.len(),
            effort: None,
            effort_filter_applied: false,
            p10_days: Some(70.0),
            p50_days: Some(80.0),
            p80_days: Some(90.0),
            p90_days: Some(95.0),
            nearest: Vec::new(),
            finish: None,
            backtest: crate::app::answers::BacktestLine {
                from: today,
                summary: crate::domain::backtest::Summary {
                    tested: 0,
                    skipped: 0,
                    p50_hit_rate: None,
                    p80_hit_rate: None,
                    p90_hit_rate: None,
                },
                enough_tested: false,
                p80_hits: 0,
            },
            deadline: None,
            deadline_date: None,
            requested_weeks: None,
            today,
            durations_days,
        }
    }

    #[test]
    fn comparables_chart_their_durations_in_whole_weeks() {
        let Some(Chart::Histogram(histogram)) = comparables_chart(&answer(vec![70, 80, 95])) else {
            panic!("a histogram");
        };
        assert_eq!(histogram.title, "How long 3 comparable CRM Rollout projects took");
        assert_eq!(histogram.buckets.len(), 4); // weeks 10 to 13
        assert!(histogram.caption.contains("P10–P90: 10.0–13.6 weeks"));
        assert_eq!(histogram.marker, None);
    }

    #[test]
    fn a_deadline_marks_the_requested_duration() {
        let mut asked = answer(vec![70, 80, 95]);
        asked.deadline_date = NaiveDate::from_ymd_opt(2027, 3, 1);
        asked.deadline = Some(DeadlineAnswer {
            start: NaiveDate::from_ymd_opt(2026, 12, 7),
            requested_days: Some(85),
            share_within: 2.0 / 3.0,
            approval_required: false,
        });
        let Some(Chart::Histogram(histogram)) = comparables_chart(&asked) else {
            panic!("a histogram");
        };
        let marker = histogram.marker.unwrap();
        assert_eq!(marker.weeks, 85.0 / 7.0);
        assert_eq!(marker.label, "asked (deadline 2027-03-01)");
    }

    #[test]
    fn no_comparables_no_chart() {
        assert_eq!(comparables_chart(&answer(Vec::new())), None);
    }
}

#[cfg(test)]
mod radar_tests {
    use super::*;
    use crate::app::signals::RadarThresholds;
    use crate::domain::radar::Thresholds;
    use chrono::NaiveDate;

    fn group(key: &str, n: usize, change_order_rate: Option<f64>) -> RadarGroup {
        RadarGroup {
            key: key.into(),
            n,
            change_order_rate,
            margin_fade_points: Some(12.5),
            slip_rate: None,
            median_slip_days: None,
            optimism_ratio: None,
            seniority_gap_rate: Some(0.1),
            signals: Vec::new(),
            label: key.to_uppercase(),
            mention: false,
            warnings: Vec::new(),
        }
    }

    fn answer(by: Grouping, groups: Vec<RadarGroup>, firm_n: usize) -> RadarAnswer {
        RadarAnswer {
            by,
            window_days: 365,
            groups,
            systemic: false,
            firm: group("firm", firm_n, Some(0.5)),
            thresholds: RadarThresholds::from(Thresholds::default()),
            signal_count: 4,
            today: NaiveDate::from_ymd_opt(2027, 3, 10).unwrap(),
            own_row_only: false,
        }
    }

    #[test]
    fn the_radar_chart_has_one_group_per_group_shown_with_its_four_figures() {
        let groups = vec![group("crm", 7, Some(0.42)), group("audit", 3, None)];
        let Some(Chart::Rates(rates)) =
            radar_chart(&answer(Grouping::Package, groups, 10)).unwrap()
        else {
            panic!("a rates chart");
        };
        assert_eq!(rates.title, "Warning signs by package");
        let labels: Vec<&str> = rates.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["CRM", "AUDIT"]);
        assert_eq!(rates.groups[0].values, [Some(0.42), Some(12.5), None, Some(0.1)]);
        let thresholds: Vec<f64> = rates.metrics.iter().map(|m| m.threshold).collect();
        assert_eq!(thresholds, [0.30, 10.0, 0.30, 0.20]);
    }

    #[test]
    fn the_firm_radar_charts_the_firm_and_an_empty_radar_has_no_chart() {
        let Some(Chart::Rates(rates)) =
            radar_chart(&answer(Grouping::Firm, vec![group("firm", 10, None)], 10)).unwrap()
        else {
            panic!("a rates chart");
        };
        assert_eq!(rates.groups.len(), 1);
        assert_eq!(rates.groups[0].values[0], Some(0.5));
        assert_eq!(radar_chart(&answer(Grouping::Firm, Vec::new(), 0)).unwrap(), None);
        assert_eq!(radar_chart(&answer(Grouping::Seller, Vec::new(), 10)).unwrap(), None);
    }

    #[test]
    fn a_figure_that_is_not_a_number_is_an_error_not_a_picture() {
        let groups = vec![group("crm", 7, Some(f64::NAN))];
        assert!(radar_chart(&answer(Grouping::Package, groups, 7)).is_err());
    }
}
