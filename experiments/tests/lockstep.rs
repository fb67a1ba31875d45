//! delve step for step against PyTorch, without PyTorch: the committed fixtures under
//! `tests/fixtures/lockstep/` hold a 6-layer net's initial weights and 20 batches of 8
//! training images (`init.safetensors`, written by `experiments lockstep`) and the
//! per-step numbers PyTorch computed in float64 from them (`torch-float64.csv`). Made by
//!
//! ```text
//! for act in relu prelu; do
//!   cargo run -p experiments -- lockstep --depth 6 --fc-width 64 --batch-size 8 --steps 20 \
//!     --init msra --activation $act --out experiments/tests/fixtures/lockstep
//! done
//! for d in experiments/tests/fixtures/lockstep/*; do
//!   python3 bench/lockstep.py replay $d --dtype float64; rm $d/delve.csv
//! done
//! ```
//!
//! (PyTorch 2.15.0, AMD EPYC.) The runs were named `d6-msra-relu-s0` and `d6-msra-prelu-s0`
//! then; their `init.safetensors` were written again under today's names, and every
//! tensor in them is the same, byte for byte (only the metadata's `run.name` and
//! `provenance` are new), so PyTorch's numbers stand. In float32 PyTorch itself stays within 4e-7 of those numbers
//! and delve within 3e-6 (the PReLU net's first-layer gradient); the test allows 1e-5.

use experiments::cmd::lockstep::{replay, LockstepRow};
use experiments::data::Dataset;
use experiments::store::lockstep;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data() -> Dataset {
    Dataset::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist")).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lockstep")
        .join(name)
}

fn read_rows(path: &Path) -> Vec<LockstepRow> {
    csv::Reader::from_path(path)
        .unwrap()
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn quantities(r: &LockstepRow) -> [(&'static str, f64); 5] {
    [
        ("loss", r.loss as f64),
        ("grad_norm_first", r.grad_norm_first),
        ("grad_norm_last", r.grad_norm_last),
        ("weight_norm_first", r.weight_norm_first),
        ("weight_norm_last", r.weight_norm_last),
    ]
}

#[test]
fn six_layer_nets_take_the_steps_pytorch_takes_in_float64() {
    let data = data();
    for name in ["d6-msra-relu-fc64-b8-s0", "d6-msra-prelu-fc64-b8-s0"] {
        let rec = lockstep::read(&fixture(name).join("init.safetensors")).unwrap();
        let ours = replay(&rec, &data).unwrap();
        let torch = read_rows(&fixture(name).join("torch-float64.csv"));
        assert_eq!(ours.len(), 20);
        assert_eq!(torch.len(), 20);
        for (d, t) in ours.iter().zip(&torch) {
            for ((q, a), (_, b)) in quantities(d).into_iter().zip(quantities(t)) {
                let rel = (a - b).abs() / b.abs();
                assert!(
                    rel < 1e-5,
                    "{name} step {}: {q} delve {a} vs PyTorch {b} (relative {rel:.1e})",
                    d.step
                );
            }
        }
    }
}

/// Records a 5-layer run on 100 training images in batches of 16 into a new folder;
/// returns the folder and the run's own folder in it.
fn record(init: &str, steps: &str, seed: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_experiments"))
        .args([
            "lockstep",
            "--depth",
            "5",
            "--init",
            init,
            "--train-size",
            "100",
        ])
        .args([
            "--batch-size",
            "16",
            "--steps",
            steps,
            "--seed",
            seed,
            "--out",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join(format!("d5-{init}-relu-b16-n100-s{seed}"));
    (tmp, dir)
}

#[test]
fn a_recorded_run_replays_bit_for_bit() {
    let (_tmp, dir) = record("xavier", "9", "3");
    let rec = lockstep::read(&dir.join("init.safetensors")).unwrap();
    // 100 images in batches of 16: 7 steps per epoch, the 7th holds 4, then a new epoch.
    let sizes: Vec<usize> = rec.batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [16, 16, 16, 16, 16, 16, 4, 16, 16]);
    let mut epoch: Vec<usize> = rec.batches[..7].concat();
    epoch.sort_unstable();
    assert_eq!(epoch, (0..100).collect::<Vec<_>>());
    assert_eq!(
        replay(&rec, &data()).unwrap(),
        read_rows(&dir.join("delve.csv"))
    );
}

#[test]
fn a_recording_that_does_not_fit_its_run_is_refused_not_replayed() {
    let (_tmp, dir) = record("msra", "2", "0");
    let path = dir.join("init.safetensors");
    let data = data();
    let mut rec = lockstep::read(&path).unwrap();
    rec.batches[1][3] = 100;
    let err = replay(&rec, &data).unwrap_err().to_string();
    assert_eq!(err, "batch index 100 is past the run's 100 training images");
    rec.batches[1][3] = 99;
    rec.params.pop();
    let err = replay(&rec, &data).unwrap_err().to_string();
    assert!(err.contains("parameters, the net has"), "{err}");
    // A run its own settings do not make (here: renamed) is refused when read.
    let mut bytes = std::fs::read(&path).unwrap();
    let (from, to) = (b"d5-msra-relu-b16", b"d5-msra-relu-b32");
    let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
    bytes[at..at + to.len()].copy_from_slice(to);
    std::fs::write(&path, &bytes).unwrap();
    let err = format!("{:#}", lockstep::read(&path).err().unwrap());
    assert!(err.contains("is not what its own settings make"), "{err}");
}

/// One row of a lockstep CSV in f64: `(step, loss, grad_norm_first)`.
type Row64 = (usize, f64, f64);

fn read_f64(path: &Path) -> Vec<Row64> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let (step, loss, grad) = (col("step"), col("loss"), col("grad_norm_first"));
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let f = |i: usize| rec[i].parse::<f64>().unwrap();
            (f(step) as usize, f(loss), f(grad))
        })
        .collect()
}

