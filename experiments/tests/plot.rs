//! `plot` over a folder where some runs are damaged: each damaged run is named in one
//! warning line and left out (or its non-finite rows are), and the rest are drawn.

mod common;

use common::{copy_dir, quick_run, run};

#[test]
fn plot_leaves_out_damaged_runs_with_a_warning_and_draws_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    assert!(quick_run(out, &[]).status.success());
    let good = out.join("runs/d6-msra-relu-lr0.01-n1024-s0");
    let broken = out.join("runs/d6-msra-relu-lr0.01-n1024-s1");
    copy_dir(&good, &broken);
    let csv = broken.join("train.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text + "not,a,row\n").unwrap();
    let nan = out.join("runs/d6-msra-relu-lr0.01-n1024-s2");
    copy_dir(&good, &nan);
    let csv = nan.join("train.csv");
    let mut lines: Vec<String> = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let mut fields: Vec<&str> = lines[3].split(',').collect();
    fields[2] = "NaN";
    lines[3] = fields.join(",");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    std::fs::remove_file(out.join("depth-6.png")).unwrap();

    let o = run(&["plot", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert_eq!(warnings.len(), 2, "{err}");
    assert!(
        warnings.iter().any(
            |w| w.contains(&broken.join("train.csv").display().to_string())
                && w.ends_with("run left out")
        ),
        "{err}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("d6-msra-relu-lr0.01-n1024-s2")
                && w.contains("1 row(s) with NaN or infinite values left out")),
        "{err}"
    );
    assert!(out.join("depth-6.png").exists());
}
