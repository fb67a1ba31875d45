//! How the signal's variance travels through depth at initialization,
//! measured layer by layer and set against the paper's predictions.
//!
//! For weight layer `l` with input `x_l`, output `y_l` (before the rectifier) and gradients
//! `Δy_l = ∂L/∂y_l`, `Δx_l = ∂L/∂x_l`:
//! * one-step forward (eq. 7): `Var[y_l] = n_l·Var[w_l]·E[x_l²]`, with the measured `E[x_l²]`;
//! * one-step backward (eq. 12): `Var[Δx_l] = n̂_l·Var[w_l]·E[Δy_l²]`, with the measured `E[Δy_l²]`;
//! * running products (eq. 9 and 13): `Var[y_l] = Var[y_1]·Π_{k=2..l} ((1+a²)/2)·n_k·Var[w_k]`
//!   from the measured first layer (its input had no rectifier, so eq. 9 starts after it),
//!   and `Var[Δx_l] = Var[Δx_L]·Π_{k=l..L−1} ((1+a²)/2)·n̂_k·Var[w_k]` from the measured last
//!   layer. `Var[w]` is the initializer's analytic variance; `a` the initial rectifier slope
//!   (0 for ReLU). Max-pooling is outside these assumptions: the products treat it as the
//!   identity, which is where they drift from the measurement.

