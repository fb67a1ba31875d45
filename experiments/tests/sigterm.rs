//! SIGTERM, what a scheduler sends to preempt a job, at five points of a run: before its
//! first checkpoint, mid-epoch, during an evaluation, during a checkpoint write, and
//! right after its last step. Each leaves a run that `--resume` finishes bit-identical to
//! one never interrupted.

mod common;

use common::resumable::*;
use std::process::{Command, Stdio};

/// Where to send the signal: the line to wait for, and the test hook that makes the
/// moment last (an environment variable).
const POINTS: [(&str, &str, Option<&str>); 5] = [
    ("before the first checkpoint", " it 2/48 ", None),
    ("mid-epoch", " it 24/48 ", None),
    (
        "during an evaluation",
        "evaluation: started",
        Some("DELVE_TEST_SLOW_EVAL"),
    ),
    (
        "during a checkpoint write",
        "checkpoint: half written",
        Some("DELVE_TEST_SLOW_CHECKPOINT"),
    ),
    ("right after the last step", " it 48/48 ", None),
];

#[test]
fn sigterm_at_five_points_leaves_a_run_that_resumes_to_the_uninterrupted_one() {
    let reference = reference();
    for (what, line, hook) in POINTS {
        let out = tempfile::tempdir().unwrap();
        let mut c = command(out.path(), &["--resume"]);
        if let Some(var) = hook {
            c.env(var, "1");
        }
        let mut child = c
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        assert!(wait_for(&mut child, line), "{what}: never saw `{line}`");
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut rest).unwrap();
        let code = child.wait().unwrap().code();
        // The last step may be past: the run then completes (0); otherwise it checkpoints
        // and exits 143.
        match code {
            Some(143) => assert!(rest.contains("continue with --resume"), "{what}: {rest}"),
            Some(0) => assert_eq!(what, "right after the last step", "{rest}"),
            c => panic!("{what}: exit {c:?}: {rest}"),
        }
        assert_ok(&run(out.path(), &["--resume"]));
        assert_same_run(reference.path(), out.path());
    }
}
