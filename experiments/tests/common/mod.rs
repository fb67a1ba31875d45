//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

pub mod readme;
pub mod resumable;

use experiments::store::checkpoint::Checkpoint;
use experiments::store::records::{self, Config};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Copies the folder `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The checkpoint at `path`, read as the CLI reads it: bounded by the size of the net that
/// the `config.json` beside it describes.
pub fn read_checkpoint(path: &Path) -> anyhow::Result<Checkpoint> {
    let config: Config = records::read_json(&path.with_file_name("config.json"))?;
    let floats = config.run.build_net()?.num_params();
    Ok(Checkpoint::read(path, floats)?)
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_experiments"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("spawn experiments")
}

/// A JSON file a run or report wrote (`summary.json`, `config.json`, `claims.json`).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/fashion-mnist")
}

pub const QUICK: &[&str] = &[
    "--depth",
    "6",
    "--init",
    "msra",
    "--train-size",
    "1024",
    "--epochs",
    "2",
    "--eval-size",
    "200",
    "--eval-every",
    "0.5",
    "--lr",
    "0.01",
];

pub fn quick_run(out: &Path, extra: &[&str]) -> Output {
    let mut args = QUICK.to_vec();
    let out = out.to_str().unwrap();
    args.extend(["--out", out]);
    args.extend(extra);
    run(&args)
}
