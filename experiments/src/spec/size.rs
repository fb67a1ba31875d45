//! How large a net, and one batch through it, may be: checked before anything is
//! allocated, so no flag or file can ask for memory the process cannot have.

use anyhow::{ensure, Result};
use layers::{stage_depths, PlainNetConfig};

/// The most weights a net may have (1 GiB as f32; with their gradients and momentum,
/// 3 GiB): the paper's widths at 30 layers take under a quarter of it.
pub const MAX_WEIGHTS: u128 = 1 << 28;

/// The most conv activations one batch may have, counted as [`footprint`] does (16 GiB as
/// f32, an over-count: every conv at the input's resolution): the paper's widths at batch
/// 128 take under a tenth of it.
pub const MAX_ACTIVATIONS: u128 = 1 << 32;

/// Refuses a net of `cfg` trained on batches of `batch_size` that would exceed
/// [`MAX_WEIGHTS`] or [`MAX_ACTIVATIONS`], naming the flags that size it.
pub fn check_size(cfg: &PlainNetConfig, batch_size: usize) -> Result<()> {
    let (weights, activations) = footprint(cfg, batch_size)?;
    ensure!(
        weights <= MAX_WEIGHTS && activations <= MAX_ACTIVATIONS,
        "too large to build: {weights} weights and {activations} activations per batch \
         (at most {MAX_WEIGHTS} and {MAX_ACTIVATIONS}; see --depth, --width, --fc-width \
         and --batch-size)"
    );
    Ok(())
}

/// The net's weights and one batch's conv activations, in floats: an upper bound (every
/// conv at the input's resolution, the flatten too), saturating rather than overflowing
/// for any setting.
pub fn footprint(cfg: &PlainNetConfig, batch_size: usize) -> Result<(u128, u128)> {
    let stages = stage_depths(cfg.depth)?;
    let [c0, h, w] = cfg.input.map(|x| x as u128);
    let plane = h.saturating_mul(w);
    let (mut weights, mut activations, mut c_in) = (0u128, 0u128, c0);
    for (&convs, &width) in stages.iter().zip(&cfg.widths) {
        let (convs, width) = (convs as u128, width as u128);
        if convs == 0 {
            continue;
        }
        let per_conv = 9u128.saturating_mul(width).saturating_mul(c_in.max(width));
        weights = weights.saturating_add(per_conv.saturating_mul(convs));
        let act = convs.saturating_mul(width).saturating_mul(plane);
        activations = activations.saturating_add(act);
        c_in = width;
    }
    let fc = cfg.fc_width as u128;
    let head = c_in
        .saturating_mul(plane)
        .saturating_add(fc)
        .saturating_add(cfg.classes as u128)
        .saturating_mul(fc);
    Ok((
        weights.saturating_add(head),
        activations.saturating_mul(batch_size as u128),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(depth: usize, widths: [usize; 3], fc_width: usize) -> PlainNetConfig {
        PlainNetConfig {
            depth,
            widths,
            fc_width,
            ..Default::default()
        }
    }

    #[test]
    fn the_paper_fits_and_absurd_sizes_do_not() {
        check_size(&cfg(30, [64, 128, 256], 256), 128).unwrap();
        check_size(&cfg(30, [16, 32, 64], 256), 4096).unwrap();
        let (w, a) = footprint(&cfg(30, [64, 128, 256], 256), 128).unwrap();
        assert!(w * 4 < MAX_WEIGHTS && a * 10 < MAX_ACTIVATIONS, "{w} {a}");
        for (c, batch) in [
            (cfg(1_000_000, [16, 32, 64], 256), 128),
            (cfg(30, [100_000; 3], 256), 1),
            (cfg(30, [16, 32, 64], 1 << 20), 1),
            (cfg(30, [16, 32, 64], 256), 100_000_000),
            (cfg(usize::MAX, [usize::MAX; 3], usize::MAX), usize::MAX),
        ] {
            let e = check_size(&c, batch).unwrap_err().to_string();
            assert!(e.contains("too large to build"), "{e}");
        }
        assert!(check_size(&cfg(2, [16, 32, 64], 256), 1).is_err());
    }
}
