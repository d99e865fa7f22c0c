//! Charts a reply can carry: a small platform-neutral model, drawn once to PNG (`png`) for Slack,
//! Discord and `keepable chart`, and as text bars (`text`) for the console.
//!
//! Two kinds: `Rates` (per group, a few figures each against its own threshold: the radar) and
//! `Histogram` (counts per whole week, with one marked value: the comparables' durations).

use serde::{Deserialize, Serialize};

pub mod png;
pub mod text;

pub use png::{render_png, RenderError};
pub use text::render_text;

/// A chart attached to a reply; stored with the reply in the outbox, so it is serde.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Chart {
    Rates(Rates),
    Histogram(Histogram),
}

impl Chart {
    /// The title, used as the uploaded file's title and the image's alt text.
    pub fn title(&self) -> &str {
        match self {
            Chart::Rates(rates) => &rates.title,
            Chart::Histogram(histogram) => &histogram.title,
        }
    }
}

/// How a metric's figure reads: a rate in 0..1 (shown as a percentage) or a number of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Rate,
    Points,
}

impl Scale {
    /// A figure as read aloud: `42%` or `12.5 pts`.
    pub fn format(self, value: f64) -> String {
        match self {
            Scale::Rate => format!("{:.0}%", value * 100.0),
            Scale::Points => format!("{value:.1} pts"),
        }
    }
}

/// One figure drawn for every group, with the threshold above which it is a warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub label: String,
    pub scale: Scale,
    /// A figure strictly above this raises the warning (a figure at it does not).
    pub threshold: f64,
}

impl Metric {
    /// A rate in 0..1, warning above `threshold` (e.g. change orders above 0.30).
    pub fn rate(label: impl Into<String>, threshold: f64) -> Self {
        Metric { label: label.into(), scale: Scale::Rate, threshold }
    }

    /// A figure in points, warning above `threshold` (e.g. margin fade above 10 points).
    pub fn points(label: impl Into<String>, threshold: f64) -> Self {
        Metric { label: label.into(), scale: Scale::Points, threshold }
    }

    /// The axis a metric's bars are drawn on: from 0 (or the lowest figure when negative) to a
    /// little past the larger of the threshold and the highest figure, so the marker always shows.
    pub fn axis(&self, values: impl Iterator<Item = f64>) -> (f64, f64) {
        let (low, high) =
            values.fold((0.0_f64, self.threshold), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let high = match self.scale {
            // A rate never exceeds 1: past 80% the axis is simply the whole of it.
            Scale::Rate => (high * 1.25).min(1.0),
            Scale::Points => high * 1.25,
        };
        (low, high.max(low + f64::EPSILON))
    }

    /// Whether `value` raises this metric's warning.
    pub fn warns(&self, value: f64) -> bool {
        value > self.threshold
    }
}

/// One group's figures, in the order of the chart's metrics (`None`: no usable rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatesGroup {
    pub label: String,
    pub values: Vec<Option<f64>>,
}

/// Per group, each metric's figure against its threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub title: String,
    pub metrics: Vec<Metric>,
    pub groups: Vec<RatesGroup>,
}

/// A chart built from data that does not fit its own shape.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    #[error("group '{group}' has {given} figures for {expected} metrics")]
    WrongFigureCount { group: String, given: usize, expected: usize },
    #[error("group '{group}' has a figure that is not a number")]
    NotANumber { group: String },
}

impl Rates {
    /// An empty chart of `metrics`; add groups with `group`.
    pub fn new(title: impl Into<String>, metrics: Vec<Metric>) -> Self {
        Rates { title: title.into(), metrics, groups: Vec::new() }
    }

    /// The radar's four figures (SPEC 4.6) with their thresholds: change orders, margin fade (in
    /// points), schedule slip and seniority gap.
    pub fn radar(title: impl Into<String>, thresholds: [f64; 4]) -> Self {
        let [change_orders, margin_fade, slip, seniority] = thresholds;
        Rates::new(
            title,
            vec![
                Metric::rate("Change orders", change_orders),
                Metric::points("Margin fade", margin_fade),
                Metric::rate("Schedule slip", slip),
                Metric::rate("Seniority gap", seniority),
            ],
        )
    }

    /// Adds a group's figures, one per metric in order (`None` where there is no figure).
    pub fn group(
        mut self,
        label: impl Into<String>,
        values: Vec<Option<f64>>,
    ) -> Result<Self, ChartError> {
        let label = label.into();
        if values.len() != self.metrics.len() {
            return Err(ChartError::WrongFigureCount {
                group: label,
                given: values.len(),
                expected: self.metrics.len(),
            });
        }
        if values.iter().flatten().any(|v| !v.is_finite()) {
            return Err(ChartError::NotANumber { group: label });
        }
        self.groups.push(RatesGroup { label, values });
        Ok(self)
    }

    /// The figures of metric `index` across groups, where present.
    pub fn figures(&self, index: usize) -> impl Iterator<Item = f64> + '_ {
        self.groups.iter().filter_map(move |g| g.values.get(index).copied().flatten())
    }
}

/// Counts per whole week: bucket `week` holds the values in `[week, week + 1)` weeks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub week: u32,
    pub count: u32,
}

