//! The stall's factors as flags: Caffe-scaled inputs and the paper's fc head change the
//! run (and its name); `--stop-after-chance` ends a run that far after it left chance;
//! the summary gives where it left chance and how fast the first layer's gradient grew.

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
