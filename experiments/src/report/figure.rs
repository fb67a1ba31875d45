//! Line charts with plotters, drawn with the committed DejaVu Sans (no system fonts).

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
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
    /// Circles, no line.
    Markers,
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

/// Draws the panels side by side into `path` (`.png` or `.svg`).
pub fn draw(path: &Path, panels: &[Panel], size: (u32, u32)) -> Result<()> {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
    let is_svg = path.extension().is_some_and(|e| e == "svg");
    let result = if is_svg {
        let root = SVGBackend::new(path, size).into_drawing_area();
        draw_on(&root, panels).and_then(|_| root.present().map_err(|e| anyhow!("{e}")))
    } else {
        let root = BitMapBackend::new(path, size).into_drawing_area();
        draw_on(&root, panels).and_then(|_| root.present().map_err(|e| anyhow!("{e}")))
    };
    result.map_err(|e| anyhow!("drawing {}: {e}", path.display()))
}

fn draw_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, panels: &[Panel]) -> Result<()> {
    root.fill(&WHITE).map_err(|e| anyhow!("{e}"))?;
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, panel) in areas.iter().zip(panels) {
        draw_panel(area, panel)?;
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
    let (x0, x1) = if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else {
        (0.0, 1.0)
    };
    ((x0, x1), (y0, y1))
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<()> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let ((x0, x1), (y0, y1)) = ranges(panel);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let log_y = panel.log_y;
    chart
        .configure_mesh()
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .y_label_formatter(&|v| {
            if log_y {
                format!("{:.1e}", 10f64.powf(*v))
            } else {
                format!("{v:.2}")
            }
        })
        .x_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err)?;
    for (y, label) in &panel.hlines {
        if let Some(ty) = transform(panel, *y) {
            let s = chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, ty), (x1, ty)],
                    6,
                    4,
                    BLACK.mix(0.5).stroke_width(1),
                ))
                .map_err(err)?;
            if !label.is_empty() {
                s.label(label.clone())
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.5)));
            }
        }
    }
    for s in &panel.series {
        let data: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter_map(|&(x, y)| Some((x, transform(panel, y)?)))
            .collect();
        let color = s.color;
        let style = color.stroke_width(2);
        let drawn = match s.stroke {
            Stroke::Solid => chart
                .draw_series(LineSeries::new(data, style))
                .map_err(err)?,
            Stroke::Dashed => chart
                .draw_series(DashedLineSeries::new(data, 8, 5, style))
                .map_err(err)?,
            Stroke::Markers => chart
                .draw_series(data.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(err)?,
        };
        if !s.label.is_empty() {
            let stroke = s.stroke;
            drawn
                .label(s.label.clone())
                .legend(move |(x, y)| legend_mark::<DB>(stroke, color, x, y));
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 13))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// A series' mark in the legend, at `(x, y)`.
fn legend_mark<DB: DrawingBackend>(
    stroke: Stroke,
    color: RGBColor,
    x: i32,
    y: i32,
) -> DynElement<'static, DB, (i32, i32)> {
    match stroke {
        Stroke::Solid => {
            PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)).into_dyn()
        }
        Stroke::Dashed => {
            PathElement::new(vec![(x, y), (x + 7, y)], color.stroke_width(2)).into_dyn()
        }
        Stroke::Markers => Circle::new((x + 9, y), 3, color.filled()).into_dyn(),
    }
}
