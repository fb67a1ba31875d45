//! The README's result tables are the committed files' numbers: `plot` redraws the
//! committed runs (PReLU, the depth sweep) into a fresh folder, its tables must equal the
//! committed ones, and every row of those must appear in README.md verbatim; the other
//! quoted numbers are read from the committed CSVs and summaries.

mod common;

use common::copy_dir;
use common::readme::{layer_rows, turn, LayerRow, Readme};
use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn table_rows(md: &str) -> Vec<&str> {
    md.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| activation"))
        .collect()
}

/// `plot` run on a fresh copy of `committed/runs`: the figures and tables the committed
/// runs give today.
fn replot(committed: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&committed.join("runs"), &tmp.path().join("runs"));
    let o = Command::new(env!("CARGO_BIN_EXE_experiments"))
        .arg("plot")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    tmp
}

#[test]
fn readme_prelu_tables_are_what_the_committed_csvs_give() {
    let committed = repo().join("results/prelu");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let tmp = replot(&committed);
    for table in ["compare-d14-msra-s0.md", "compare-d14-msra.md"] {
        let fresh = std::fs::read_to_string(tmp.path().join(table)).unwrap();
        let kept = std::fs::read_to_string(committed.join(table)).unwrap();
        assert_eq!(
            fresh, kept,
            "{table} is stale: rerun `experiments plot results/prelu`"
        );
        let rows = table_rows(&kept);
        assert!(rows.len() >= 3, "{table}: {kept}");
        for row in rows {
            assert!(readme.contains(row), "README lacks `{row}` from {table}");
        }
    }
    // The 30-layer PReLU runs: final and best test error and training loss, as summarised.
    for (run, label) in [
        ("d30-msra-prelu-s0", "msra"),
        ("d30-msra_a-auto-prelu-s0", "msra:a=auto (eq. 15)"),
    ] {
        let s = common::read_json(&committed.join("runs").join(run).join("summary.json"));
        let f = |k: &str| s[k].as_f64().unwrap();
        let row = format!(
            "| {label} | {:.4} | {:.4} | {:.4} |",
            f("final_test_error"),
            f("best_test_error"),
            f("final_train_loss")
        );
        assert!(readme.contains(&row), "README lacks `{row}`");
    }
}

/// README's depth table at initialization is the committed `analyze` CSVs' numbers: for
/// each depth and initializer, the last conv layer's output std over the first's.
#[test]
fn readme_depth_view_table_is_what_the_committed_analysis_gives() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let inits = ["xavier", "msra", "orthogonal", "delta_orthogonal", "lsuv"];
    for depth in [6, 10, 14, 22, 30, 40, 50] {
        let path = repo().join(format!("results/depth-sweep/analyze/analyze-d{depth}.csv"));
        let csv = std::fs::read_to_string(&path).unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        let mut row = format!("| {depth} |");
        for init in inits {
            let convs: Vec<f64> = rows
                .iter()
                .filter(|r| r[col("init")] == init && r[col("name")].contains("conv"))
                .map(|r| r[col("fwd_std")].parse().unwrap())
                .collect();
            row += &format!(" {:.2e} |", convs.last().unwrap() / convs.first().unwrap());
        }
        assert!(readme.contains(&row), "README lacks `{row}`");
    }
}

/// One initializer's rows of a committed `analyze-d<D>.csv`.
fn analysis(depth: usize, init: &str) -> Vec<std::collections::HashMap<String, String>> {
    let path = repo().join(format!("results/reproduction/analyze/analyze-d{depth}.csv"));
    let mut rows = vec![];
    for r in csv::Reader::from_path(&path).unwrap().deserialize() {
        let r: std::collections::HashMap<String, String> = r.unwrap();
        if r["init"] == init {
            rows.push(r);
        }
    }
    assert!(!rows.is_empty(), "{}: no {init} rows", path.display());
    rows
}

/// Column `key` of a row, as a number.
fn num(row: &std::collections::HashMap<String, String>, key: &str) -> f64 {
    row[key].parse().unwrap()
}

/// The largest relative error of a one-step prediction (`fwd` or `bwd`) over the layers.
fn worst_onestep(rows: &[std::collections::HashMap<String, String>], dir: &str) -> f64 {
    let (pred, meas) = (format!("{dir}_onestep"), format!("{dir}_std"));
    rows.iter()
        .map(|r| (num(r, &pred) - num(r, &meas)).abs() / num(r, &meas))
        .fold(0.0, f64::max)
}

