//! The short run the resume and signal tests interrupt, and how they check it: spawned
//! with progress lines on stderr, compared bit for bit with an uninterrupted run.

use experiments::store::checkpoint;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const RUN: &str = "runs/d6-msra-relu-b32-n512-s0";

/// 16 steps per epoch, 48 in all, an evaluation (and a progress line) every 2 steps, a
/// checkpoint every 3 and at each epoch's end.
pub const ARGS: &[&str] = &[
    "--depth",
    "6",
    "--train-size",
    "512",
    "--batch-size",
    "32",
    "--epochs",
    "3",
    "--eval-every",
    "0.125",
    "--eval-size",
    "200",
    "--checkpoint-every",
    "3",
];

pub fn command(out: &Path, extra: &[&str]) -> Command {
    // A flag in `extra` that ARGS also gives replaces ARGS's value.
    let mut args = vec![];
    for pair in ARGS.chunks(2) {
        if !extra.contains(&pair[0]) {
            args.extend_from_slice(pair);
        }
    }
    let mut c = Command::new(env!("CARGO_BIN_EXE_experiments"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

pub fn run(out: &Path, extra: &[&str]) -> Output {
    command(out, extra).output().expect("spawn experiments")
}

pub fn assert_ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

pub fn assert_one_line_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    let last = err.trim().lines().last().unwrap_or_default();
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(last.starts_with("error: "), "{err}");
    assert!(last.contains(needle), "expected `{needle}` in: {last}");
}

/// An uninterrupted run, the reference every resumed run must equal.
pub fn reference() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert_ok(&run(dir.path(), &[]));
    dir
}

/// Every file of a run folder, by name (the bytes the test must find unchanged).
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

/// Asserts that `resumed`'s logs and final weights equal `reference`'s, bit for bit.
pub fn assert_same_run(reference: &Path, resumed: &Path) {
    for f in ["train.csv", "eval.csv"] {
        let a = std::fs::read_to_string(reference.join(RUN).join(f)).unwrap();
        let b = std::fs::read_to_string(resumed.join(RUN).join(f)).unwrap();
        assert_eq!(
            a.lines().count(),
            b.lines().count(),
            "{f}: row counts differ"
        );
        assert_eq!(a, b, "{f} differs");
    }
    let read = |d: &Path| super::read_checkpoint(&d.join(RUN).join(checkpoint::FILE)).unwrap();
    let (a, b) = (read(reference), read(resumed));
    assert_eq!(a.iteration, 48);
    assert_eq!(b.iteration, 48);
    assert_eq!(a.params, b.params, "final weights differ");
    assert_eq!(a.velocity, b.velocity, "final momentum buffers differ");
    assert!(resumed.join(RUN).join("summary.json").exists());
}

/// Reads the child's stderr until a line contains `needle` (true) or the child ends (false).
pub fn wait_for(child: &mut Child, needle: &str) -> bool {
    let stderr = child.stderr.as_mut().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    lines.any(|l| l.map(|l| l.contains(needle)).unwrap_or(false))
}

pub fn spawn(out: &Path, slow_checkpoint: bool) -> Child {
    let mut c = command(out, &["--resume"]);
    if slow_checkpoint {
        c.env("DELVE_TEST_SLOW_CHECKPOINT", "1");
    }
    c.stderr(Stdio::piped()).stdout(Stdio::null());
    c.spawn().expect("spawn experiments")
}

pub fn checkpoint_iteration(out: &Path) -> Option<usize> {
    let path = out.join(RUN).join(checkpoint::FILE);
    path.exists().then(|| {
        super::read_checkpoint(&path)
            .expect("a checkpoint left by a killed process is whole")
            .iteration
    })
}
