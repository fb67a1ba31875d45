//! How long a grid will take on this machine, from a few timed steps of each net.

use crate::spec::RunSpec;
use anyhow::Result;
use std::time::Instant;
use tensor::Tensor;

/// Seconds per training image of `run`'s net at its batch size: the median of three
/// steps on zero images after one untimed step.
pub fn seconds_per_image(run: &RunSpec) -> Result<f64> {
    let mut net = run.build_net()?;
    let mut sgd = run.sgd();
    let [c, h, w] = run.net_config().input;
    let labels = vec![0; run.batch_size];
    let mut times = vec![];
    for i in 0..4 {
        let x = Tensor::zeros(vec![run.batch_size, c, h, w]);
        let t0 = Instant::now();
        // A zero batch cannot diverge; a non-finite loss would only make the step cheaper.
        let _ = super::train_step(&mut net, &mut sgd, x, &labels, None);
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64());
        }
    }
    times.sort_by(f64::total_cmp);
    Ok(times[1] / run.batch_size as f64)
}

/// Estimated seconds for `run` (of `n_train` images per epoch, `n_test` test images):
/// its training steps, its evaluations (a forward pass costs about a third of a step)
/// and the final one on the full test set.
pub fn run_seconds(run: &RunSpec, per_image: f64, n_train: usize, n_test: usize) -> f64 {
    let train = run.epochs * n_train as f64;
    let evals = (run.epochs / run.eval_every).ceil() + 1.0;
    let eval = (evals * run.eval_size as f64 + n_test as f64) / 3.0;
    (train + eval) * per_image
}

/// Prints one line per run, numbered as `--task` takes them, with its estimated time (`up to` for a run that stops once it
/// left chance), and the total; `what` names the grid (`reproduce: 12 runs into ...`).
pub fn print_plan(
    what: &str,
    out: &std::path::Path,
    runs: &[RunSpec],
    data: &crate::data::Dataset,
) -> Result<()> {
    eprintln!(
        "{what}: {} runs into {} (--resume continues them after Ctrl-C)",
        runs.len(),
        out.display()
    );
    let mut total = 0.0;
    // Seconds per image of each net (depth, widths) and batch size, timed once.
    type Net = (usize, [usize; 3], usize);
    let mut timed: Vec<(Net, f64)> = vec![];
    for (i, r) in runs.iter().enumerate() {
        let key = (r.depth, r.widths, r.batch_size);
        let per_image = match timed.iter().find(|(k, _)| *k == key) {
            Some(&(_, s)) => s,
            None => {
                let s = seconds_per_image(r)?;
                timed.push((key, s));
                s
            }
        };
        let secs = run_seconds(r, per_image, r.n_train(data), data.test.len());
        total += secs;
        let bound = if r.stop_after_chance.is_some() {
            "up to"
        } else {
            "about"
        };
        eprintln!(
            "  {i:>3}  {:<34} {:>5} epochs  {bound} {:>4.0} min",
            r.name,
            r.epochs,
            secs / 60.0
        );
    }
    eprintln!(
        "estimate: {} {:.1} h on this machine ({} threads), finished runs not deducted",
        if runs.iter().any(|r| r.stop_after_chance.is_some()) {
            "at most"
        } else {
            "about"
        },
        total / 3600.0,
        rayon::current_num_threads()
    );
    Ok(())
}