#[test]
fn readme_variance_numbers_are_the_committed_analysis() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let (x, m) = (analysis(30, "xavier"), analysis(30, "msra"));
    let conv = |rows: &[std::collections::HashMap<String, String>]| {
        let c: Vec<f64> = rows
            .iter()
            .filter(|r| r["name"].contains("conv"))
            .map(|r| num(r, "fwd_std"))
            .collect();
        c[c.len() - 1] / c[0]
    };
    let last_conv = |rows: &[std::collections::HashMap<String, String>]| {
        let r = rows.iter().rfind(|r| r["name"].contains("conv")).unwrap();
        num(r, "fwd_product") / num(r, "fwd_std")
    };
    let first_bwd = |rows: &[std::collections::HashMap<String, String>]| {
        num(&rows[0], "bwd_product") / num(&rows[0], "bwd_std")
    };
    let pct = |v: f64| format!("{:.0}%", 100.0 * v);
    let quoted = [
        format!(
            "std is {:.1e} of the first's under Xavier and {:.2} under MSRA",
            conv(&x),
            conv(&m)
        ),
        format!(
            "forward within {} for Xavier and {} for MSRA, backward within {}",
            pct(worst_onestep(&x, "fwd")),
            pct(worst_onestep(&m, "fwd")),
            pct(worst_onestep(&x, "bwd").max(worst_onestep(&m, "bwd")))
        ),
        format!(
            "at 22 layers MSRA's worst layer forward is {} off",
            pct(worst_onestep(&analysis(22, "msra"), "fwd"))
        ),
        format!(
            "overestimates by up to {:.0} times at the first layer",
            first_bwd(&x).max(first_bwd(&m))
        ),
        format!(
            "overestimates MSRA's last conv layer {:.1} times",
            last_conv(&m)
        ),
    ];
    for q in quoted {
        assert!(readme.contains(&q), "README lacks `{q}`");
    }
}

/// README's learning-rate sentence is the committed `results/lr` runs' numbers: per depth,
/// the final full-test error (or `diverged`) at lr 0.01, 0.003 and 0.001.
#[test]
fn readme_learning_rate_errors_are_what_the_committed_lr_runs_give() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for depth in [22, 30] {
        let error = |suffix: &str| {
            let s = common::read_json(&repo().join(format!(
                "results/lr/runs/d{depth}-msra-relu{suffix}-s0/summary.json"
            )));
            match s["diverged"].as_bool().unwrap() {
                true => "diverged".to_string(),
                false => format!("{:.3}", s["final_full_test_error"].as_f64().unwrap()),
            }
        };
        let quoted = format!(
            "{depth} layers: {} at lr 0.01, {} at 0.003, {} at 0.001",
            error("-lr0.01"),
            error("-lr0.003"),
            error("")
        );
        assert!(readme.contains(&quoted), "README lacks `{quoted}`");
    }
}

/// README's trainable-depth table is the committed depth sweep's: `plot` redraws the
/// committed runs into a fresh folder, its `depth-sweep.md` must equal the committed one,
/// and every row of that table must appear in README.md verbatim.
#[test]
fn readme_depth_sweep_table_is_what_the_committed_runs_give() {
    let committed = repo().join("results/depth-sweep");
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let tmp = replot(&committed);
    let fresh = std::fs::read_to_string(tmp.path().join("depth-sweep.md")).unwrap();
    let kept = std::fs::read_to_string(committed.join("depth-sweep.md")).unwrap();
    assert_eq!(
        fresh, kept,
        "depth-sweep.md is stale: rerun `experiments plot results/depth-sweep`"
    );
    let rows: Vec<&str> = kept
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| weight layers"))
        .collect();
    assert_eq!(rows.len(), 7, "one row per depth, 6 to 50: {kept}");
    for row in rows {
        assert!(
            readme.contains(row),
            "README lacks `{row}` from depth-sweep.md"
        );
    }
}

