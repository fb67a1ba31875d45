//! Line charts with plotters, drawn with the committed DejaVu Sans (no system fonts).

use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stroke {
    /// A solid line.
    Solid,
    /// A dashed line.
    Dashed,
    /// Filled circles, no line.
    Markers,
    /// Open circles, no line (a value the run did not reach: censored).
    Open,
    /// A thin, pale line behind the others (raw values under a smoothed curve); never in
    /// the legend.
    Faint,
    /// A thin line: one run alone where the others it is averaged with have ended (a mean
    /// over fewer seeds would change what the line means part-way); never in the legend.
    Thin,
}

/// One curve.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text (empty: not in the legend).
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
    /// Line style.
    pub stroke: Stroke,
}

/// A shaded range around a curve (the spread over seeds): `(x, low, high)` points.
#[derive(Clone, Debug)]
pub struct Band {
    /// Colour (drawn pale).
    pub color: RGBColor,
    /// `(x, low, high)`, in x order.
    pub points: Vec<(f64, f64, f64)>,
}

/// Panels side by side, with one legend for all of them and a footnote, both in a strip
/// below the charts so that they never cover data.
#[derive(Clone, Debug, Default)]
pub struct Figure {
    /// The charts, left to right.
    pub panels: Vec<Panel>,
    /// One line under the legend: what the figure was made from.
    pub footnote: String,
}

/// One chart.
#[derive(Clone, Debug, Default)]
pub struct Panel {
    /// Title above the chart.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The curves.
    pub series: Vec<Series>,
    /// Plot log10(y), labelling ticks as powers of ten.
    pub log_y: bool,
    /// Fixed y range (in data units), or fit the data.
    pub y_range: Option<(f64, f64)>,
    /// Horizontal reference lines: value and legend text.
    pub hlines: Vec<(f64, String)>,
    /// Shaded ranges, drawn under the curves.
    pub bands: Vec<Band>,
    /// Named x positions `0, 1, ...` (a categorical axis), or none: a numeric axis.
    pub categories: Vec<String>,
}

/// The k-th colour of a palette for runs that share an initializer.
pub fn palette(k: usize) -> RGBColor {
    [
        RGBColor(214, 39, 40),
        RGBColor(31, 119, 180),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ][k % 8]
}

/// Colours: MSRA red and Xavier blue as in the paper's figures, then the palette.
pub fn color_for(init: &str, k: usize) -> RGBColor {
    match init {
        "msra" => palette(0),
        "xavier" => palette(1),
        _ => palette(2 + k % 6),
    }
}

/// Draws the figure into `path` (`.png` or `.svg`), atomically: it is drawn into a
/// temporary file beside it and renamed, so that processes drawing the same figure (tasks
/// of one grid) never leave a mixed file.
pub fn draw(path: &Path, figure: &Figure, size: (u32, u32)) -> Result<()> {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("png");
    let tmp = path.with_extension(format!("tmp-{}.{ext}", std::process::id()));
    let result = if ext == "svg" {
        let root = SVGBackend::new(&tmp, size).into_drawing_area();
        draw_on(&root, figure).and_then(|_| root.present().map_err(|e| anyhow!("{e}")))
    } else {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        draw_on(&root, figure).and_then(|_| root.present().map_err(|e| anyhow!("{e}")))
    };
    let result = result.and_then(|_| std::fs::rename(&tmp, path).map_err(|e| anyhow!("{e}")));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| anyhow!("drawing {}: {e}", path.display()))
}

/// Draws the figure as `<stem>.png` and `<stem>.svg` under `out` (each as [`draw`]
/// does) and returns both paths.
pub fn draw_png_svg(
    out: &Path,
    stem: &str,
    figure: &Figure,
    size: (u32, u32),
) -> Result<Vec<PathBuf>> {
    let mut paths = vec![];
    for ext in ["png", "svg"] {
        let p = out.join(format!("{stem}.{ext}"));
        draw(&p, figure, size)?;
        paths.push(p);
    }
    Ok(paths)
}

/// One legend entry: text, colour and how it is drawn (`None`: a reference line).
type Entry = (String, RGBColor, Option<Stroke>);

