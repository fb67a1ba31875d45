//! Two processes on one output folder, started together, many times over: (a) two
//! identical grids, (b) two grids that share some of their runs, (c) two `--resume` of one
//! run. Each repetition ends with every run complete and bit-identical (CSVs, weights,
//! momentum) to the run made by a single process, no row missing or repeated, and each
//! held run refused with one line. `DELVE_STRESS_REPS` sets the repetitions (3 by default;
//! the closing note of issue 15 reports 50).

mod common;

use common::bin;
use experiments::store::checkpoint;
use std::path::Path;
use std::process::{Child, Stdio};

const BASE: &[&str] = &[
    "--depth",
    "4",
    "--train-size",
    "256",
    "--batch-size",
    "32",
    "--epochs",
    "1",
    "--eval-size",
    "50",
    "--eval-every",
    "0.5",
    "--resume",
];

fn reps() -> usize {
    std::env::var("DELVE_STRESS_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

fn spawn(out: &Path, seeds: &str) -> Child {
    bin()
        .args(BASE)
        .args(["--seed", seeds, "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn name(seed: u64) -> String {
    format!("d4-msra-relu-b32-n256-s{seed}")
}

/// Every run of `seeds` under `out` is the run in `reference`, bit for bit.
fn assert_same_runs(reference: &Path, out: &Path, seeds: &[u64]) {
    for &s in seeds {
        let (a, b) = (
            reference.join("runs").join(name(s)),
            out.join("runs").join(name(s)),
        );
        assert!(b.join("summary.json").exists(), "{} incomplete", name(s));
        for f in ["train.csv", "eval.csv"] {
            let (x, y) = (
                std::fs::read_to_string(a.join(f)).unwrap(),
                std::fs::read_to_string(b.join(f)).unwrap(),
            );
            assert_eq!(x, y, "{}/{f} differs from a single process's", name(s));
        }
        let (x, y) = (
            common::read_checkpoint(&a.join(checkpoint::FILE)).unwrap(),
            common::read_checkpoint(&b.join(checkpoint::FILE)).unwrap(),
        );
        assert_eq!(x.params, y.params, "{}: weights differ", name(s));
        assert_eq!(x.velocity, y.velocity, "{}: momentum differs", name(s));
    }
}

/// Both processes end with 0 (all their runs complete) or 2 (some held by the other),
/// with one refusal line per held run and nothing else gone wrong.
fn assert_clean_exit(child: Child) {
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    match o.status.code() {
        Some(0) => assert!(!err.contains("held by another process"), "{err}"),
        Some(2) => {
            let refusals = err.matches("is held by another process").count();
            assert!(refusals >= 1, "exit 2 without a refusal: {err}");
            let last = err.trim().lines().last().unwrap_or_default();
            assert!(last.contains("were held by other processes"), "{err}");
        }
        c => panic!("exit {c:?}: {err}"),
    }
}

/// Trains `seeds` until its first progress line, then sends SIGINT: a partial run.
fn stop_half_way(out: &Path, seeds: &str) {
    use std::io::{BufRead, BufReader};
    let mut child = spawn(out, seeds);
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    assert!(lines.any(|l| l.map(|l| l.contains(" it 4/8 ")).unwrap_or(false)));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    lines.for_each(drop);
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

fn reference(seeds: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let o = spawn(dir.path(), seeds).wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir
}

#[test]
fn two_processes_on_one_folder_never_interleave() {
    let reference = reference("0,1,2,3");
    for rep in 0..reps() {
        // (a) two identical grids started together.
        let out = tempfile::tempdir().unwrap();
        let (p, q) = (spawn(out.path(), "0,1,2"), spawn(out.path(), "0,1,2"));
        assert_clean_exit(p);
        assert_clean_exit(q);
        assert_same_runs(reference.path(), out.path(), &[0, 1, 2]);
        // (b) two grids that share one run.
        let out = tempfile::tempdir().unwrap();
        let (p, q) = (spawn(out.path(), "0,1,2"), spawn(out.path(), "2,3"));
        assert_clean_exit(p);
        assert_clean_exit(q);
        assert_same_runs(reference.path(), out.path(), &[0, 1, 2, 3]);
        // (c) two --resume of one run, after it was stopped half-way by Ctrl-C.
        let out = tempfile::tempdir().unwrap();
        stop_half_way(out.path(), "1");
        let (p, q) = (spawn(out.path(), "1"), spawn(out.path(), "1"));
        assert_clean_exit(p);
        assert_clean_exit(q);
        assert_same_runs(reference.path(), out.path(), &[1]);
        eprintln!("repetition {} of {}: clean", rep + 1, reps());
    }
}