/// README's longer strong-decay runs: the sentence on each complete one is its summary's,
/// and its `train.csv` starts with the strong-decay protocol's run of the same name, row
/// for row (the length of a run does not enter its training).
#[test]
fn readme_long_strong_decay_runs_are_the_committed_ones() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let long = repo().join("results/strongdecay-long/runs");
    let mut compared = 0;
    for seed in 0..3 {
        let run = long.join(format!("d30-xavier-relu-wd0.005-s{seed}"));
        if !run.join("summary.json").exists() {
            continue;
        }
        let s = common::read_json(&run.join("summary.json"));
        let loss = s["final_train_loss"].as_f64().unwrap();
        let quoted = match s["left_chance"].as_object() {
            Some(left) => format!(
                "Seed {seed} left chance at epoch {:.2} (iteration {}), its training loss \
                 {loss:.4} half an epoch later",
                left["epoch"].as_f64().unwrap(),
                left["iteration"].as_u64().unwrap(),
            ),
            None => format!(
                "Seed {seed} never left chance in {:.0} epochs, its training loss {loss:.4} \
                 at the end",
                s["epochs"].as_f64().unwrap(),
            ),
        };
        assert!(readme.contains(&quoted), "README lacks `{quoted}`");
        let protocol = repo()
            .join("results/reproduction-strongdecay/runs")
            .join(run.file_name().unwrap())
            .join("train.csv");
        let short = std::fs::read_to_string(protocol).unwrap();
        let longer = std::fs::read_to_string(run.join("train.csv")).unwrap();
        assert!(
            longer.len() > short.len() && longer.starts_with(&short),
            "seed {seed}: the long run does not start with the protocol's rows"
        );
        compared += 1;
    }
    assert!(compared >= 1, "no complete long run");
}

/// README's table of `results/paperhead-long` (MSRA with the paper's fc head, trained
/// until it leaves chance): one row per committed run, from its `summary.json`; and
/// seed 0's first 938 iterations are the stall grid's 2-epoch run of the same name,
/// row for row, as README says.
#[test]
fn readme_paperhead_long_rows_are_the_runs_summaries() {
    use experiments::store::records::{read_json, Summary};
    let runs = repo().join("results/paperhead-long/runs");
    let readme = Readme::read();
    let mut names: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| runs.join(n).join("summary.json").exists())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    let (mut iterations, mut seeds) = (vec![], vec![]);
    for name in &names {
        let s: Summary = read_json(&runs.join(name).join("summary.json")).unwrap();
        let left = s.left_chance.map_or("never | –".to_string(), |l| {
            format!("{} | {:.2}", l.iteration, l.epoch)
        });
        let row = format!(
            "| `{name}` | {left} | {:.2} | {:.4} |",
            s.epochs,
            s.final_full_test_error.unwrap()
        );
        readme.has_row(&row);
        iterations.push(
            s.left_chance
                .map_or("never".into(), |l| l.iteration.to_string()),
        );
        seeds.push(name.rsplit("-s").next().unwrap().to_string());
    }
    let and = |v: &[String]| match v.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => v.join(""),
    };
    let said = format!(
        "left chance at iterations {} (seeds {})",
        and(&iterations),
        and(&seeds)
    );
    readme.has(&said);
    let train = |dir: &str| {
        std::fs::read_to_string(
            repo()
                .join(dir)
                .join("d30-msra-relu-paperhead-s0/train.csv"),
        )
        .unwrap()
    };
    let (long, grid) = (
        train("results/paperhead-long/runs"),
        train("results/stall/runs"),
    );
    assert_eq!(grid.lines().count(), 939);
    assert!(
        long.starts_with(&grid),
        "seed 0 is not the stall grid's run"
    );
}

/// README's account of seed 2's stall with the paper's head: `fc3`'s turn after the first
/// epoch and before the exit, its norm over decay alone, the other layers' largest turn,
/// and what training `fc3` alone, and every layer but one, does to the first layer's
/// gradient, all read from `results/paperhead-long/drift.csv`.
#[test]
fn readme_paperhead_long_drift_is_the_committed_report() {
    let rows: Vec<LayerRow> = layer_rows("paperhead-long")
        .into_iter()
        .filter(|r| r["run"] == "d30-msra-relu-paperhead-s2")
        .collect();
    let at =
        |it: &str| -> Vec<&LayerRow> { rows.iter().filter(|r| r["iteration"] == it).collect() };
    let f = |r: &LayerRow, k: &str| r[k].parse::<f64>().unwrap();
    let fc3 = |it: &str| *at(it).iter().find(|r| r["name"] == "fc3.weight").unwrap();
    let late = at("6566");
    let others = late
        .iter()
        .filter(|r| r["name"] != "fc3.weight")
        .map(|r| turn(r))
        .fold(0.0, f64::max);
    let all_but = late
        .iter()
        .map(|r| f(r, "all_but"))
        .fold(f64::INFINITY, f64::min);
    let said = [
        format!("turned {:.2} degrees in the first epoch", turn(fc3("469"))),
        format!("{:.2} by iteration 6566", turn(fc3("6566"))),
        format!("{:.2} times decay alone's", f(fc3("6566"), "over_decay")),
        format!("turned by more than {others:.2} degrees"),
        format!("{:.0}-fold by then", f(fc3("6566"), "alone")),
        format!("together {all_but:.1}-fold"),
    ];
    let readme = Readme::read();
    for s in said {
        readme.has(&s);
    }
}