/// Every labelled series and reference line of the figure, once each, in order.
fn legend_entries(figure: &Figure) -> Vec<Entry> {
    let mut entries: Vec<Entry> = vec![];
    for p in &figure.panels {
        let series = p
            .series
            .iter()
            .filter(|s| !s.label.is_empty() && !matches!(s.stroke, Stroke::Faint | Stroke::Thin))
            .map(|s| (s.label.clone(), s.color, Some(s.stroke)));
        let lines = p
            .hlines
            .iter()
            .filter(|(_, l)| !l.is_empty())
            .map(|(_, l)| (l.clone(), REFERENCE, None));
        for e in series.chain(lines) {
            if !entries.iter().any(|x| x.0 == e.0) {
                entries.push(e);
            }
        }
    }
    entries
}

/// Reference lines (chance, ln 10): dark grey, dashed, drawn over the curves.
const REFERENCE: RGBColor = RGBColor(60, 60, 60);

/// Height of one legend or footnote row, pixels.
const ROW: u32 = 26;

fn draw_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, figure: &Figure) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(err)?;
    let entries = legend_entries(figure);
    let (w, h) = root.dim_in_pixel();
    // Columns wide enough for the longest label (about 9 px a character at 16 px).
    let longest = entries
        .iter()
        .map(|e| e.0.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let column = (9 * longest + 48).max(300);
    let per_row = ((w.saturating_sub(40)) / column).max(1) as usize;
    let rows = entries.len().div_ceil(per_row) as u32 + u32::from(!figure.footnote.is_empty());
    let (charts, strip) = root.split_vertically(h.saturating_sub(rows * ROW + 12));
    let areas = charts.split_evenly((1, figure.panels.len().max(1)));
    for (area, panel) in areas.iter().zip(&figure.panels) {
        draw_panel(area, panel)?;
    }
    let font = ("sans-serif", 16).into_font().color(&BLACK);
    for (k, (label, color, stroke)) in entries.iter().enumerate() {
        let (x, y) = (
            20 + (k % per_row) as i32 * column as i32,
            6 + (k / per_row) as i32 * ROW as i32 + ROW as i32 / 2,
        );
        draw_mark(&strip, *stroke, *color, (x, y))?;
        strip
            .draw(&Text::new(label.clone(), (x + 28, y - 9), font.clone()))
            .map_err(err)?;
    }
    if !figure.footnote.is_empty() {
        let y = 6 + (rows - 1) as i32 * ROW as i32 + 4;
        let small = ("sans-serif", 14).into_font().color(&RGBColor(80, 80, 80));
        strip
            .draw(&Text::new(figure.footnote.clone(), (20, y), small))
            .map_err(err)?;
    }
    Ok(())
}

/// A tick label with at most three decimals and no trailing zeros.
fn tick(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// The name of the category at `v` on a categorical axis (blank between them).
fn category(cats: &[String], v: f64) -> String {
    let k = v.round();
    match (k - v).abs() < 1e-6 && k >= 0.0 {
        true => cats.get(k as usize).cloned().unwrap_or_default(),
        false => String::new(),
    }
}

fn transform(panel: &Panel, y: f64) -> Option<f64> {
    if panel.log_y {
        (y > 0.0 && y.is_finite()).then(|| y.log10())
    } else {
        y.is_finite().then_some(y)
    }
}

/// The axes' ranges of a panel, in drawing coordinates (log10 on a log axis): the data's
/// extent, or `y_range` where given, never empty.
fn ranges(panel: &Panel) -> ((f64, f64), (f64, f64)) {
    let pts: Vec<(f64, f64)> = panel
        .series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .filter_map(|&(x, y)| Some((x, transform(panel, y)?)))
        })
        .collect();
    let (x0, x1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (mut y0, mut y1) = match panel.y_range {
        Some((a, b)) => (
            transform(panel, a).unwrap_or(0.0),
            transform(panel, b).unwrap_or(1.0),
        ),
        None => pts
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
                (a.min(p.1), b.max(p.1))
            }),
    };
    if !y0.is_finite() || !y1.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    if panel.log_y {
        (y0, y1) = (y0.floor(), y1.ceil());
    }
    if y1 - y0 < 1e-9 {
        (y0, y1) = (y0 - 0.5, y1 + 0.5);
    }
    let (x0, x1) = if !panel.categories.is_empty() {
        (-0.5, panel.categories.len() as f64 - 0.5)
    } else if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else {
        (0.0, 1.0)
    };
    ((x0, x1), (y0, y1))
}

