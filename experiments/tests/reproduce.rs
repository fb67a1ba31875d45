//! `reproduce` on a fresh folder, shortened (a test flag): the plan first, the runs, the
//! figures and the claims report; `--resume` skips what is complete, and `--report`
//! regenerates the same report from the files.

mod common;

use common::run;

/// The flags that shorten the protocol to seconds: seed 0, 5% of its epochs on 1024
/// training images, into `out`.
fn shortened(out: &str) -> [&str; 12] {
    [
        "--seeds",
        "0",
        "--out",
        out,
        "--epoch-scale",
        "0.05",
        "--train-size",
        "1024",
        "--eval-size",
        "100",
        "--test-size",
        "500",
    ]
}

#[test]
fn a_shortened_reproduction_trains_plots_and_reports_the_claims() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("repro");
    let out_s = out.to_str().unwrap();
    let short = shortened(out_s);
    let mut args = vec!["reproduce", "--plan"];
    args.extend(short);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plan = String::from_utf8_lossy(&o.stderr);
    for name in [
        "d22-xavier-relu-n1024-s0",
        "d22-msra-relu-n1024-s0",
        "d30-xavier-relu-n1024-s0",
        "d30-msra-relu-n1024-s0",
    ] {
        assert!(plan.contains(name), "{name} not in the plan:\n{plan}");
    }
    assert!(plan.contains("estimate: about"), "{plan}");
    assert!(!out.join("runs").exists(), "--plan trains nothing");

    let o = run(&[&["reproduce"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "depth-22.png",
        "depth-22.svg",
        "depth-30.png",
        "depth-30.svg",
        "CLAIMS.md",
        "claims.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let claims = common::read_json(&out.join("claims.json"));
    let list = claims["claims"].as_array().unwrap();
    assert_eq!(list.len(), 6, "the six claims of the spec");
    for c in list {
        let seeds = c["seeds"].as_array().unwrap();
        assert_eq!(seeds.len(), 1);
        assert!(seeds[0]["holds"].is_boolean(), "every run is complete: {c}");
        assert!(c["verdict"].as_str().unwrap().starts_with("holds on"));
    }
    let md = std::fs::read_to_string(out.join("CLAIMS.md")).unwrap();
    assert_eq!(
        md.matches("\n| ").count(),
        1 + 6,
        "header and six rows:\n{md}"
    );

    // Complete runs are skipped; the report is the same when made again from the files.
    let o = run(&[&["reproduce", "--resume"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr)
            .matches("already complete, skipped")
            .count(),
        4
    );
    std::fs::remove_file(out.join("CLAIMS.md")).unwrap();
    let o = run(&[&["reproduce", "--report"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read_to_string(out.join("CLAIMS.md")).unwrap(), md);
}

/// `--protocol paper-like` trains the same grid without momentum (`-m0` runs) and reports
/// the claims on those runs alone: the spec's report on the same folder finds none of its
/// runs there.
#[test]
fn the_paper_like_protocol_trains_without_momentum_and_reports_on_its_own_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("paperlike");
    let short = shortened(out.to_str().unwrap());
    let o = run(&[&["reproduce", "--protocol", "paper-like"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in [
        "d22-xavier-relu-m0-n1024-s0",
        "d22-msra-relu-m0-n1024-s0",
        "d30-xavier-relu-m0-n1024-s0",
        "d30-msra-relu-m0-n1024-s0",
    ] {
        let config = common::read_json(&out.join("runs").join(name).join("config.json"));
        assert_eq!(config["run"]["momentum"].as_f64(), Some(0.0), "{name}");
    }
    let claims = common::read_json(&out.join("claims.json"));
    assert_eq!(claims["protocol"], "paper-like");
    for c in claims["claims"].as_array().unwrap() {
        assert!(
            c["seeds"][0]["holds"].is_boolean(),
            "every run is complete: {c}"
        );
    }
    let md = std::fs::read_to_string(out.join("CLAIMS.md")).unwrap();
    assert!(md.starts_with("# The paper's claims, checked under the paper-like protocol"));

    let o = run(&[&["reproduce", "--report"], &short[..]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let claims = common::read_json(&out.join("claims.json"));
    assert_eq!(claims["protocol"], "spec");
    let list = claims["claims"].as_array().unwrap();
    for c in &list[..5] {
        let verdict = c["verdict"].as_str().unwrap();
        assert!(verdict.starts_with("pending"), "no spec run here: {c}");
    }
    assert_eq!(claims["complete_runs"], 0);
}
