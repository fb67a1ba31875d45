//! Same seed, same numbers: on 1 or 2 threads, on the AVX2 and the AVX-512 kernels, and
//! run after run, every CSV and the final weights are identical, bit for bit.

mod common;

use std::path::Path;

/// One of the two runs compared: its thread count and the `DELVE_SIMD` it forces.
type Setting<'a> = (&'a str, Option<&'a str>);

/// Trains the same short run into two fresh folders with the given thread counts (and
/// kernel paths) and asserts that the CSVs and the final weights are identical, bit for
/// bit.
fn assert_identical_runs(depth: &str, settings: [Setting; 2]) {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for (dir, (t, simd)) in dirs.iter().zip(settings) {
        let out = dir.path().to_str().unwrap();
        let mut cmd = common::bin();
        if let Some(simd) = simd {
            cmd.env("DELVE_SIMD", simd);
        }
        let o = cmd
            .args([
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
            ])
            .output()
            .unwrap();
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
        let ck = common::read_checkpoint(&path).unwrap();
        (ck.params, ck.velocity)
    };
    let (a, b) = (weights(dirs[0].path()), weights(dirs[1].path()));
    assert!(!a.0.is_empty());
    assert_eq!(a, b, "final weights or momentum differ");
}

#[test]
fn one_and_two_threads_give_identical_runs() {
    assert_identical_runs("8", [("1", None), ("2", None)]);
}

#[test]
fn same_seed_same_numbers() {
    assert_identical_runs("4", [("0", None), ("0", None)]);
}

/// The AVX-512 kernels do the AVX2 kernels' arithmetic in the same order: a run (8
/// layers, so the implicit GEMM, the Winograd path and the weight-gradient dots all run)
/// is the same to the bit on both. On a CPU without AVX-512 one `skipped:` line.
#[test]
fn avx2_and_avx512_give_identical_runs() {
    if !tensor::SimdPath::Avx512.detected() {
        eprintln!("avx2_and_avx512_give_identical_runs: skipped: cpu lacks avx512f");
        return;
    }
    assert_identical_runs("8", [("2", Some("avx2")), ("2", Some("avx512"))]);
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
    let lacking = tensor::SimdPath::ALL
        .into_iter()
        .filter(|p| !p.detected())
        .map(|p| p.flag());
    for bad in lacking.chain(["sse9"]) {
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
