//! The charts answers carry, built from the answer's own figures: the comparables' durations
//! (SPEC 4.4) as a histogram in whole weeks with the requested duration marked.
//!
//! To attach a chart to another answer, build a `chart::Chart` from its plain figures (for the
//! radar, `Rates::radar(title, thresholds)` then `.group(label, figures)` per group) and set
//! `reply.chart = Some(chart)` (or `reply.with_chart(chart)`); every adapter then shows it.

use super::answers::ComparablesAnswer;
use crate::chart::{Chart, Histogram};

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