/// What is drawn under a panel's curves: the bands, then the faint raw values.
fn draw_under<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    panel: &Panel,
) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    for b in &panel.bands {
        let mut outline: Vec<(f64, f64)> = vec![];
        for &(x, lo, _) in &b.points {
            outline.extend(transform(panel, lo).map(|y| (x, y)));
        }
        for &(x, _, hi) in b.points.iter().rev() {
            outline.extend(transform(panel, hi).map(|y| (x, y)));
        }
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                b.color.mix(0.18).filled(),
            )))
            .map_err(err)?;
    }
    for s in panel.series.iter().filter(|s| s.stroke == Stroke::Faint) {
        let data: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|&(x, y)| Some((x, transform(panel, y)?)))
            .collect();
        chart
            .draw_series(LineSeries::new(data, s.color.mix(0.15).stroke_width(1)))
            .map_err(err)?;
    }
    Ok(())
}

/// Draws one panel into `area`: its axes and tick labels, then what lies under the
/// curves (bands, faint raw values) and over them.
fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let ((x0, x1), (y0, y1)) = ranges(panel);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 21))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let log_y = panel.log_y;
    let cats = &panel.categories;
    let x_tick = |v: &f64| match cats.is_empty() {
        true => tick(*v),
        false => category(cats, *v),
    };
    chart
        .configure_mesh()
        .x_labels(if cats.is_empty() { 10 } else { cats.len() })
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .y_label_formatter(&|v| {
            if log_y {
                format!("{:.1e}", 10f64.powf(*v))
            } else {
                // A tick at a rounding error below zero reads 0.00, not -0.00.
                format!("{:.2}", if v.abs() < 5e-3 { 0.0 } else { *v })
            }
        })
        .x_label_formatter(&x_tick)
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(err)?;
    draw_under(&mut chart, panel)?;
    draw_over(&mut chart, panel, (x0, x1))
}

/// What is drawn over a panel's bands: its curves (solid, dashed, thin, markers, open
/// circles), then its reference lines across `x0..x1`, dashed.
fn draw_over<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    panel: &Panel,
    (x0, x1): (f64, f64),
) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    for s in panel.series.iter().filter(|s| s.stroke != Stroke::Faint) {
        let data: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|&(x, y)| Some((x, transform(panel, y)?)))
            .collect();
        let color = s.color;
        let style = color.stroke_width(2);
        match s.stroke {
            Stroke::Solid => chart
                .draw_series(LineSeries::new(data, style))
                .map_err(err)?,
            Stroke::Dashed => chart
                .draw_series(DashedLineSeries::new(data, 8, 5, style))
                .map_err(err)?,
            Stroke::Thin => chart
                .draw_series(LineSeries::new(data, color.stroke_width(1)))
                .map_err(err)?,
            Stroke::Markers | Stroke::Faint => chart
                .draw_series(data.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(err)?,
            Stroke::Open => chart
                .draw_series(data.into_iter().map(|p| Circle::new(p, 5, style)))
                .map_err(err)?,
        };
    }
    for (y, _) in &panel.hlines {
        if let Some(ty) = transform(panel, *y) {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, ty), (x1, ty)],
                    8,
                    5,
                    REFERENCE.stroke_width(2),
                ))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// A legend mark at `(x, y)`: a line, a dashed line (`None`: a reference line, dashed),
/// or a dot.
fn draw_mark<DB: DrawingBackend>(
    strip: &DrawingArea<DB, Shift>,
    stroke: Option<Stroke>,
    color: RGBColor,
    (x, y): (i32, i32),
) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let segment =
        |a: i32, b: i32| PathElement::new(vec![(x + a, y), (x + b, y)], color.stroke_width(3));
    match stroke {
        Some(Stroke::Solid) | Some(Stroke::Faint) | Some(Stroke::Thin) => {
            strip.draw(&segment(0, 24)).map_err(err)
        }
        Some(Stroke::Dashed) | None => {
            for a in [0, 10, 20] {
                strip.draw(&segment(a, a + 6)).map_err(err)?;
            }
            Ok(())
        }
        Some(Stroke::Markers) => strip
            .draw(&Circle::new((x + 12, y), 4, color.filled()))
            .map_err(err),
        Some(Stroke::Open) => strip
            .draw(&Circle::new((x + 12, y), 5, color.stroke_width(2)))
            .map_err(err),
    }
}
