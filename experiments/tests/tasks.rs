//! The grid as numbered tasks: `plan` lists the runs in a stable order with the command
//! that trains each alone, and `--task N` (or `--task` with SLURM_ARRAY_TASK_ID) trains
//! only that one; the protocols (`reproduce`, `stall`) take `--task` the same way.

mod common;

use common::{bin, run};

const GRID: &[&str] = &[
    "--depth",
    "4,5",
    "--init",
    "xavier,msra",
    "--train-size",
    "256",
    "--epochs",
    "0.5",
    "--eval-size",
    "50",
];

#[test]
fn plan_numbers_the_runs_and_task_trains_one_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let plan = run(&[&["plan"], GRID, &["--out", out]].concat());
    assert!(plan.status.success());
    let text = String::from_utf8(plan.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 4);
    let names = [
        "d4-xavier-relu-n256-s0",
        "d4-msra-relu-n256-s0",
        "d5-xavier-relu-n256-s0",
        "d5-msra-relu-n256-s0",
    ];
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row[0], i.to_string());
        assert_eq!(row[1], names[i]);
        assert!(row[2].ends_with(&format!("--task {i}")), "{}", row[2]);
    }
    assert!(!tmp.path().join("runs").exists(), "plan trains nothing");

    let o = run(&[GRID, &["--out", out, "--task", "2"]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin()
        .args([GRID, &["--out", out, "--task"]].concat())
        .env("SLURM_ARRAY_TASK_ID", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let done: Vec<bool> = names
        .iter()
        .map(|n| {
            tmp.path()
                .join("runs")
                .join(n)
                .join("summary.json")
                .exists()
        })
        .collect();
    assert_eq!(done, [false, true, true, false]);

    for (args, env, needle) in [
        (
            vec!["--task", "4"],
            None,
            "the grid has 4 runs, numbered 0 to 3",
        ),
        (
            vec!["--task"],
            None,
            "SLURM_ARRAY_TASK_ID, which is not set",
        ),
        (
            vec!["--task"],
            Some("x"),
            "SLURM_ARRAY_TASK_ID: expected a run number",
        ),
    ] {
        let mut c = bin();
        c.args([GRID, &["--out", out], &args[..]].concat())
            .env_remove("SLURM_ARRAY_TASK_ID");
        if let Some(v) = env {
            c.env("SLURM_ARRAY_TASK_ID", v);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.trim().lines().count() == 1 && err.contains(needle),
            "{err}"
        );
    }
}

#[test]
fn a_protocol_task_trains_its_one_run_and_leaves_the_report_to_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let short = [
        "--seeds",
        "0",
        "--out",
        out,
        "--epoch-scale",
        "0.02",
        "--train-size",
        "256",
        "--eval-size",
        "50",
        "--test-size",
        "100",
    ];
    // The plan numbers the runs as --task takes them.
    let o = run(&[&["reproduce", "--plan"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = String::from_utf8_lossy(&o.stderr);
    assert!(plan.contains("  1  d22-msra-relu-n256-s0"), "{plan}");
    let o = bin()
        .args([&["reproduce", "--task"], &short[..]].concat())
        .env("SLURM_ARRAY_TASK_ID", "1")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = tmp.path().join("runs");
    let trained: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(trained, ["d22-msra-relu-n256-s0"]);
    assert!(runs.join("d22-msra-relu-n256-s0/summary.json").exists());
    assert!(
        !tmp.path().join("CLAIMS.md").exists(),
        "no report from a task"
    );
    let o = run(&[&["reproduce", "--task", "4"], &short[..]].concat());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.trim().lines().count() == 1 && err.contains("the protocol has 4 runs"),
        "{err}"
    );
}
