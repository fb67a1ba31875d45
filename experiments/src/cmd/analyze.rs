//! `experiments analyze`: the per-layer std of activations and gradients at
//! initialization against eq. 7-14 (`report::variance`), a CSV and a figure per depth.

use crate::cli::AnalyzeArgs;
use crate::data::Dataset;
use crate::report::{sweep, variance};
use crate::spec::{self, size, validate_net};
use anyhow::{Context, Result};
use layers::PlainNetConfig;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Runs the analysis for every depth and initializer, writing a CSV and a figure per depth.
pub fn run(args: AnalyzeArgs) -> Result<()> {
    let (depths, inits, widths) = validate_net(&args.net.grid())?;
    anyhow::ensure!(args.batch_size > 0, "--batch-size: must be at least 1");
    for &depth in &depths {
        size::check_size(&net_config(&args, depth, widths), args.batch_size)?;
    }
    let data =
        Dataset::load(&spec::data_dir(&args.net.data)).context("loading the data (see --data)")?;
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(args.seed));
    let (x, labels) = data.batch(&data.train, &order[..args.batch_size.min(order.len())]);
    let dir = args.net.out.join("analyze");
    // Nothing is replaced without --overwrite, as for training runs; checked first.
    for d in &depths {
        let csv = dir.join(format!("analyze-d{d}.csv"));
        anyhow::ensure!(
            args.overwrite || !csv.exists(),
            "{} already exists: pass --overwrite to replace it, or choose another --out",
            csv.display()
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating output folder {}", dir.display()))?;
    let mut view = vec![];
    for &depth in &depths {
        let cfg = net_config(&args, depth, widths);
        let mut all = vec![];
        for init in &inits {
            let rows = variance::measure(&cfg, init, &x, &labels, args.seed)?;
            variance::print_table(&rows);
            if let Some(ratio) = variance::conv_std_ratio(&rows) {
                view.push((init.clone(), depth, ratio));
            }
            all.push(rows);
        }
        let (csv_path, png) = variance::write(&dir, depth, &all)?;
        eprintln!("wrote {} and {}", csv_path.display(), png.display());
    }
    if depths.len() >= sweep::MIN_DEPTHS {
        eprintln!("wrote {}", sweep::draw_view(&dir, view)?.display());
    }
    Ok(())
}

/// The analysed net of `depth` layers.
fn net_config(args: &AnalyzeArgs, depth: usize, widths: [usize; 3]) -> PlainNetConfig {
    PlainNetConfig {
        depth,
        widths,
        fc_width: args.net.fc_width,
        activation: args.net.activation.into(),
        ..Default::default()
    }
}
