//! End-to-end tests of the `experiments` binary: a short training run, the files it
//! writes, determinism, redrawing figures, and bad input (one-line error, exit code 2).

mod common;

use common::{data_dir, quick_run, run, QUICK};
use std::path::Path;
use std::process::Output;

fn assert_one_line_error(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    assert_eq!(
        err.trim().lines().count(),
        1,
        "expected one line, got: {err}"
    );
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
}

/// Provenance: the build's commit (40 hex digits in a git checkout), the compiler, the CPU
/// and the kernel path, at the start (config.json) and the end (summary.json).
fn assert_provenance(config: &serde_json::Value, summary: &serde_json::Value) {
    for p in [&config["provenance"], &summary["provenance"]] {
        let commit = p["commit"].as_str().unwrap();
        assert!(commit == "unknown" || commit.len() == 40, "{p}");
        assert!(!p["cpu"].as_str().unwrap().is_empty(), "{p}");
        assert!(
            ["avx512f", "avx2-fma", "scalar"].contains(&p["simd"].as_str().unwrap()),
            "{p}"
        );
        assert!(p["rustc"].as_str().unwrap().starts_with("rustc"), "{p}");
    }
}

/// summary.json's fields, `left_chance` recomputed from train.csv by its definition, and
/// the final error on the full test set.
fn assert_summary(run_dir: &Path) -> serde_json::Value {
    let summary = common::read_json(&run_dir.join("summary.json"));
    for key in [
        "final_test_error",
        "best_test_error",
        "final_full_test_error",
        "final_train_loss",
        "left_chance",
        "diverged",
        "wall_time_s",
        "train_images_per_sec",
    ] {
        assert!(summary.get(key).is_some(), "summary.json lacks {key}");
    }
    // `left_chance` follows its definition over train.csv's losses (the first iteration
    // whose trailing mean of up to 50 losses is 0.05 below ln 10); the final error is
    // measured on all 10,000 test images, not only on the 200 of the curves.
    let train = std::fs::read_to_string(run_dir.join("train.csv")).unwrap();
    let losses: Vec<f64> = train
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    let left = (0..losses.len()).find(|&i| {
        let window = &losses[i.saturating_sub(49)..=i];
        window.iter().sum::<f64>() / window.len() as f64 <= std::f64::consts::LN_10 - 0.05
    });
    assert_eq!(
        summary["left_chance"]["iteration"].as_u64(),
        left.map(|i| i as u64 + 1)
    );
    assert_eq!(summary["full_test_images"], 10_000);
    let full = summary["final_full_test_error"].as_f64().unwrap();
    assert!((0.0..0.9).contains(&full), "full test error {full}");
    let segments = summary["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0]["from"], 0);
    summary
}

#[test]
fn short_training_writes_every_file_and_the_loss_falls() {
    let tmp = tempfile::tempdir().unwrap();
    let o = quick_run(tmp.path(), &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run_dir = tmp.path().join("runs/d6-msra-relu-lr0.01-n1024-s0");
    for f in ["train.csv", "eval.csv", "config.json", "summary.json"] {
        assert!(run_dir.join(f).exists(), "missing {f}");
    }
    for f in ["depth-6.png", "depth-6.svg", "depth-6-gradients.png"] {
        assert!(
            tmp.path().join(f).metadata().unwrap().len() > 1000,
            "missing or empty {f}"
        );
    }
    let train = std::fs::read_to_string(run_dir.join("train.csv")).unwrap();
    let mut lines = train.lines();
    assert_eq!(
        lines.next(),
        Some("iteration,epoch,loss,lr,grad_norm_first,grad_norm_last")
    );
    let losses: Vec<f64> = lines
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(losses.len(), 16, "1024 images / 128 per batch x 2 epochs");
    let (first, last) = (
        losses[..4].iter().sum::<f64>() / 4.0,
        losses[12..].iter().sum::<f64>() / 4.0,
    );
    assert!(
        last < first - 0.2,
        "loss did not fall: first {first:.3}, last {last:.3}"
    );

    let eval = std::fs::read_to_string(run_dir.join("eval.csv")).unwrap();
    assert_eq!(
        eval.lines().next(),
        Some("iteration,epoch,test_loss,test_error")
    );
    assert_eq!(
        eval.lines().count(),
        1 + 5,
        "header + iteration 0 + every half epoch"
    );

    let summary = assert_summary(&run_dir);
    let config = common::read_json(&run_dir.join("config.json"));
    assert_eq!(config["run"]["init"], "msra");
    assert_eq!(config["run"]["lr"], 0.01);
    assert_eq!(config["data"].as_array().unwrap().len(), 4);
    assert_eq!(config["data"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_provenance(&config, &summary);

    // Same output folder again: refused, nothing touched.
    let before = std::fs::read(run_dir.join("train.csv")).unwrap();
    assert_one_line_error(&quick_run(tmp.path(), &[]), "--overwrite");
    assert_eq!(std::fs::read(run_dir.join("train.csv")).unwrap(), before);

    // `plot` redraws the figures from the CSVs alone.
    std::fs::remove_file(tmp.path().join("depth-6.png")).unwrap();
    let o = run(&["plot", tmp.path().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("depth-6.png").exists());
}

#[test]
fn bad_flags_are_one_line_errors_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    assert_one_line_error(
        &run(&["--init", "kaiming", "--out", out]),
        "unknown initializer `kaiming`",
    );
    assert_one_line_error(
        &run(&["--init", "msra:frob=1", "--out", out]),
        "no option `frob`",
    );
    assert_one_line_error(&run(&["--depth", "3", "--out", out]), "depth");
    assert_one_line_error(&run(&["--lr", "0", "--out", out]), "--lr");
    assert_one_line_error(&run(&["--lr", "NaN", "--out", out]), "--lr");
    assert_one_line_error(&run(&["--epochs", "-1", "--out", out]), "--epochs");
    // Sizes that would never end or never fit are refused before anything is built.
    let o = run(&["--init", "lsuv:max_iter=99999999999", "--out", out]);
    assert_one_line_error(&o, "from 1 to 1000");
    assert_one_line_error(&run(&["--threads", "100000", "--out", out]), "--threads");
    let huge: [&[&str]; 4] = [
        &["--depth", "4,1000000", "--out", out],
        &["analyze", "--depth", "1000000", "--out", out],
        &["analyze", "--width", "100000,100000,100000", "--out", out],
        &["bench", "--batch-size", "100000000"],
    ];
    for args in huge {
        assert_one_line_error(&run(args), "too large to build");
    }
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "a refused run wrote files"
    );
    // clap's own usage errors also exit 2.
    let o = run(&["--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    // An --out that cannot be created (a path under a regular file).
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let bad_out = file.join("sub");
    assert_one_line_error(
        &run(&[
            "--depth",
            "4",
            "--out",
            bad_out.to_str().unwrap(),
            "--data",
            data_dir().to_str().unwrap(),
        ]),
        "creating output folder",
    );
}

/// Copies the real test split and a damaged train split into a folder.
fn damaged(dir: &Path, images: &[u8], labels: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    for f in ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
        std::fs::copy(data_dir().join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("train-images-idx3-ubyte"), images).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), labels).unwrap();
}

fn idx(ndims: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, ndims];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend(data);
    b
}

#[test]
fn corrupt_truncated_and_mismatched_data_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let img = |n: u32| idx(3, &[n, 28, 28], &vec![7u8; n as usize * 784]);
    let lab = |l: &[u8]| idx(1, &[l.len() as u32], l);
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, &str)> = vec![
        (
            "truncated",
            img(3)[..2000].to_vec(),
            lab(&[1, 2, 3]),
            "truncated",
        ),
        (
            "magic",
            idx(2, &[3, 784], &vec![0; 3 * 784]),
            lab(&[1, 2, 3]),
            "bad magic",
        ),
        ("counts", img(3), lab(&[1, 2]), "2 labels but 3 images"),
        (
            "label",
            img(3),
            lab(&[1, 2, 10]),
            "label 10 at index 2 is out of range",
        ),
        (
            "gzip",
            vec![0x1f, 0x8b, 8, 0, 1, 2, 3],
            lab(&[1, 2, 3]),
            "corrupt gzip",
        ),
    ];
    for (name, images, labels, needle) in cases {
        let dir = tmp.path().join(name);
        damaged(&dir, &images, &labels);
        let out = tmp.path().join(format!("out-{name}"));
        let o = run(&[
            "--depth",
            "4",
            "--data",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_one_line_error(&o, needle);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&dir.display().to_string()),
            "the error should name the file: {err}"
        );
    }
    // A missing file is named too.
    let o = run(&[
        "--depth",
        "4",
        "--data",
        tmp.path().join("nowhere").to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert_one_line_error(&o, "nowhere");
}

/// Data the net cannot take, and sizes the data cannot give, are refused before any run
/// folder is touched: the run that `--overwrite` would replace survives. An OS error is
/// printed once.
#[test]
fn data_the_net_cannot_take_is_refused_before_anything_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    assert!(quick_run(&out, &[]).status.success());
    let train_csv = out.join("runs/d6-msra-relu-lr0.01-n1024-s0/train.csv");
    let before = std::fs::read(&train_csv).unwrap();
    let d32 = tmp.path().join("d32");
    std::fs::create_dir_all(&d32).unwrap();
    for split in ["train", "t10k"] {
        let images = idx(3, &[4, 32, 32], &[9u8; 4 * 32 * 32]);
        std::fs::write(d32.join(format!("{split}-images-idx3-ubyte")), images).unwrap();
        let labels = idx(1, &[4], &[0, 1, 2, 3]);
        std::fs::write(d32.join(format!("{split}-labels-idx1-ubyte")), labels).unwrap();
    }
    let with = |extra: &[&str]| {
        let mut args = QUICK.to_vec();
        args.retain(|a| !["--eval-size", "200", "--train-size", "1024"].contains(a));
        args.extend(["--out", out.to_str().unwrap(), "--overwrite"]);
        args.extend(extra);
        run(&args)
    };
    let d32 = d32.to_str().unwrap();
    let cases = [
        (
            ["--data", d32, "--eval-size", "2", "--train-size", "4"],
            "the data's images are 1x32x32, the net takes 1x28x28",
        ),
        (
            [
                "--eval-size",
                "20000",
                "--train-size",
                "1024",
                "--seed",
                "0",
            ],
            "--eval-size: 20000 is more than the 10000 test images",
        ),
        (
            ["--eval-size", "200", "--train-size", "70000", "--seed", "0"],
            "more than the 60000 training images",
        ),
    ];
    for (extra, needle) in cases {
        assert_one_line_error(&with(&extra), needle);
        assert_eq!(std::fs::read(&train_csv).unwrap(), before, "{needle}");
    }
    // A folder where a data file should be is refused as such; an OS error is named once.
    let folder = tmp.path().join("folder");
    std::fs::create_dir_all(folder.join("train-images-idx3-ubyte")).unwrap();
    let o = run(&[
        "--data",
        folder.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_one_line_error(&o, "not a regular file");
    let not_a_dir = tmp.path().join("not-a-dir");
    std::fs::write(&not_a_dir, b"").unwrap();
    let o = run(&[
        "--data",
        not_a_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

#[test]
fn analyze_writes_its_table_csv_and_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&[
        "analyze",
        "--depth",
        "8",
        "--init",
        "xavier,msra",
        "--batch-size",
        "32",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(tmp.path().join("analyze/analyze-d8.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 8,
        "a row per weight layer per initializer"
    );
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .starts_with("init,layer,name,fan_in,fan_out,var_w,fwd_std,fwd_onestep,fwd_product"));
    assert!(tmp.path().join("analyze/analyze-d8.png").exists());
    assert!(String::from_utf8_lossy(&o.stdout).contains("eq.9"));
    // A second analysis into the same folder is refused, nothing changed, unless asked.
    let out = tmp.path().to_str().unwrap();
    let again = ["analyze", "--depth", "8", "--init", "msra", "--out", out];
    assert_one_line_error(&run(&again), "pass --overwrite to replace it");
    let same = std::fs::read_to_string(tmp.path().join("analyze/analyze-d8.csv")).unwrap();
    assert_eq!(same, csv);
    assert!(run(&[&again[..], &["--overwrite"]].concat())
        .status
        .success());
}

#[test]
fn a_diverging_run_stops_keeps_its_logs_and_the_grid_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&[
        "--depth",
        "4",
        "--seed",
        "0,1",
        "--lr",
        "50",
        "--train-size",
        "1024",
        "--epochs",
        "1",
        "--eval-size",
        "100",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("stopping this run"));
    for seed in [0, 1] {
        let dir = tmp
            .path()
            .join(format!("runs/d4-msra-relu-lr50-n1024-s{seed}"));
        let s = common::read_json(&dir.join("summary.json"));
        assert_eq!(s["diverged"], true);
        let rows = std::fs::read_to_string(dir.join("train.csv"))
            .unwrap()
            .lines()
            .count();
        assert!(
            (2..9).contains(&rows),
            "the logged iterations before the NaN are kept ({rows} lines)"
        );
    }
}

#[test]
fn bench_prints_one_json_object_with_the_documented_fields() {
    let o = run(&[
        "bench",
        "--depth",
        "5",
        "--batch-size",
        "16",
        "--steps",
        "2",
        "--warmup",
        "1",
        "--json",
        "--profile",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "train_images_per_sec",
        "infer_images_per_sec",
        "gflops",
        "peak_rss_mib",
        "depth",
        "batch_size",
        "threads",
    ] {
        assert!(v.get(key).is_some(), "bench JSON lacks {key}");
    }
    assert_eq!(v["depth"], 5);
    assert!(v["train_images_per_sec"].as_f64().unwrap() > 0.0);
    let shares: f64 = v["profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[1].as_f64().unwrap())
        .sum();
    assert!(
        (shares - 1.0).abs() < 1e-6,
        "profile shares sum to {shares}"
    );
    let kinds: Vec<&str> = v["profile"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[0].as_str().unwrap())
        .collect();
    for k in [
        "conv forward",
        "conv backward-data",
        "conv backward-weights",
        "pooling",
        "optimizer",
    ] {
        assert!(kinds.contains(&k), "profile lacks {k}: {kinds:?}");
    }
}
