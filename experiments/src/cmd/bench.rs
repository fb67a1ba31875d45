//! `experiments bench`: the speed of a full training step (forward, backward, SGD update)
//! and of inference on the plain net, on synthetic data, as medians over many steps.

use crate::cli::BenchArgs;
use crate::run::train_step;
use crate::spec::{size::check_size, validate_net, NetGrid};
use crate::store::records::median;
use anyhow::{ensure, Result};
use layers::{plain_net, Activation, PlainNetConfig, Sequential, Sgd, SgdConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;
use tensor::{Mode, Profile, Tape, Tensor};

/// What `bench --json` prints.
#[derive(Debug, Serialize)]
pub struct BenchResult {
    /// Framework.
    pub framework: &'static str,
    /// Weight layers.
    pub depth: usize,
    /// Batch size.
    pub batch_size: usize,
    /// Channels of the three conv stages.
    pub widths: [usize; 3],
    /// Hidden fc width.
    pub fc_width: usize,
    /// The conv kernels' path (`avx512f`, `avx2-fma`, `scalar`; `DELVE_SIMD` can force one).
    pub simd: String,
    /// The CPU's model name.
    pub cpu: String,
    /// Rayon threads.
    pub threads: usize,
    /// Training images per second (median step).
    pub train_images_per_sec: f64,
    /// Inference images per second (median forward in evaluation mode).
    pub infer_images_per_sec: f64,
    /// Median training step, milliseconds.
    pub train_step_ms: f64,
    /// Effective GFLOP/s of training, counting 3× the forward FLOPs.
    pub gflops: f64,
    /// Forward FLOPs per image (2 per multiply-add).
    pub forward_flops_per_image: f64,
    /// Peak resident memory of the process, MiB.
    pub peak_rss_mib: f64,
    /// Share of a training step per op kind, if `--profile`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<(String, f64)>,
}

/// Forward FLOPs of one image through `net` (conv and fc multiply-adds × 2).
pub fn forward_flops(net: &Sequential) -> Result<f64> {
    Ok(net
        .summary()?
        .iter()
        .filter_map(|r| {
            r.fans
                .map(|f| 2.0 * f.fan_in as f64 * r.output_shape.iter().product::<usize>() as f64)
        })
        .sum())
}

/// Peak resident set size (VmHWM) in MiB, or 0 where /proc is unavailable.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

fn step(
    net: &mut Sequential,
    sgd: &mut Sgd,
    x: &Tensor,
    labels: &[usize],
    profile: Option<&mut Profile>,
) {
    // Random inputs and an msra net give a finite loss; a non-finite one skips the update,
    // which only makes the step look faster, so it is refused.
    train_step(net, sgd, x.clone(), labels, profile).expect("the benchmark's loss is finite");
}

/// The benched net, from `--depth`, `--width` and `--fc-width`, validated as `train`
/// validates them (the same one-line errors, the same size bounds).
fn net_config(args: &BenchArgs) -> Result<PlainNetConfig> {
    let (_, _, widths) = validate_net(&NetGrid {
        depth: vec![args.depth],
        init: vec!["msra".into()],
        activation: Activation::Relu,
        width: args.width.clone(),
        fc_width: args.fc_width,
    })?;
    let cfg = PlainNetConfig {
        depth: args.depth,
        widths,
        fc_width: args.fc_width,
        ..Default::default()
    };
    check_size(&cfg, args.batch_size)?;
    Ok(cfg)
}

/// Prints the result, as one JSON object or a line of text and the profile.
fn print(result: &BenchResult, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string(result)?);
    } else {
        println!(
            "depth {} widths {:?} batch {} threads {} ({}): train {:.1} img/s (step {:.1} ms, {:.1} GFLOP/s), inference {:.1} img/s, peak RSS {:.0} MiB",
            result.depth, result.widths, result.batch_size, result.threads, result.simd, result.train_images_per_sec, result.train_step_ms, result.gflops, result.infer_images_per_sec, result.peak_rss_mib
        );
        for (k, share) in &result.profile {
            println!("  {k:<22} {:>5.1}%", share * 100.0);
        }
    }
    Ok(())
}

/// Runs the benchmark and prints the result.
pub fn run(args: BenchArgs) -> Result<()> {
    ensure!(
        args.batch_size > 0 && args.steps > 0,
        "--batch-size and --steps must be at least 1"
    );
    let cfg = net_config(&args)?;
    let widths = cfg.widths;
    let init = init::by_name("msra")?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut net = plain_net(&cfg, init.as_ref(), &mut rng)?;
    let mut sgd = Sgd::new(SgdConfig {
        lr: 1e-3,
        momentum: 0.9,
        weight_decay: 5e-4,
    });
    let (t, ti, profile) = measure(&args, &mut net, &mut sgd, cfg.input, &mut rng);
    let flops = forward_flops(&net)?;
    let total = profile.total().max(1e-12);
    let result = BenchResult {
        framework: "delve",
        depth: args.depth,
        batch_size: args.batch_size,
        widths,
        fc_width: args.fc_width,
        simd: tensor::simd_path().into(),
        cpu: crate::store::records::Provenance::current().cpu,
        threads: rayon::current_num_threads(),
        train_images_per_sec: args.batch_size as f64 / t,
        infer_images_per_sec: args.batch_size as f64 / ti,
        train_step_ms: t * 1e3,
        gflops: 3.0 * flops * args.batch_size as f64 / t / 1e9,
        forward_flops_per_image: flops,
        peak_rss_mib: peak_rss_mib(),
        profile: profile
            .times
            .iter()
            .map(|&(k, s)| (k.to_string(), s / total))
            .collect(),
    };
    print(&result, args.json)
}

/// Times `args.steps` training steps and forward passes of `net` on one batch of
/// uniform inputs and random labels drawn from `rng`, after `args.warmup` untimed steps:
/// the median step and forward seconds, and (with `--profile`) where a step's time goes.
fn measure(
    args: &BenchArgs,
    net: &mut Sequential,
    sgd: &mut Sgd,
    [c, h, w]: [usize; 3],
    rng: &mut ChaCha8Rng,
) -> (f64, f64, Profile) {
    let x = Tensor::from_shape_simple_fn(vec![args.batch_size, c, h, w], || {
        rng.random_range(-1.0f32..1.0)
    });
    let labels: Vec<usize> = (0..args.batch_size)
        .map(|_| rng.random_range(0..10))
        .collect();
    for _ in 0..args.warmup {
        step(net, sgd, &x, &labels, None);
    }
    let mut times = vec![];
    for _ in 0..args.steps {
        let t0 = Instant::now();
        step(net, sgd, &x, &labels, None);
        times.push(t0.elapsed().as_secs_f64());
    }
    let mut infer = vec![];
    for _ in 0..args.steps {
        let t0 = Instant::now();
        let mut tape = Tape::with_mode(Mode::Eval);
        let xin = tape.constant(x.clone());
        net.forward(&mut tape, xin);
        infer.push(t0.elapsed().as_secs_f64());
    }
    let mut profile = Profile::default();
    if args.profile {
        for _ in 0..args.steps {
            step(net, sgd, &x, &labels, Some(&mut profile));
        }
    }
    (median(&times), median(&infer), profile)
}
