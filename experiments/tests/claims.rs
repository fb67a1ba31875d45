//! The claims report is generated, never typed: `reproduce --report` on the committed runs
//! of `results/reproduction/` writes `CLAIMS.md` and `claims.json` identical to the
//! committed ones (regenerate and commit them whenever a run is added).

mod common;

use common::run;
use std::path::Path;

#[test]
fn the_committed_claims_report_is_what_the_committed_runs_give() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/reproduction");
    let tmp = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(committed.join("runs")).unwrap() {
        let run_dir = e.unwrap().path();
        if !run_dir.is_dir() {
            continue; // lock files
        }
        let to = tmp.path().join("runs").join(run_dir.file_name().unwrap());
        std::fs::create_dir_all(&to).unwrap();
        for f in ["config.json", "train.csv", "eval.csv", "summary.json"] {
            if run_dir.join(f).exists() {
                std::fs::copy(run_dir.join(f), to.join(f)).unwrap();
            }
        }
    }
    let out = tmp.path().to_str().unwrap();
    let o = run(&["reproduce", "--report", "--out", out]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["CLAIMS.md", "claims.json"] {
        assert_eq!(
            std::fs::read_to_string(tmp.path().join(f)).unwrap(),
            std::fs::read_to_string(committed.join(f)).unwrap(),
            "results/reproduction/{f} is not what the committed runs give: regenerate it with `experiments reproduce --report`"
        );
    }
}
