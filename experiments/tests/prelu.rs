//! End-to-end tests of PReLU runs: their slope logs, and the ReLU / PReLU comparison
//! tables and slope figures drawn from them.

mod common;

use common::run;

#[test]
fn prelu_runs_log_their_slopes() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&[
        "--depth",
        "5",
        "--activation",
        "prelu",
        "--init",
        "msra:a=auto",
        "--train-size",
        "512",
        "--epochs",
        "1",
        "--eval-size",
        "100",
        "--eval-every",
        "0.5",
        "--lr",
        "0.01",
        "--out",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(
        tmp.path()
            .join("runs/d5-msra_a-auto-prelu-lr0.01-n512-s0/slopes.csv"),
    )
    .unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("iteration,epoch,layer,mean,min,max"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // 4 PReLU layers (2 conv + 2 fc) at iterations 0, 2 and 4.
    assert_eq!(rows.len(), 4 * 3);
    assert_eq!(rows[0][2], "stage1.act1");
    assert!(
        rows[..4]
            .iter()
            .all(|r| r[3] == "0.25" && r[4] == "0.25" && r[5] == "0.25"),
        "slopes start at 0.25"
    );
    assert!(
        rows[8..].iter().any(|r| r[3] != "0.25"),
        "slopes are learned"
    );
    // ReLU runs write no slopes.csv.
    let tmp2 = tempfile::tempdir().unwrap();
    assert!(run(&[
        "--depth",
        "4",
        "--train-size",
        "256",
        "--epochs",
        "1",
        "--eval-size",
        "50",
        "--out",
        tmp2.path().to_str().unwrap()
    ])
    .status
    .success());
    assert!(!tmp2
        .path()
        .join("runs/d4-msra-relu-n256-s0/slopes.csv")
        .exists());
}

#[test]
fn relu_and_both_prelus_are_compared_and_their_slopes_drawn() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    for act in ["relu", "prelu", "prelu-shared"] {
        let o = run(&[
            "--depth",
            "5",
            "--activation",
            act,
            "--train-size",
            "256",
            "--epochs",
            "1",
            "--eval-size",
            "50",
            "--lr",
            "0.01",
            "--out",
            out,
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let md = std::fs::read_to_string(tmp.path().join("compare-d5-msra-s0.md")).unwrap();
    assert_eq!(
        md.lines().count(),
        2 + 3,
        "header, rule and one row per rectifier:\n{md}"
    );
    for act in ["| relu |", "| prelu |", "| prelu-shared |"] {
        assert!(md.contains(act), "{act} missing from\n{md}");
    }
    let csv = std::fs::read_to_string(tmp.path().join("compare-d5-msra-s0.csv")).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("activation,run,final_test_error,best_test_error,final_train_loss")
    );
    for run in [
        "d5-msra-prelu-lr0.01-n256-s0",
        "d5-msra-prelu-shared-lr0.01-n256-s0",
    ] {
        assert!(
            tmp.path().join(format!("slopes-{run}.png")).exists(),
            "no slopes figure for {run}"
        );
    }
    assert!(!tmp
        .path()
        .join("slopes-d5-msra-relu-lr0.01-n256-s0.png")
        .exists());
    // The table in Table 1's layout is printed by `plot`.
    let o = run(&["plot", out]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("channel-shared") && stdout.contains("stage1.act1"),
        "{stdout}"
    );
}
