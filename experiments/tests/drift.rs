//! `drift`: a run's checkpoint against its initial weights, drawn again from its seed.

mod common;

use common::{run, QUICK};
use std::path::Path;

/// Trains `QUICK`'s runs, with `extra`'s flags in place of the same flags of `QUICK`.
fn train(out: &Path, extra: &[&str]) {
    let mut args: Vec<&str> = vec![];
    for pair in QUICK.chunks(2) {
        if !extra.contains(&pair[0]) {
            args.extend(pair);
        }
    }
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

/// What weight decay alone leaves after `steps` steps of SGD with momentum, computed here
/// independently of the crate.
fn decay_alone(lr: f64, momentum: f64, wd: f64, steps: usize) -> f64 {
    let (mut c, mut v) = (1.0f64, 0.0f64);
    for _ in 0..steps {
        v = momentum * v + wd * c;
        c -= lr * v;
    }
    c
}

#[test]
fn drift_redraws_the_initial_weights_and_measures_the_checkpoint_against_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    // One batch of 128 images is the whole training set: the first step's gradient,
    // logged in train.csv, is the "as drawn" net's on the same images.
    train(out, &["--train-size", "128", "--weight-decay", "0.01"]);
    let o = run(&["drift", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    for f in ["drift.png", "drift.svg"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("DRIFT.md")).unwrap();
    let name = "d6-msra-relu-lr0.01-wd0.01-n128-s0";
    assert_eq!(md.matches(&format!("| `{name}` |")).count(), 2, "{md}");

    let rows = csv_rows(&out.join("drift.csv"));
    let header = &rows[0];
    let col = |k: &str| header.iter().position(|h| h == k).unwrap();
    assert_eq!(rows.len(), 1 + 6, "one row per weight layer of the 6");
    let steps = 2; // 2 epochs of one batch
    let c = decay_alone(0.01, 0.9, 0.01, steps);
    for r in &rows[1..] {
        assert_eq!(r[col("run")], name);
        let (n0, n, over, cos) = (
            r[col("init_norm")].parse::<f64>().unwrap(),
            r[col("norm")].parse::<f64>().unwrap(),
            r[col("over_decay")].parse::<f64>().unwrap(),
            r[col("cos")].parse::<f64>().unwrap(),
        );
        assert!(n0 > 0.0 && n > 0.0, "{r:?}");
        assert!(
            (over - n / (c * n0)).abs() < 1e-9 * over,
            "{r:?} against c = {c}"
        );
        assert!(
            cos > 0.5 && cos <= 1.0 + 1e-12,
            "two steps move a layer a little: {r:?}"
        );
        for k in ["alone", "all_but"] {
            let v: f64 = r[col(k)].parse().unwrap();
            assert!(v.is_finite() && v > 0.0, "{k}: {r:?}");
        }
    }

    // The initial weights drawn again give the first logged gradient, up to the order of
    // the batch's sum (the run shuffled its images).
    let train = csv_rows(&out.join(format!("runs/{name}/train.csv")));
    let logged: f64 = train[1][4].parse().unwrap();
    let table = md.split("## Weights or biases").nth(1).unwrap();
    let row = table.lines().find(|l| l.contains(name)).unwrap();
    let as_drawn: f64 = row.split('|').nth(3).unwrap().trim().parse().unwrap();
    assert!(
        (as_drawn - logged).abs() < 1e-3 * logged,
        "as drawn {as_drawn}, logged at iteration 1 {logged}"
    );
}

#[test]
fn drift_refuses_a_checkpoint_of_another_run_and_a_folder_without_any() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    train(out, &["--seed", "0,1"]);
    let runs = out.join("runs");
    let (s0, s1) = (
        runs.join("d6-msra-relu-lr0.01-n1024-s0"),
        runs.join("d6-msra-relu-lr0.01-n1024-s1"),
    );
    std::fs::copy(
        s1.join("checkpoint.safetensors"),
        s0.join("checkpoint.safetensors"),
    )
    .unwrap();
    let o = run(&["drift", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("not of this run"), "{err}");
    assert!(!out.join("DRIFT.md").exists(), "nothing written");

    for d in [&s0, &s1] {
        std::fs::remove_file(d.join("checkpoint.safetensors")).unwrap();
    }
    let o = run(&["drift", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap()
            .contains("no run with a checkpoint"),
        "{err}"
    );
}

#[test]
fn drift_reads_exported_weights_as_it_reads_the_checkpoint_and_refuses_damaged_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    train(out, &[]);
    let run_dir = out.join("runs/d6-msra-relu-lr0.01-n1024-s0");
    let o = run(&["drift", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let from_checkpoint = std::fs::read(out.join("DRIFT.md")).unwrap();

    let o = run(&["export", run_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_file(run_dir.join("checkpoint.safetensors")).unwrap();
    let o = run(&["drift", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(out.join("DRIFT.md")).unwrap(),
        from_checkpoint,
        "the same weights, the same report"
    );

    let weights = run_dir.join("weights.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    let mut cases: Vec<(Vec<u8>, &str)> = vec![
        (bytes[..bytes.len() / 2].to_vec(), "weights.safetensors"),
        (vec![0u8; 64 << 20], "more than its run's weights take"),
    ];
    // A weight's first value made NaN (the data follow the 8-byte length and the header).
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut nan = bytes.clone();
    nan[8 + header..8 + header + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    cases.push((nan, "NaN"));
    for (damaged, needle) in cases {
        std::fs::write(&weights, &damaged).unwrap();
        let o = run(&["drift", out.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{needle}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "expected `{needle}` in: {err}");
        assert_eq!(
            std::fs::read(out.join("DRIFT.md")).unwrap(),
            from_checkpoint,
            "nothing written over"
        );
    }
}

#[test]
fn kept_weights_are_what_export_writes_and_drift_measures_each_iteration() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    train(out, &["--keep-weights"]);
    let run_dir = out.join("runs/d6-msra-relu-lr0.01-n1024-s0");
    // 1024 images in batches of 128: a checkpoint at the end of each of the 2 epochs.
    for it in [8, 16] {
        assert!(run_dir.join(format!("weights-{it}.safetensors")).exists());
    }
    let exported = out.join("exported.safetensors");
    let o = run(&[
        "export",
        run_dir.to_str().unwrap(),
        "--output",
        exported.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(run_dir.join("weights-16.safetensors")).unwrap(),
        std::fs::read(&exported).unwrap(),
        "the last kept weights are the exported ones, byte for byte"
    );

    let o = run(&["drift", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = csv_rows(&out.join("drift.csv"));
    let iterations: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(
        iterations,
        [["8"; 6], ["16"; 6]].concat(),
        "one row per layer and iteration"
    );
}