/// A value marked on a histogram, in weeks (not whole), with its label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    pub weeks: f64,
    pub label: String,
}

/// Durations counted per whole week, every week from the shortest to the longest (empty ones
/// included, so the shape is honest), with one value marked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub title: String,
    pub caption: String,
    pub buckets: Vec<Bucket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<Marker>,
}

impl Histogram {
    /// The histogram of `durations_days` in whole weeks (a duration of `d` days falls in week
    /// `⌊d / 7⌋`); `None` when there are no durations.
    pub fn of_durations(
        title: impl Into<String>,
        caption: impl Into<String>,
        durations_days: &[i64],
    ) -> Option<Self> {
        let weeks: Vec<u32> = durations_days
            .iter()
            .map(|d| u32::try_from(d.max(&0) / 7).unwrap_or(u32::MAX))
            .collect();
        let first = *weeks.iter().min()?;
        let last = *weeks.iter().max()?;
        let buckets = (first..=last)
            .map(|week| Bucket { week, count: weeks.iter().filter(|w| **w == week).count() as u32 })
            .collect();
        Some(Histogram { title: title.into(), caption: caption.into(), buckets, marker: None })
    }

    /// Marks `days` (shown in weeks) with `label`.
    pub fn marked(mut self, days: i64, label: impl Into<String>) -> Self {
        self.marker = Some(Marker { weeks: days as f64 / 7.0, label: label.into() });
        self
    }

    /// The highest count (at least 1, so an axis always has height).
    pub fn max_count(&self) -> u32 {
        self.buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1)
    }

    /// The weeks the x axis spans: the buckets, widened to show the marker.
    pub fn week_range(&self) -> (f64, f64) {
        let first = self.buckets.first().map_or(0.0, |b| b.week as f64);
        let last = self.buckets.last().map_or(1.0, |b| b.week as f64 + 1.0);
        match &self.marker {
            Some(marker) => (first.min(marker.weeks.floor()), last.max(marker.weeks.floor() + 1.0)),
            None => (first, last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_whole_weeks_with_empty_weeks_kept() {
        // 70 and 76 days are week 10, 77 is week 11, 95 is week 13; week 12 is empty.
        let histogram = Histogram::of_durations("t", "c", &[70, 76, 77, 95]).unwrap();
        let counts: Vec<(u32, u32)> = histogram.buckets.iter().map(|b| (b.week, b.count)).collect();
        assert_eq!(counts, vec![(10, 2), (11, 1), (12, 0), (13, 1)]);
        assert_eq!(histogram.max_count(), 2);
    }

    #[test]
    fn no_durations_make_no_histogram() {
        assert_eq!(Histogram::of_durations("t", "c", &[]), None);
    }

    #[test]
    fn the_axis_widens_to_show_a_marker_outside_the_buckets() {
        let histogram = Histogram::of_durations("t", "c", &[70, 95]).unwrap().marked(19, "asked");
        assert_eq!(histogram.week_range(), (2.0, 14.0));
        let later = Histogram::of_durations("t", "c", &[70, 95]).unwrap().marked(140, "asked");
        assert_eq!(later.week_range(), (10.0, 21.0));
    }

    #[test]
    fn a_group_must_give_one_figure_per_metric() {
        let rates = Rates::radar("Radar", [0.3, 10.0, 0.3, 0.2]);
        let error = rates.clone().group("CRM", vec![Some(0.4)]).unwrap_err();
        assert_eq!(
            error,
            ChartError::WrongFigureCount { group: "CRM".into(), given: 1, expected: 4 }
        );
        let nan = rates.clone().group("CRM", vec![Some(f64::NAN), None, None, None]);
        assert!(matches!(nan, Err(ChartError::NotANumber { .. })));
        let ok = rates.group("CRM", vec![Some(0.4), None, Some(0.1), Some(0.0)]).unwrap();
        assert_eq!(ok.figures(0).collect::<Vec<_>>(), vec![0.4]);
        assert_eq!(ok.figures(1).count(), 0);
    }

    #[test]
    fn a_figure_at_its_threshold_is_no_warning() {
        let metric = Metric::rate("Change orders", 0.30);
        assert!(!metric.warns(0.30));
        assert!(metric.warns(0.31));
    }

    #[test]
    fn axes_show_the_threshold_and_every_figure() {
        let rate = Metric::rate("Slip", 0.30);
        let (low, high) = rate.axis([0.1, 0.2].into_iter());
        assert_eq!(low, 0.0);
        assert!(high > 0.30 && high <= 1.0);
        assert_eq!(rate.axis([0.95].into_iter()).1, 1.0);
        let points = Metric::points("Fade", 10.0);
        let (low, high) = points.axis([-4.0, 22.0].into_iter());
        assert_eq!(low, -4.0);
        assert!(high > 22.0);
    }

    #[test]
    fn a_chart_survives_the_outbox_round_trip() {
        let chart = Chart::Histogram(
            Histogram::of_durations("t", "c", &[70, 95]).unwrap().marked(80, "asked"),
        );
        let json = serde_json::to_string(&chart).unwrap();
        assert!(json.contains(r#""type":"histogram""#));
        assert_eq!(serde_json::from_str::<Chart>(&json).unwrap(), chart);
    }
}
