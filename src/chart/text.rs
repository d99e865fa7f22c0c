//! A chart as text bars for the console: `█` bars of a fixed width, the threshold (or the marked
//! value) shown where it falls.

use super::{Chart, Histogram, Metric, Rates};

/// Cells a full bar takes.
pub const BAR_WIDTH: usize = 24;

/// The chart as lines of text.
pub fn render_text(chart: &Chart) -> String {
    match chart {
        Chart::Rates(rates) => rates_text(rates),
        Chart::Histogram(histogram) => histogram_text(histogram),
    }
}

/// Per group, one line per metric: its bar, `│` at the threshold, the figure, and `!` over it.
fn rates_text(rates: &Rates) -> String {
    let label_width = rates.metrics.iter().map(|m| m.label.chars().count()).max().unwrap_or(0);
    let axes: Vec<(f64, f64)> =
        rates.metrics.iter().enumerate().map(|(i, m)| m.axis(rates.figures(i))).collect();
    let mut lines = vec![rates.title.clone()];
    for group in &rates.groups {
        lines.push(group.label.clone());
        for ((metric, value), axis) in rates.metrics.iter().zip(&group.values).zip(&axes) {
            let bar = threshold_bar(metric, *value, *axis);
            let figure = match value {
                Some(v) if metric.warns(*v) => format!("{} !", metric.scale.format(*v)),
                Some(v) => metric.scale.format(*v),
                None => "no data".to_string(),
            };
            lines.push(format!("  {:label_width$}  {bar}  {figure}", metric.label));
        }
    }
    lines.push(format!(
        "│ threshold: {}",
        rates
            .metrics
            .iter()
            .map(|m| format!("{} {}", m.label.to_lowercase(), m.scale.format(m.threshold)))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    lines.join("\n")
}

/// The cell a value falls in on an axis of `BAR_WIDTH` cells.
fn cell(value: f64, (low, high): (f64, f64)) -> usize {
    let share = ((value - low) / (high - low)).clamp(0.0, 1.0);
    ((share * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH)
}

/// A bar from the axis's start to `value`, padded with `·`, with `│` at the threshold.
fn threshold_bar(metric: &Metric, value: Option<f64>, axis: (f64, f64)) -> String {
    let filled = value.map_or(0, |v| cell(v.max(0.0), axis).saturating_sub(cell(0.0, axis)));
    let start = cell(0.0, axis);
    let threshold = cell(metric.threshold, axis).min(BAR_WIDTH - 1);
    (0..BAR_WIDTH)
        .map(|i| {
            if i == threshold {
                '│'
            } else if i >= start && i < start + filled {
                '█'
            } else {
                '·'
            }
        })
        .collect()
}

/// One line per week with its count, and the marked value as a line where it falls.
fn histogram_text(histogram: &Histogram) -> String {
    let most = histogram.max_count() as f64;
    let label_width = histogram
        .buckets
        .last()
        .map_or(1, |b| format!("{}–{}", b.week, b.week + 1).chars().count());
    let mut lines = vec![histogram.title.clone()];
    let mut marker = histogram.marker.as_ref();
    for bucket in &histogram.buckets {
        if let Some(m) = marker.filter(|m| m.weeks < bucket.week as f64) {
            lines.push(marker_line(m.weeks, &m.label));
            marker = None;
        }
        let cells = (bucket.count as f64 / most * BAR_WIDTH as f64).round() as usize;
        let cells = if bucket.count > 0 { cells.max(1) } else { 0 };
        let weeks = format!("{}–{}", bucket.week, bucket.week + 1);
        let bar = "█".repeat(cells);
        lines.push(format!("{weeks:>label_width$} wk  {bar:<BAR_WIDTH$} {}", bucket.count));
        if let Some(m) = marker.filter(|m| m.weeks < bucket.week as f64 + 1.0) {
            lines.push(marker_line(m.weeks, &m.label));
            marker = None;
        }
    }
    if let Some(m) = marker {
        lines.push(marker_line(m.weeks, &m.label));
    }
    lines.push(histogram.caption.clone());
    lines.join("\n")
}

fn marker_line(weeks: f64, label: &str) -> String {
    format!("── {label}: {weeks:.1} weeks ──")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Histogram;

    #[test]
    fn a_histogram_reads_as_bars_with_the_marked_value_in_its_week() {
        // Weeks 10 (2 projects), 11 (1), 12 (0), 13 (1); 12.4 weeks (87 days) asked.
        let histogram = Histogram::of_durations(
            "Durations of 4 CRM Rollout projects",
            "Each bar: projects that took that many whole weeks.",
            &[70, 76, 77, 95],
        )
        .unwrap()
        .marked(87, "asked");
        let expected = "\
Durations of 4 CRM Rollout projects
10–11 wk  ████████████████████████ 2
11–12 wk  ████████████             1
12–13 wk                           0
── asked: 12.4 weeks ──
13–14 wk  ████████████             1
Each bar: projects that took that many whole weeks.";
        assert_eq!(render_text(&Chart::Histogram(histogram)), expected);
    }

    #[test]
    fn a_marker_before_every_week_comes_first() {
        let histogram = Histogram::of_durations("t", "c", &[70]).unwrap().marked(19, "asked");
        let text = render_text(&Chart::Histogram(histogram));
        assert_eq!(text.lines().nth(1), Some("── asked: 2.7 weeks ──"));
    }

    #[test]
    fn rates_show_each_figure_against_its_threshold() {
        let rates = Rates::new(
            "Warning signs",
            vec![Metric::rate("Change orders", 0.30), Metric::points("Margin fade", 10.0)],
        )
        .group("CRM Rollout", vec![Some(0.5), None])
        .unwrap()
        .group("BI", vec![Some(0.25), Some(4.0)])
        .unwrap();
        // Change orders' axis is 0..0.625 (0.5 × 1.25): the threshold in cell 12 (0.3 / 0.625 × 24
        // = 11.5), 50% fills 19 cells, 25% 10. Margin fade's is 0..12.5 (10 × 1.25): 10 in cell 19.
        let expected = "\
Warning signs
CRM Rollout
  Change orders  ████████████│██████·····  50% !
  Margin fade    ···················│····  no data
BI
  Change orders  ██████████··│···········  25%
  Margin fade    ████████···········│····  4.0 pts
│ threshold: change orders 30%, margin fade 10.0 pts";
        assert_eq!(render_text(&Chart::Rates(rates)), expected);
    }
}