use crate::report::figure::{self, color_for, Panel, Series, Stroke};
use anyhow::{Context, Result};
use layers::{plain_net, LayerKind, PlainNetConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::{Path, PathBuf};
use tensor::{Tape, Tensor};

/// One row of `analyze-d<D>.csv`: one weight layer under one initializer.
#[derive(Clone, Debug, Serialize)]
pub struct LayerStats {
    /// Initializer spec.
    pub init: String,
    /// Weight-layer index, 1-based.
    pub layer: usize,
    /// Layer name.
    pub name: String,
    /// Whether it is a conv layer (else fully connected).
    #[serde(skip)]
    pub conv: bool,
    /// `n_l = k²·c_in`.
    pub fan_in: usize,
    /// `n̂_l = k²·c_out`.
    pub fan_out: usize,
    /// The initializer's `Var[w]`.
    pub var_w: f64,
    /// Measured std of `y_l`.
    pub fwd_std: f64,
    /// Eq. 7 with the measured `E[x_l²]`.
    pub fwd_onestep: f64,
    /// Eq. 9's running product from the measured first layer.
    pub fwd_product: f64,
    /// Measured std of `Δy_l = ∂L/∂y_l`.
    pub bwd_out_std: f64,
    /// Measured std of `Δx_l = ∂L/∂x_l`.
    pub bwd_std: f64,
    /// Eq. 12 with the measured `E[Δy_l²]`.
    pub bwd_onestep: f64,
    /// Eq. 13's running product from the measured last layer.
    pub bwd_product: f64,
}

/// The measured std of a zero-mean signal, as the paper's variances are: `sqrt(E[v²])` over
/// every element (the units' small offsets `E[w]·E[x]` of one weight draw count as signal).
fn std(t: &Tensor) -> f64 {
    mean_sq(t).sqrt()
}

fn mean_sq(t: &Tensor) -> f64 {
    t.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / t.len() as f64
}

/// Measures one net at initialization on one batch.
pub fn measure(
    cfg: &PlainNetConfig,
    init_spec: &str,
    x: &Tensor,
    labels: &[usize],
    seed: u64,
) -> Result<Vec<LayerStats>> {
    let init = init::by_name(init_spec)?;
    let mut net = plain_net(cfg, init.as_ref(), &mut ChaCha8Rng::seed_from_u64(seed))?;
    // A data-dependent initializer calibrates on the batch measured here.
    if init.calibration_images() > 0 {
        let per_layer = init.calibrate(&mut layers::Calibration::new(&mut net, x.clone()))?;
        eprintln!("{init_spec}: calibrated on the batch, per weight layer: {per_layer:?}");
    }
    let mut tape = Tape::new();
    let input = tape.var(x.clone());
    let outs = net.forward_trace(&mut tape, input);
    let loss = tape.softmax_cross_entropy(*outs.last().expect("layers"), labels);
    let grads = tape.backward_retaining(loss, &outs);
    let layers = net.layers();
    let mut rows: Vec<LayerStats> = vec![];
    let mut gains = vec![]; // ((1 + a²)/2) of the rectifier after each weight layer
    for (i, layer) in layers.iter().enumerate() {
        let Some(fans) = layer.fans() else { continue };
        let x_id = if i == 0 { input } else { outs[i - 1] };
        let (xv, yv) = (tape.value(x_id), tape.value(outs[i]));
        let (dy, dx) = (
            grads.get(outs[i]).context("missing output gradient")?,
            grads.get(x_id).context("missing input gradient")?,
        );
        let var_w = init.variance(fans);
        let a = layers.get(i + 1).and_then(|l| l.rectifier_slope());
        gains.push(a.map(|a| (1.0 + a * a) / 2.0).unwrap_or(1.0));
        rows.push(LayerStats {
            init: init.spec().to_string(),
            layer: rows.len() + 1,
            name: layer.name().to_string(),
            conv: matches!(layer.kind(), LayerKind::Conv { .. }),
            fan_in: fans.fan_in,
            fan_out: fans.fan_out,
            var_w,
            fwd_std: std(yv),
            fwd_onestep: (fans.fan_in as f64 * var_w * mean_sq(xv)).sqrt(),
            fwd_product: 0.0,
            bwd_out_std: std(dy),
            bwd_std: std(dx),
            bwd_onestep: (fans.fan_out as f64 * var_w * mean_sq(dy)).sqrt(),
            bwd_product: 0.0,
        });
    }
    fill_products(&mut rows, &gains);
    Ok(rows)
}

/// Fills each layer's product prediction: the forward std carried from the first layer's
/// measured one through `gain·n_l·Var[w_l]` per layer (eq. 9), the backward std carried
/// from the last layer's down the net through `gain·n̂_l·Var[w_l]` (eq. 13); `gains[l]` is
/// ½ for ReLU, `(1 + a²)/2` for PReLU (eq. 15).
fn fill_products(rows: &mut [LayerStats], gains: &[f64]) {
    let n = rows.len();
    rows[0].fwd_product = rows[0].fwd_std;
    for l in 1..n {
        rows[l].fwd_product =
            rows[l - 1].fwd_product * (gains[l - 1] * rows[l].fan_in as f64 * rows[l].var_w).sqrt();
    }
    rows[n - 1].bwd_product = rows[n - 1].bwd_std;
    for l in (0..n - 1).rev() {
        rows[l].bwd_product =
            rows[l + 1].bwd_product * (gains[l] * rows[l].fan_out as f64 * rows[l].var_w).sqrt();
    }
}

/// The last conv layer's output std over the first's: how much of the signal survives
/// the conv stack at initialization.
pub fn conv_std_ratio(rows: &[LayerStats]) -> Option<f64> {
    let convs: Vec<&LayerStats> = rows.iter().filter(|r| r.conv).collect();
    Some(convs.last()?.fwd_std / convs.first()?.fwd_std)
}

/// Writes `analyze-d<D>.csv` and `.png` under `dir` for the rows of every initializer.
pub fn write(dir: &Path, depth: usize, all: &[Vec<LayerStats>]) -> Result<(PathBuf, PathBuf)> {
    let csv_path: PathBuf = dir.join(format!("analyze-d{depth}.csv"));
    let mut w = csv::Writer::from_path(&csv_path)
        .with_context(|| format!("writing {}", csv_path.display()))?;
    for r in all.iter().flatten() {
        w.serialize(r)?;
    }
    w.flush()?;
    let png = dir.join(format!("analyze-d{depth}.png"));
    let fig = figure::Figure {
        panels: panels(depth, all).to_vec(),
        footnote: String::new(),
    };
    figure::draw(&png, &fig, (1400, 600))?;
    Ok((csv_path, png))
}

fn panels(depth: usize, all: &[Vec<LayerStats>]) -> [Panel; 2] {
    let mut fwd = Panel {
        title: format!("{depth} layers, forward: std of y_l"),
        x_label: "weight layer".into(),
        y_label: "std".into(),
        log_y: true,
        ..Default::default()
    };
    let mut bwd = Panel {
        title: format!("{depth} layers, backward: std of dL/dx_l"),
        ..fwd.clone()
    };
    for (k, rows) in all.iter().enumerate() {
        let init = &rows[0].init;
        let c = color_for(init, k);
        let pts = |f: &dyn Fn(&LayerStats) -> f64| {
            rows.iter()
                .map(|r| (r.layer as f64, f(r)))
                .collect::<Vec<_>>()
        };
        let s = |label: String, points, stroke| Series {
            label,
            color: c,
            points,
            stroke,
        };
        fwd.series.push(s(
            format!("{init} measured"),
            pts(&|r| r.fwd_std),
            Stroke::Solid,
        ));
        fwd.series.push(s(
            format!("{init} eq. 9 product"),
            pts(&|r| r.fwd_product),
            Stroke::Dashed,
        ));
        fwd.series.push(s(
            format!("{init} eq. 7 one-step"),
            pts(&|r| r.fwd_onestep),
            Stroke::Markers,
        ));
        bwd.series.push(s(
            format!("{init} measured"),
            pts(&|r| r.bwd_std),
            Stroke::Solid,
        ));
        bwd.series.push(s(
            format!("{init} eq. 13 product"),
            pts(&|r| r.bwd_product),
            Stroke::Dashed,
        ));
        bwd.series.push(s(
            format!("{init} eq. 12 one-step"),
            pts(&|r| r.bwd_onestep),
            Stroke::Markers,
        ));
    }
    [fwd, bwd]
}

/// Prints one initializer's rows as a table.
pub fn print_table(rows: &[LayerStats]) {
    println!(
        "\n{}: std at initialization (forward y_l; backward dL/dx_l)",
        rows[0].init
    );
    println!(
        "{:>3} {:<14} {:>10} {:>10} {:>10}   {:>10} {:>10} {:>10}",
        "l", "layer", "fwd", "eq.7", "eq.9", "bwd", "eq.12", "eq.13"
    );
    for r in rows {
        println!(
            "{:>3} {:<14} {:>10.3e} {:>10.3e} {:>10.3e}   {:>10.3e} {:>10.3e} {:>10.3e}",
            r.layer,
            r.name,
            r.fwd_std,
            r.fwd_onestep,
            r.fwd_product,
            r.bwd_std,
            r.bwd_onestep,
            r.bwd_product
        );
    }
    if let Some(ratio) = conv_std_ratio(rows) {
        println!("last conv / first conv output std: {ratio:.3e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    /// The paper's claim on the 30-layer net, measured on a real batch at initialization:
    /// xavier's signal collapses by orders of magnitude, msra's does not, and the one-step
    /// predictions of eq. 7 and eq. 12 track every layer.
    #[test]
    fn thirty_layers_collapse_under_xavier_not_msra_and_one_step_predictions_hold() {
        let data =
            Dataset::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist"))
                .unwrap();
        let idx: Vec<usize> = (0..128).collect();
        let (x, labels) = data.batch(&data.train, &idx);
        let cfg = PlainNetConfig::default();
        for (init, lo, hi) in [("xavier", 0.0, 1e-3), ("msra", 0.1, 10.0)] {
            let rows = measure(&cfg, init, &x, &labels, 0).unwrap();
            assert_eq!(rows.len(), 30);
            let convs: Vec<&LayerStats> = rows.iter().filter(|r| r.conv).collect();
            let ratio = convs[26].fwd_std / convs[0].fwd_std;
            assert!(
                ratio > lo && ratio < hi,
                "{init}: last/first conv std {ratio:.2e}"
            );
            for r in &rows {
                let fwd = (r.fwd_onestep / r.fwd_std - 1.0).abs();
                let bwd = (r.bwd_onestep / r.bwd_std - 1.0).abs();
                assert!(fwd < 0.3, "{init} {}: eq. 7 off by {fwd:.2}", r.name);
                assert!(bwd < 0.15, "{init} {}: eq. 12 off by {bwd:.2}", r.name);
            }
        }
    }
}
