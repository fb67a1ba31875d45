//! `experiments verify` trains committed runs' first iterations again and finds them
//! identical to the bit, whichever CPU family made them; a changed digit in a log is
//! found and named (exit 1); a folder that is not a run is refused in one line (exit 2).

mod common;
use common::{copy_dir, run};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One committed run of each results folder (but `prelu`, whose runs an older build made),
/// each kind of net they hold (LSUV, the paper's fc head, Caffe's input scale, wider stages, momentum 0, strong decay) and
/// both CPU families that made them (AVX2 EPYC, AVX-512 Xeon).
const SAMPLE: &[&str] = &[
    "results/reproduction/runs/d30-xavier-relu-s0",
    "results/reproduction-paperlike/runs/d30-msra-relu-m0-s2",
    "results/reproduction-strongdecay/runs/d22-xavier-relu-wd0.005-s0",
    "results/stall/runs/d30-xavier-relu-paperhead-s0",
    "results/stall/runs/d30-xavier-relu-caffe-s1",
    "results/stall/runs/d30-xavier-relu-w32.64.128-s1",
    "results/depth-sweep/runs/d10-lsuv-relu-s0",
    "results/lr/runs/d30-msra-relu-lr0.003-s0",
];

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn committed_runs_replay_identically_on_this_build() {
    let mut args = vec!["verify".to_string(), "--iterations".into(), "3".into()];
    for r in SAMPLE {
        let dir = repo().join(r);
        assert!(dir.join("config.json").exists(), "{r} is not committed");
        args.push(dir.display().to_string());
    }
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identical = text
        .lines()
        .filter(|l| l.contains(": identical, bit for bit, over 3 iterations"))
        .count();
    assert_eq!(identical, SAMPLE.len(), "{text}");
}

#[test]
fn a_changed_digit_is_found_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d10-msra-relu-s0");
    copy_dir(
        &repo().join("results/depth-sweep/runs/d10-msra-relu-s0"),
        &dir,
    );
    let csv = dir.join("train.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Row of iteration 2: its loss's last digit, changed.
    let mut fields: Vec<String> = lines[2].split(',').map(String::from).collect();
    assert_eq!(fields[0], "2");
    let loss = &mut fields[2];
    let last = loss.pop().unwrap();
    loss.push(if last == '1' { '2' } else { '1' });
    lines[2] = fields.join(",");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();

    let out = run(&["verify", "--iterations", "3", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("d10-msra-relu-s0: DIFFERS at iteration 2: loss"),
        "{}",
        stdout(&out)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim(),
        "1 of 1 runs differ from their committed logs: d10-msra-relu-s0"
    );
}

#[test]
fn a_folder_that_is_not_a_run_or_other_data_is_refused_in_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(&["verify", tmp.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a run folder"), "{err}");

    // The same images, uncompressed: other files than the run's, so no replay.
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    for f in std::fs::read_dir(common::data_dir()).unwrap() {
        let path = f.unwrap().path();
        let Some(name) = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .strip_suffix(".gz")
        else {
            continue;
        };
        let mut raw = vec![];
        let mut gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
        std::io::Read::read_to_end(&mut gz, &mut raw).unwrap();
        std::fs::write(data.join(name), raw).unwrap();
    }
    let r = repo().join(SAMPLE[0]);
    let out = run(&[
        "verify",
        "--data",
        data.to_str().unwrap(),
        r.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("which the data folder lacks"), "{err}");
}
