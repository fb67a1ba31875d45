//! Same seed, same numbers: on 1 or 2 threads, and run after run, every CSV and the
//! final weights are identical, bit for bit.

mod common;

use common::run;
use std::path::Path;

/// Trains the same short run into two fresh folders with the given thread counts and
/// asserts that the CSVs and the final weights are identical, bit for bit.
fn assert_identical_runs(depth: &str, threads: [&str; 2]) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for (dir, t) in dirs.iter().zip(threads) {
        let out = dir.path().to_str().unwrap();
        let o = run(&[
            "--depth",
            depth,
            "--train-size",
            "512",
            "--epochs",
            "1",
            "--eval-size",
            "100",
            "--lr",
            "0.01",
            "--threads",
            t,
            "--out",
            out,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let run_dir = format!("runs/d{depth}-msra-relu-lr0.01-n512-s0");
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(&run_dir).join(f)).unwrap();
    for f in ["train.csv", "eval.csv"] {
        assert_eq!(
            read(dirs[0].path(), f),
            read(dirs[1].path(), f),
            "{f} differs"
        );
    }
    let weights = |d: &Path| {
        let path = d.join(&run_dir).join(experiments::store::checkpoint::FILE);
        let ck = experiments::store::checkpoint::Checkpoint::read(&path).unwrap();
        (ck.params, ck.velocity)
    };
    let (a, b) = (weights(dirs[0].path()), weights(dirs[1].path()));
    assert!(!a.0.is_empty());
    assert_eq!(a, b, "final weights or momentum differ");
}

#[test]
fn one_and_two_threads_give_identical_runs() {
    assert_identical_runs("8", ["1", "2"]);
}

#[test]
fn same_seed_same_numbers() {
    assert_identical_runs("4", ["0", "0"]);
}

/// `DELVE_SIMD` forces a kernel path: `scalar` trains and says so in the run's
/// provenance; a value that is unknown, or a path this CPU or delve lacks, is refused
/// with one line before anything runs.
#[test]
fn delve_simd_forces_the_portable_path_or_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let args = [
        "--depth",
        "4",
        "--train-size",
        "128",
        "--epochs",
        "0.5",
        "--eval-size",
        "20",
        "--out",
        out,
    ];
    let o = common::bin()
        .args(args)
        .env("DELVE_SIMD", "scalar")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config =
        std::fs::read_to_string(tmp.path().join("runs/d4-msra-relu-n128-s0/config.json")).unwrap();
    assert!(config.contains("\"simd\": \"scalar\""), "{config}");
    for bad in ["avx512", "sse9"] {
        let o = common::bin()
            .args(["bench", "--depth", "4", "--steps", "1"])
            .env("DELVE_SIMD", bad)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.trim().lines().count() == 1 && err.contains("DELVE_SIMD"),
            "{err}"
        );
    }
}
