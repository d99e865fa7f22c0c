//! A chart drawn to PNG with plotters' bitmap backend, in memory, with the DejaVu Sans font
//! embedded in the binary (no system fonts). The same chart always gives the same bytes.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{Chart, Histogram, Metric, Rates};

/// The family name the embedded font is registered under.
const FONT: &str = "keepable-sans";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

const WIDTH: u32 = 900;
const HISTOGRAM_HEIGHT: u32 = 420;
const BAR: RGBColor = RGBColor(66, 113, 196);
const WARNING: RGBColor = RGBColor(214, 69, 65);
const THRESHOLD: RGBColor = RGBColor(40, 40, 40);
const GRID: RGBColor = RGBColor(225, 225, 225);
const GREY: RGBColor = RGBColor(110, 110, 110);

/// Drawing or encoding failed (an internal error: logged, never shown to a seller).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG: {0}")]
    Encode(#[from] ::png::EncodingError),
    #[error("the embedded font could not be read")]
    Font,
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for RenderError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        RenderError::Draw(error.to_string())
    }
}

/// Registers the embedded font once per process; `false` when it cannot be read.
fn font_ready() -> bool {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    *REGISTERED
        .get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok())
}

/// How many drawn charts are kept: sellers ask about the same few packages all day, and each
/// answer's chart is the same picture until the data change.
const CHARTS_KEPT: usize = 64;

/// The chart as PNG bytes (RGB, 8 bits), drawn once per distinct chart.
pub fn render_png(chart: &Chart) -> Result<Vec<u8>, RenderError> {
    static DRAWN: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>> =
        OnceLock::new();
    let drawn = DRAWN.get_or_init(Default::default);
    let key = serde_json::to_string(chart).unwrap_or_default();
    let known = drawn.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
    if let Some(bytes) = known {
        return Ok(bytes);
    }
    let bytes = draw_png(chart)?;
    let mut kept = drawn.lock().unwrap_or_else(|p| p.into_inner());
    if kept.len() >= CHARTS_KEPT {
        kept.clear();
    }
    kept.insert(key, bytes.clone());
    Ok(bytes)
}

fn draw_png(chart: &Chart) -> Result<Vec<u8>, RenderError> {
    if !font_ready() {
        return Err(RenderError::Font);
    }
    let (width, height) = size(chart);
    let mut pixels = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        root.fill(&WHITE)?;
        match chart {
            Chart::Histogram(histogram) => draw_histogram(&root, histogram)?,
            Chart::Rates(rates) => draw_rates(&root, rates)?,
        }
        root.present()?;
    }
    encode(&pixels, width, height)
}

/// The picture's size: a rates chart grows with its groups.
pub fn size(chart: &Chart) -> (u32, u32) {
    match chart {
        Chart::Histogram(_) => (WIDTH, HISTOGRAM_HEIGHT),
        Chart::Rates(rates) => (WIDTH, 110 + 36 * rates.groups.len().clamp(1, 30) as u32),
    }
}

fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, RenderError> {
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(::png::ColorType::Rgb);
    encoder.set_depth(::png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(bytes)
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Drawn = Result<(), RenderError>;

/// Bars per whole week, the marked value as a red line with its label, the caption below.
fn draw_histogram(root: &Area<'_>, histogram: &Histogram) -> Drawn {
    let (body, footer) = root.split_vertically(HISTOGRAM_HEIGHT - 36);
    let (first, last) = histogram.week_range();
    let top = histogram.max_count() as f64 * 1.15;
    let mut chart = ChartBuilder::on(&body)
        .caption(&histogram.title, font(20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(first..last, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(GRID)
        .bold_line_style(GRID)
        .x_desc("weeks")
        .y_desc("projects")
        .x_labels(((last - first) as usize + 1).min(30))
        .y_labels((histogram.max_count() as usize + 1).min(10))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()?;
    chart.draw_series(histogram.buckets.iter().filter(|b| b.count > 0).map(|bucket| {
        let x = bucket.week as f64;
        Rectangle::new([(x + 0.06, 0.0), (x + 0.94, bucket.count as f64)], BAR.filled())
    }))?;
    if let Some(marker) = &histogram.marker {
        let line = PathElement::new(
            vec![(marker.weeks, 0.0), (marker.weeks, top)],
            WARNING.stroke_width(3),
        );
        chart.draw_series(std::iter::once(line))?;
        let label = format!("{}: {:.1} weeks", marker.label, marker.weeks);
        let anchor = chart.backend_coord(&(marker.weeks, top));
        let width = label.chars().count() as i32 * 8;
        let x = if anchor.0 + width + 8 > body.dim_in_pixel().0 as i32 {
            anchor.0 - width - 6
        } else {
            anchor.0 + 6
        };
        root.draw(&Text::new(label, (x, anchor.1 + 4), font(14).color(&WARNING)))?;
    }
    footer.draw(&Text::new(histogram.caption.clone(), (16, 8), font(14)))?;
    Ok(())
}

/// One panel per metric side by side; in each, a bar per group (red over the threshold) and the
/// threshold as a dark line, the figure written at the bar's end.
fn draw_rates(root: &Area<'_>, rates: &Rates) -> Drawn {
    let (title, body) = root.split_vertically(40);
    title.draw(&Text::new(rates.title.clone(), (16, 10), font(20)))?;
    let (labels, panels) = body.split_horizontally(170);
    let rows = rates.groups.len().max(1);
    let (_, panel_height) = panels.dim_in_pixel();
    let plot_top = 34;
    let row_height = (panel_height as i32 - plot_top - 36) / rows as i32;
    for (i, group) in rates.groups.iter().enumerate() {
        let y = plot_top + row_height * i as i32 + row_height / 2 - 7;
        labels.draw(&Text::new(group.label.clone(), (16, y), font(14)))?;
    }
    let columns = rates.metrics.len().max(1);
    for (index, (metric, panel)) in
        rates.metrics.iter().zip(panels.split_evenly((1, columns))).enumerate()
    {
        draw_metric_panel(&panel, rates, index, metric, (plot_top, row_height))?;
    }
    Ok(())
}

fn draw_metric_panel(
    panel: &Area<'_>,
    rates: &Rates,
    index: usize,
    metric: &Metric,
    (plot_top, row_height): (i32, i32),
) -> Drawn {
    let (width, _) = panel.dim_in_pixel();
    let (low, high) = metric.axis(rates.figures(index));
    let left = 8;
    // Room right of the longest bar for its figure.
    let right = width as i32 - 60;
    let x_of = |v: f64| left + ((v - low) / (high - low) * (right - left) as f64).round() as i32;
    let heading = format!("{} (> {})", metric.label, metric.scale.format(metric.threshold));
    panel.draw(&Text::new(heading, (left, 8), font(14)))?;
    let bottom = plot_top + row_height * rates.groups.len().max(1) as i32;
    panel.draw(&PathElement::new(vec![(x_of(0.0), plot_top), (x_of(0.0), bottom)], GRID))?;
    for (row, group) in rates.groups.iter().enumerate() {
        let y = plot_top + row_height * row as i32;
        let (bar_top, bar_bottom) = (y + row_height / 5, y + row_height * 4 / 5);
        match group.values.get(index).copied().flatten() {
            Some(value) => {
                let color = if metric.warns(value) { WARNING } else { BAR };
                let (from, to) = (x_of(0.0_f64.min(value)), x_of(0.0_f64.max(value)));
                panel.draw(&Rectangle::new(
                    [(from, bar_top), (to.max(from + 1), bar_bottom)],
                    color.filled(),
                ))?;
                let label = metric.scale.format(value);
                panel.draw(&Text::new(label, (to + 4, bar_top), font(12)))?;
            }
            None => {
                panel.draw(&Text::new("no data", (left + 4, bar_top), font(12).color(&GREY)))?
            }
        }
    }
    let at = x_of(metric.threshold);
    panel.draw(&PathElement::new(
        vec![(at, plot_top - 4), (at, bottom + 4)],
        THRESHOLD.stroke_width(2),
    ))?;
    let scale = format!("{} … {}", metric.scale.format(low), metric.scale.format(high));
    panel.draw(&Text::new(scale, (left, bottom + 12), font(12).color(&GREY)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::{Histogram, Rates};

    /// Width, height, and the decoded RGB pixels of a PNG.
    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let decoder = ::png::Decoder::new(bytes);
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info.width, info.height, pixels)
    }

    /// The width and height the IHDR chunk says, read by hand (it follows the signature).
    fn ihdr_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[12..16], b"IHDR");
        let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (word(16), word(20))
    }

    fn histogram() -> Chart {
        Chart::Histogram(
            Histogram::of_durations(
                "Durations of 6 CRM Rollout projects",
                "Each bar: projects that took that many whole weeks.",
                &[70, 76, 77, 95, 101, 120],
            )
            .unwrap()
            .marked(87, "asked"),
        )
    }

    fn rates() -> Chart {
        Chart::Rates(
            Rates::radar("Warning signs by package", [0.30, 10.0, 0.30, 0.20])
                .group("CRM Rollout", vec![Some(0.42), Some(12.5), Some(0.1), None])
                .unwrap()
                .group("BI Dashboards", vec![Some(0.1), Some(-2.0), Some(0.35), Some(0.0)])
                .unwrap(),
        )
    }

    /// Pixels that are not the white background.
    fn ink(pixels: &[u8]) -> usize {
        pixels.chunks(3).filter(|p| p != &[255, 255, 255]).count()
    }

    /// Pixels of exactly `color`.
    fn of_color(pixels: &[u8], color: RGBColor) -> usize {
        pixels.chunks(3).filter(|p| p == &[color.0, color.1, color.2]).count()
    }

    #[test]
    fn a_histogram_is_a_png_of_its_size_with_bars_and_a_marker() {
        let bytes = render_png(&histogram()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(ihdr_size(&bytes), (WIDTH, HISTOGRAM_HEIGHT));
        let (width, height, pixels) = decode(&bytes);
        assert_eq!((width, height), (WIDTH, HISTOGRAM_HEIGHT));
        assert!(ink(&pixels) > 2_000, "only {} drawn pixels", ink(&pixels));
        assert!(of_color(&pixels, BAR) > 1_000, "the bars are drawn");
        assert!(of_color(&pixels, WARNING) > 100, "the marker is drawn");
    }

    #[test]
    fn a_rates_chart_is_a_png_that_grows_with_its_groups() {
        let bytes = render_png(&rates()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(ihdr_size(&bytes), (WIDTH, 110 + 36 * 2));
        let (_, _, pixels) = decode(&bytes);
        assert!(of_color(&pixels, WARNING) > 200, "figures over their threshold are red");
        assert!(of_color(&pixels, BAR) > 200, "figures under it are blue");
        assert!(of_color(&pixels, THRESHOLD) > 50, "the thresholds are drawn");
    }

    #[test]
    fn text_is_drawn_with_the_embedded_font() {
        // The same histogram with and without a title: the title's glyphs are ink.
        let Chart::Histogram(mut untitled) = histogram() else { unreachable!() };
        untitled.title = String::new();
        let (_, _, with_title) = decode(&render_png(&histogram()).unwrap());
        let (_, _, without) = decode(&render_png(&Chart::Histogram(untitled)).unwrap());
        assert!(ink(&with_title) > ink(&without) + 300);
    }

    #[test]
    #[ignore = "writes the two sample charts to the temp folder, to look at"]
    fn write_samples() {
        let dir = std::env::temp_dir();
        std::fs::write(dir.join("histogram.png"), render_png(&histogram()).unwrap()).unwrap();
        std::fs::write(dir.join("rates.png"), render_png(&rates()).unwrap()).unwrap();
    }

    #[test]
    fn rendering_twice_gives_the_same_bytes() {
        // Drawn twice (not from the kept pictures), and the kept picture is the drawn one.
        assert_eq!(draw_png(&histogram()).unwrap(), draw_png(&histogram()).unwrap());
        assert_eq!(draw_png(&rates()).unwrap(), draw_png(&rates()).unwrap());
        assert_eq!(render_png(&rates()).unwrap(), draw_png(&rates()).unwrap());
    }
}
