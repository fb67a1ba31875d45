//! Beyond the paper: data-dependent initializers (LSUV calibrates on a batch of the run's
//! training images, recorded in config.json) and how deep each initializer goes (the depth
//! sweep figure of a grid of three or more depths, and `analyze`'s view at init).

mod common;

use common::run;

#[test]
fn lsuv_trains_and_records_its_calibration() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = run(&[
        "--depth",
        "6",
        "--init",
        "lsuv",
        "--train-size",
        "256",
        "--epochs",
        "0.25",
        "--eval-size",
        "50",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let config = common::read_json(&tmp.path().join("runs/d6-lsuv-relu-n256-s0/config.json"));
    let cal = &config["calibration"];
    assert_eq!(cal["images"].as_array().unwrap().len(), 128);
    assert!(cal["images"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i.as_u64().unwrap() < 256));
    assert_eq!(
        cal["per_layer"].as_array().unwrap().len(),
        6,
        "one entry per weight layer"
    );
}

#[test]
fn analyze_shows_lsuv_at_unit_variance_and_draws_the_depth_view() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = run(&[
        "analyze",
        "--depth",
        "6,10,14",
        "--init",
        "lsuv,xavier,delta_orthogonal",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("analyze/depth-view.png").exists());
    let csv = std::fs::read_to_string(tmp.path().join("analyze/analyze-d14.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (init, name, fwd) = (col("init"), col("name"), col("fwd_std"));
    let mut convs = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        if f[init] == "lsuv" && f[name].contains("conv") {
            let std: f64 = f[fwd].parse().unwrap();
            assert!((std - 1.0).abs() < 0.1, "{}: output std {std}", f[name]);
            convs += 1;
        }
    }
    assert_eq!(convs, 11, "every conv layer of the 14-layer net");
}

#[test]
fn a_grid_of_three_depths_draws_the_depth_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().to_str().unwrap();
    let o = run(&[
        "--depth",
        "4,5,6",
        "--init",
        "xavier,msra",
        "--train-size",
        "256",
        "--epochs",
        "0.5",
        "--eval-size",
        "50",
        "--out",
        out,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["depth-sweep.png", "depth-sweep.svg", "depth-sweep.md"] {
        assert!(tmp.path().join(f).exists(), "{f} missing");
    }
    // The table: one row per depth, one column per initializer, a number in every cell.
    let table = std::fs::read_to_string(tmp.path().join("depth-sweep.md")).unwrap();
    assert!(
        table.contains("| weight layers | xavier | msra |"),
        "{table}"
    );
    for d in [4, 5, 6] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| {d} |")))
            .unwrap_or_else(|| panic!("no row for depth {d}: {table}"));
        assert_eq!(row.matches(", left chance ").count(), 2, "{row}");
    }
    std::fs::remove_file(tmp.path().join("depth-sweep.png")).unwrap();
    std::fs::remove_file(tmp.path().join("depth-sweep.md")).unwrap();
    let o = run(&["plot", out]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        tmp.path().join("depth-sweep.png").exists(),
        "plot redraws it"
    );
    let again = std::fs::read_to_string(tmp.path().join("depth-sweep.md")).unwrap();
    assert_eq!(again, table, "plot rewrites the same table");
}
