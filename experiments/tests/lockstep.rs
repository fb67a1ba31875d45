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
//! (PyTorch 2.15.0, AMD EPYC.) In float32 PyTorch itself stays within 4e-7 of those numbers
//! and delve within 3e-6 (the PReLU net's first-layer gradient); the test allows 1e-5.

use experiments::cmd::lockstep::{read_init, replay, LockstepRow};
use experiments::data::Dataset;
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
    for name in ["d6-msra-relu-s0", "d6-msra-prelu-s0"] {
        let rec = read_init(&fixture(name).join("init.safetensors")).unwrap();
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

#[test]
fn a_recorded_run_replays_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_experiments"))
        .args([
            "lockstep",
            "--depth",
            "5",
            "--init",
            "xavier",
            "--train-size",
            "100",
        ])
        .args(["--batch-size", "16", "--steps", "9", "--seed", "3", "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tmp.path().join("d5-xavier-relu-s3");
    let rec = read_init(&dir.join("init.safetensors")).unwrap();
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
