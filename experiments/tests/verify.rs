//! `experiments verify` trains every committed run's first iteration again and finds it
//! identical to the bit, whichever CPU family made it; a changed digit in a log is
//! found and named (exit 1); a folder that is not a run is refused in one line (exit 2).

mod common;
use common::{copy_dir, run};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every complete run under `results/*/runs/` (a folder with a `summary.json`).
fn committed_runs() -> Vec<PathBuf> {
    let mut runs = vec![];
    for family in std::fs::read_dir(repo().join("results")).unwrap() {
        let Ok(dir) = std::fs::read_dir(family.unwrap().path().join("runs")) else {
            continue;
        };
        for run in dir {
            let run = run.unwrap().path();
            if run.join("summary.json").exists() {
                runs.push(run);
            }
        }
    }
    runs.sort();
    runs
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every committed result comes from the build that ships: each run's first evaluation
/// and first step, trained again here, are its logged ones to the bit (on either CPU
/// family; the portable path rounds differently, so a CPU without AVX2 skips).
#[test]
fn every_committed_run_replays_identically_on_this_build() {
    if tensor::simd_path() == "scalar" {
        println!("skipped: the committed runs were made by the AVX2/AVX-512 kernels");
        return;
    }
    let runs = committed_runs();
    assert!(runs.len() >= 100, "{} runs under results/", runs.len());
    let mut args = vec!["verify".to_string(), "--iterations".into(), "1".into()];
    args.extend(runs.iter().map(|r| r.display().to_string()));
    let out = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let text = stdout(&out);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identical = text
        .lines()
        .filter(|l| l.contains(": identical, bit for bit, over 1 iterations"))
        .count();
    assert_eq!(identical, runs.len(), "{text}");
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

    // A config.json whose settings were edited: refused before anything is built.
    let folder = tmp.path().join("d10-msra-relu-s0");
    copy_dir(
        &repo().join("results/depth-sweep/runs/d10-msra-relu-s0"),
        &folder,
    );
    // A width the name does not carry, then one too large to build.
    let config = std::fs::read_to_string(folder.join("config.json")).unwrap();
    for (width, refusal) in [
        ("512", "is not what its own settings make"),
        ("1099511627776", "too large to build"),
    ] {
        let edited = config.replacen("\"fc_width\": 256", &format!("\"fc_width\": {width}"), 1);
        assert_ne!(config, edited);
        std::fs::write(folder.join("config.json"), edited).unwrap();
        let out = run(&["verify", folder.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(refusal), "{err}");
    }

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
    let r = repo().join("results/reproduction/runs/d30-xavier-relu-s0");
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
