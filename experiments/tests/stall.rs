//! The stall's factors as flags: Caffe-scaled inputs and the paper's fc head change the
//! run (and its name); `--stop-after-chance` ends a run that far after it left chance;
//! the summary gives where it left chance and how fast the first layer's gradient grew;
//! `stall` trains the grid of those factors, shortened, and tables it beside the baseline.

mod common;

use common::run;

#[test]
fn a_run_stops_half_an_epoch_after_it_left_chance() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = run(&[
        "--depth",
        "4",
        "--train-size",
        "1024",
        "--batch-size",
        "32",
        "--epochs",
        "4",
        "--lr",
        "0.01",
        "--eval-size",
        "100",
        "--stop-after-chance",
        "0.5",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = common::read_json(
        &tmp.path()
            .join("runs/d4-msra-relu-lr0.01-b32-n1024-s0/summary.json"),
    );
    let left = s["left_chance"]["iteration"]
        .as_u64()
        .expect("it left chance");
    // 32 steps per epoch: half an epoch is 16 steps after the one it left chance at.
    assert_eq!(s["iterations"].as_u64().unwrap(), left + 16, "{s}");
    assert!(s["stall_growth"].is_number() || left < 10, "{s}");
    assert!(s["final_full_test_error"].is_number());
}

#[test]
fn caffe_inputs_and_the_paper_head_are_runs_of_their_own() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let base = [
        "--depth",
        "4",
        "--train-size",
        "256",
        "--epochs",
        "0.5",
        "--eval-size",
        "50",
        "--out",
        out,
    ];
    for extra in [&[][..], &["--input-scale", "caffe"], &["--head", "paper"]] {
        let o = run(&[&base[..], extra].concat());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let runs = tmp.path().join("runs");
    let read = |n: &str| std::fs::read_to_string(runs.join(n).join("train.csv")).unwrap();
    let plain = read("d4-msra-relu-n256-s0");
    let caffe = read("d4-msra-relu-n256-caffe-s0");
    let paper = read("d4-msra-relu-n256-paperhead-s0");
    assert_ne!(plain, caffe, "caffe inputs change the run");
    assert_ne!(plain, paper, "the paper's head changes the run");
    let config = common::read_json(&runs.join("d4-msra-relu-n256-caffe-s0/config.json"));
    assert_eq!(config["run"]["input_scale"], "caffe");
    let config = common::read_json(&runs.join("d4-msra-relu-n256-paperhead-s0/config.json"));
    assert_eq!(config["run"]["head"], "paper");
}

#[test]
fn a_shortened_stall_grid_trains_every_cell_and_tables_it_beside_the_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, base) = (tmp.path().join("stall"), tmp.path().join("base"));
    let (out_s, base_s) = (out.to_str().unwrap(), base.to_str().unwrap());
    let shortened = [
        "--seeds",
        "0",
        "--epoch-scale",
        "0.02",
        "--train-size",
        "512",
        "--eval-size",
        "50",
        "--test-size",
        "200",
    ];
    // The baseline cell: the shortened reproduction's 30-layer runs.
    let o = run(&[&["reproduce", "--out", base_s], &shortened[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let short = [&["--out", out_s, "--baseline", base_s][..], &shortened[..]].concat();
    let o = run(&[&["stall", "--plan"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = String::from_utf8_lossy(&o.stderr);
    // One seed: 8 narrow cells, 6 MSRA checks, the wide cell.
    assert!(plan.contains("stall: 15 runs"), "{plan}");
    assert!(!out.join("runs").exists(), "--plan trains nothing");

    let o = run(&[&["stall"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["STALL.md", "stall.json", "stall.png", "stall.svg"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let table = common::read_json(&out.join("stall.json"));
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        2 + 15,
        "the baseline's two runs, then the grid's"
    );
    assert!(rows.iter().all(|r| r["complete"] == true), "{table}");
    assert_eq!(rows[0]["factor"], "baseline");
    for f in [
        "widths",
        "learning rate",
        "weight decay",
        "input scale",
        "fc head",
        "momentum",
        "batch size",
    ] {
        assert!(rows.iter().any(|r| r["factor"] == f), "{f} missing");
    }
    let md = std::fs::read_to_string(out.join("STALL.md")).unwrap();
    // The runs' table, before the predictions' table (a row per Xavier cell).
    let runs_part = md.split("## Predictions").next().unwrap();
    let table = runs_part.lines().filter(|l| l.starts_with("| "));
    assert_eq!(table.count(), 1 + 17, "header and 17 rows:\n{md}");
    let predictions = md.split("## Predictions").nth(1).unwrap();
    let predictions = predictions.split("## Growth").next().unwrap();
    let cells = predictions.lines().filter(|l| l.starts_with("| "));
    assert_eq!(
        cells.count(),
        1 + 10,
        "header, the spec's cell, 9 more:\n{md}"
    );
    assert!(
        !predictions.contains("not complete"),
        "every cell ran:\n{predictions}"
    );

    // Complete runs are skipped; the report is the same when made again from the files.
    let o = run(&[&["stall", "--resume"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let skipped = String::from_utf8_lossy(&o.stderr);
    assert_eq!(skipped.matches("already complete, skipped").count(), 15);
    std::fs::remove_file(out.join("STALL.md")).unwrap();
    let o = run(&[&["stall", "--report"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("STALL.md")).unwrap(), md);
}