/// The largest relative difference of the losses over the first `steps` steps.
fn max_rel(a: &[Row64], b: &[Row64], steps: usize) -> f64 {
    a.iter()
        .zip(b)
        .take(steps)
        .map(|(x, y)| (x.1 - y.1).abs() / y.1.abs().max(1e-30))
        .fold(0.0, f64::max)
}

/// Doublings per 100 iterations of the first layer's gradient norm: the least-squares
/// slope of log2(norm) over iterations 100 to 900 (as `bench/lockstep.py` fits it).
fn growth(rows: &[Row64]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| (100..=900).contains(&r.0) && r.2 > 0.0)
        .map(|r| (r.0 as f64, r.2.log2()))
        .collect();
    if pts.len() < 10 {
        return None;
    }
    let n = pts.len() as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    Some(100.0 * sxy / sxx)
}

/// Whether a printed cell holds `value` to the precision it is printed with: three
/// significant digits (`2.76e-05`) or three decimals (`0.390`); `-` for none.
fn printed_as(cell: &str, value: Option<f64>) -> bool {
    match (value, cell.parse::<f64>()) {
        (None, _) => cell == "-",
        (Some(v), Ok(p)) if cell.contains('e') => (p - v).abs() <= 0.006 * v.abs(),
        (Some(v), Ok(p)) => (p - v).abs() <= 0.0006,
        (Some(_), Err(_)) => false,
    }
}

/// Every number of README's lockstep table, recomputed from the committed CSVs under
/// `results/lockstep/` (made by `bench/lockstep.py summary results/lockstep`).
#[test]
fn readme_lockstep_table_is_what_the_committed_csvs_give() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lockstep = root.join("results/lockstep");
    let rows: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with("| d"))
        .filter(|l| lockstep.join(l.split('|').nth(1).unwrap().trim()).is_dir())
        .collect();
    assert!(
        rows.len() >= 3,
        "README's lockstep table has {} rows",
        rows.len()
    );
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let dir = lockstep.join(cells[1]);
        let read = |f: &str| dir.join(f).exists().then(|| read_f64(&dir.join(f)));
        let (delve, t32) = (
            read("delve.csv").unwrap(),
            read("torch-float32.csv").unwrap(),
        );
        let t64 = read("torch-float64.csv");
        let steps = delve.len().min(t32.len());
        let expected = [
            Some(steps as f64),
            Some(max_rel(&delve, &t32, 100)),
            t64.as_ref().map(|t| max_rel(&t32, t, 100)),
            t64.as_ref().map(|t| max_rel(&delve, t, 100)),
            growth(&delve[..steps]),
            growth(&t32[..steps]),
        ];
        assert_eq!(cells[2], steps.to_string(), "{row}");
        if let Some(t) = &t64 {
            let count = format!("`{}` {}", cells[1], t.len());
            assert!(
                readme.contains(&count),
                "README lacks `{count}` (float64 steps)"
            );
        }
        for (cell, value) in cells[3..8].iter().zip(&expected[1..]) {
            assert!(
                printed_as(cell, *value),
                "{row}: `{cell}`, the CSVs give {value:?}"
            );
        }
    }
}

/// README's step-1 table: the first conv layer's gradient norm at step 1 (the same weights
/// and batch everywhere) relative to PyTorch float64, for delve, delve with Winograd off
/// (`results/lockstep/winograd-off/`) and PyTorch float32, Xavier-30 and MSRA-30.
#[test]
fn readme_step_one_table_is_what_the_committed_csvs_give() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lockstep = root.join("results/lockstep");
    let first = |path: PathBuf| read_f64(&path)[0].2;
    for (label, file) in [
        ("| delve (Winograd on 32+ channels) |", None),
        ("| delve, Winograd off |", Some("winograd-off")),
        ("| PyTorch float32 |", Some("torch")),
    ] {
        let row = readme
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("README lacks the row `{label}`"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        for (cell, init) in cells[2..4].iter().zip(["xavier", "msra"]) {
            let run = format!("d30-{init}-relu-s0");
            let reference = first(lockstep.join(&run).join("torch-float64.csv"));
            let ours = match file {
                None => first(lockstep.join(&run).join("delve.csv")),
                Some("torch") => first(lockstep.join(&run).join("torch-float32.csv")),
                Some(dir) => first(lockstep.join(dir).join(&run).join("delve.csv")),
            };
            let rel = (ours - reference).abs() / reference;
            assert!(
                printed_as(cell, Some(rel)),
                "{row}: `{cell}`, the CSVs give {rel}"
            );
        }
    }
}
