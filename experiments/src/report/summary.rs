//! The network summary printed before training: layer, output shape, fans, parameters.

use anyhow::Result;
use layers::{LayerKind, Sequential};
use std::fmt::Write;

/// A table of `net`'s layers.
pub fn render(net: &Sequential) -> Result<String> {
    let rows = net.summary()?;
    let convs = rows
        .iter()
        .filter(|r| matches!(r.kind, LayerKind::Conv { .. }))
        .count();
    let fcs = rows.iter().filter(|r| r.kind == LayerKind::Linear).count();
    let mut s = String::new();
    writeln!(
        s,
        "plain net: {} weight layers ({convs} conv + {fcs} fc), {} parameters",
        convs + fcs,
        net.num_params()
    )?;
    writeln!(
        s,
        "  {:<14} {:<12} {:<14} {:>7} {:>7} {:>8}",
        "layer", "kind", "output", "fan_in", "fan_out", "params"
    )?;
    for r in &rows {
        let (fi, fo) = r
            .fans
            .map(|f| (f.fan_in.to_string(), f.fan_out.to_string()))
            .unwrap_or_default();
        let shape = r
            .output_shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x");
        writeln!(
            s,
            "  {:<14} {:<12} {:<14} {:>7} {:>7} {:>8}",
            r.name,
            r.kind.to_string(),
            shape,
            fi,
            fo,
            r.params
        )?;
    }
    Ok(s)
}
