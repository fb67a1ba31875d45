//! Runs that survive: SIGKILL at random points and Ctrl-C, then `--resume`, must give the
//! same CSVs and weights, bit for bit, as a run never interrupted; checkpoints from
//! another configuration, damaged checkpoints, full and read-only disks are refused with
//! one line and exit code 2, and nothing already written changes.

mod common;

use common::copy_dir;
use common::resumable::*;
use experiments::store::checkpoint;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[test]
fn sigkill_at_random_points_then_resume_gives_the_uninterrupted_run() {
    let reference = reference();
    let out = tempfile::tempdir().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    // Kill positions: at once (before any checkpoint), after progress lines at random
    // steps plus a random delay, and in the middle of writing a checkpoint.
    let mut positions = vec![0usize];
    let mut at = 0;
    for _ in 0..4 {
        at += 2 * rng.random_range(1..=4);
        positions.push(at);
    }
    let mut killed = 0;
    for &p in &positions {
        let mut child = spawn(out.path(), false);
        if p > 0 && !wait_for(&mut child, &format!(" it {p}/48 ")) {
            child.wait().unwrap();
            continue; // finished before the kill: nothing to kill
        }
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(0..30)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed += 1;
        checkpoint_iteration(out.path());
    }
    // In the middle of a checkpoint write: the previous checkpoint must survive whole.
    let before = checkpoint_iteration(out.path());
    let mut child = spawn(out.path(), true);
    assert!(wait_for(&mut child, "checkpoint: half written"));
    child.kill().unwrap();
    child.wait().unwrap();
    killed += 1;
    let tmp = out
        .path()
        .join(RUN)
        .join(format!("{}.tmp", checkpoint::FILE));
    assert!(tmp.exists(), "the kill landed inside a checkpoint write");
    assert_eq!(checkpoint_iteration(out.path()), before);
    assert!(killed >= 5, "only {killed} kills landed");

    assert_ok(&run(out.path(), &["--resume"]));
    assert_same_run(reference.path(), out.path());
    // A complete run is skipped by --resume, its files untouched.
    let files = snapshot(&out.path().join(RUN));
    let o = run(out.path(), &["--resume"]);
    assert_ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("already complete, skipped"));
    assert_eq!(snapshot(&out.path().join(RUN)), files);
    // ... but a finished run of another length is not silently taken as done.
    let o = run(out.path(), &["--resume", "--epochs", "4"]);
    assert_one_line_error(&o, "epochs: finished run 3");
    assert_eq!(snapshot(&out.path().join(RUN)), files);
}

/// SIGINT (Ctrl-C), SIGTERM (what Slurm sends before a time limit or preemption) and
/// SIGHUP each finish the step, checkpoint and exit with 128 + the signal; the run resumes
/// to the uninterrupted run, bit for bit.
#[test]
fn a_signal_checkpoints_and_exits_128_plus_it_and_resume_finishes_identically() {
    let reference = reference();
    for (signal, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out = tempfile::tempdir().unwrap();
        let mut child = spawn(out.path(), false);
        assert!(wait_for(&mut child, " it 20/48 "));
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let mut rest = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut rest).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "SIG{signal}: {rest}");
        assert!(rest.contains("continue with --resume"), "{rest}");
        let it = checkpoint_iteration(out.path()).unwrap();
        assert!((20..48).contains(&it), "SIG{signal}: checkpoint at {it}");
        let train = std::fs::read_to_string(out.path().join(RUN).join("train.csv")).unwrap();
        assert_eq!(
            train.lines().count(),
            it + 1,
            "train.csv holds every step up to {it}"
        );

        // Without --resume or --overwrite the partial run is not clobbered.
        let files = snapshot(&out.path().join(RUN));
        assert_one_line_error(&run(out.path(), &[]), "pass --resume");
        assert_eq!(snapshot(&out.path().join(RUN)), files);

        assert_ok(&run(out.path(), &["--resume"]));
        assert_same_run(reference.path(), out.path());
        // Two processes made the run: the summary's provenance has a segment for each.
        let summary = common::read_json(&out.path().join(RUN).join("summary.json"));
        let from: Vec<u64> = summary["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["from"].as_u64().unwrap())
            .collect();
        assert_eq!(from, [0, it as u64], "SIG{signal}");
    }
}

/// Two processes, one run: the second is refused with a line naming the first (its pid),
/// exits 2 and changes nothing; the first finishes as if alone; a later `--resume` skips
/// the complete run. (The first is slowed by pausing in each checkpoint write.)
#[test]
fn a_run_held_by_another_process_is_refused_and_left_alone() {
    let reference = reference();
    let out = tempfile::tempdir().unwrap();
    let mut first = spawn(out.path(), true);
    assert!(wait_for(&mut first, " it 20/48 "));
    let second = run(out.path(), &["--resume"]);
    assert_one_line_error(&second, "held by other processes and left alone");
    let err = String::from_utf8_lossy(&second.stderr);
    let holder = format!("held by another process (pid {} on ", first.id());
    assert!(err.contains(&holder), "{err}");
    let mut rest = String::new();
    std::io::Read::read_to_string(first.stderr.as_mut().unwrap(), &mut rest).unwrap();
    assert!(first.wait().unwrap().success(), "{rest}");
    assert_same_run(reference.path(), out.path());
    let again = run(out.path(), &["--resume"]);
    assert_ok(&again);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already complete, skipped"));
    assert_same_run(reference.path(), out.path());
}

/// A run interrupted after its first epoch's checkpoint (SIGKILL after step 20).
fn partial_run() -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let mut child = spawn(out.path(), false);
    assert!(wait_for(&mut child, " it 20/48 "));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(checkpoint_iteration(out.path()).is_some());
    out
}

#[test]
fn damaged_or_foreign_checkpoints_are_refused_and_nothing_changes() {
    let out = partial_run();
    let dir = out.path().join(RUN);
    let ck_path = dir.join(checkpoint::FILE);
    let files = snapshot(&dir);

    // Settings a run name does not carry (what is observed) differ: the difference is
    // named. (Those that change training are in the name, so they make another run.)
    let o = run(out.path(), &["--resume", "--epochs", "4"]);
    assert_one_line_error(&o, "epochs: checkpoint 3");
    assert_eq!(snapshot(&dir), files);

    // A log that ends before the checkpoint: the gap is refused, the log named.
    let train = dir.join("train.csv");
    let log = std::fs::read_to_string(&train).unwrap();
    let short: Vec<&str> = log.lines().take(5).collect();
    std::fs::write(&train, short.join("\n") + "\n").unwrap();
    let before = snapshot(&dir);
    let o = run(out.path(), &["--resume"]);
    assert_one_line_error(
        &o,
        "train.csv: its last row is iteration 4, before the checkpoint's",
    );
    assert_eq!(snapshot(&dir), before, "a short log: files changed");
    std::fs::write(&train, log).unwrap();

    let good = std::fs::read(&ck_path).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let damaged: [(&str, Vec<u8>, &str); 4] = [
        ("a flipped byte", flipped, "checksum mismatch"),
        (
            "truncated",
            good[..good.len() - 100].to_vec(),
            "not a valid delve checkpoint",
        ),
        ("empty", vec![], "not a valid delve checkpoint"),
        (
            "another file",
            b"iteration,epoch\n1,2\n".to_vec(),
            "not a valid delve checkpoint",
        ),
    ];
    for (what, bytes, needle) in damaged {
        std::fs::write(&ck_path, &bytes).unwrap();
        let before = snapshot(&dir);
        let o = run(out.path(), &["--resume"]);
        assert_one_line_error(&o, needle);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(checkpoint::FILE),
            "{what}: the file is named"
        );
        assert_eq!(snapshot(&dir), before, "{what}: files changed");
    }
}

/// The output of `c`, which must end within a minute (it is killed, and the test fails,
/// if it waits on something instead).
fn output_within_a_minute(mut c: Command) -> std::process::Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("still running after a minute: {c:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_checkpoint_that_is_a_pipe_or_too_large_is_refused_unread() {
    let out = partial_run();
    let dir = out.path().join(RUN);
    let ck_path = dir.join(checkpoint::FILE);
    let export = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_experiments"));
        c.arg("export").arg(&dir);
        c
    };
    // A sparse file of a terabyte: refused by its size, never read.
    std::fs::remove_file(&ck_path).unwrap();
    let f = std::fs::File::create(&ck_path).unwrap();
    f.set_len(1 << 40).unwrap();
    let needle = "1099511627776 bytes, more than a checkpoint of its run can take";
    assert_one_line_error(
        &output_within_a_minute(command(out.path(), &["--resume"])),
        needle,
    );
    assert_one_line_error(&output_within_a_minute(export()), needle);
    // A pipe where the checkpoint should be: refused, not waited on.
    std::fs::remove_file(&ck_path).unwrap();
    let made = Command::new("mkfifo").arg(&ck_path).status().unwrap();
    assert!(made.success());
    let needle = "not a regular file";
    assert_one_line_error(
        &output_within_a_minute(command(out.path(), &["--resume"])),
        needle,
    );
    assert_one_line_error(&output_within_a_minute(export()), needle);
}

#[test]
fn export_writes_named_weights_that_read_back() {
    let out = reference();
    let run_dir = out.path().join(RUN);
    let o = Command::new(env!("CARGO_BIN_EXE_experiments"))
        .arg("export")
        .arg(&run_dir)
        .output()
        .unwrap();
    assert_ok(&o);
    let bytes = std::fs::read(run_dir.join("weights.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["format"], "delve-weights");
    assert_eq!(meta["complete"], "true");
    assert_eq!(meta["iteration"], "48");
    let ck = common::read_checkpoint(&run_dir.join(checkpoint::FILE)).unwrap();
    assert_eq!(st.len(), ck.params.len());
    for (name, value) in &ck.params {
        let v = st.tensor(name).unwrap();
        assert_eq!(v.dtype(), safetensors::Dtype::F32);
        assert_eq!(v.shape(), value.shape(), "{name}");
        let read: Vec<f32> = v
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(read, value.iter().copied().collect::<Vec<_>>(), "{name}");
    }
    let conv = st.tensor("stage1.conv1.weight").unwrap();
    assert_eq!(conv.shape(), &[16, 1, 3, 3]);

    let o = Command::new(env!("CARGO_BIN_EXE_experiments"))
        .args(["export", "/nonexistent/run"])
        .output()
        .unwrap();
    assert_one_line_error(&o, "no checkpoint");

    // Never over the run's own files, a folder or a device; a new file is fine.
    let files = snapshot(&run_dir);
    let export_to = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_experiments"))
            .arg("export")
            .arg(&run_dir)
            .arg("--output")
            .arg(out)
            .output()
            .unwrap()
    };
    let ck = run_dir.join(checkpoint::FILE);
    assert_one_line_error(&export_to(&ck), "is the run's own checkpoint.safetensors");
    assert_one_line_error(&export_to(&run_dir.join("train.csv")), "is the run's own");
    assert_one_line_error(&export_to(out.path()), "is not a regular file");
    assert_one_line_error(&export_to(Path::new("/dev/null")), "is not a regular file");
    assert_eq!(snapshot(&run_dir), files, "the run's files changed");
    assert_ok(&export_to(&out.path().join("elsewhere.safetensors")));
}

/// A small tmpfs mounted for one test and unmounted when dropped. Needs root (CI and these
/// machines run as root); elsewhere the tests that need one say so and return.
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(dir.path().to_path_buf(), dir))
    }

    fn read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_cleanly_and_the_run_resumes_elsewhere() {
    // A checkpoint of this net is 1.9 MB; writing the second one atomically needs room
    // for two, which 3 MB does not have.
    let Some(disk) = Tmpfs::mount("3m") else {
        return;
    };
    let o = run(&disk.0, &[]);
    assert_one_line_error(&o, "No space left on device");
    let it = checkpoint_iteration(&disk.0).expect("the first checkpoint is whole");
    assert!(it < 48);
    let tmp = disk.0.join(RUN).join(format!("{}.tmp", checkpoint::FILE));
    assert!(!tmp.exists(), "the partial copy is removed");

    let moved = tempfile::tempdir().unwrap();
    copy_dir(&disk.0, moved.path());
    assert_ok(&run(moved.path(), &["--resume"]));
    assert_same_run(reference().path(), moved.path());
}

#[test]
fn a_read_only_output_is_refused_and_left_alone() {
    let Some(disk) = Tmpfs::mount("16m") else {
        return;
    };
    copy_dir(partial_run().path(), &disk.0);
    disk.read_only();
    let files = snapshot(&disk.0.join(RUN));
    let o = run(&disk.0, &["--resume"]);
    assert_one_line_error(&o, "Read-only file system");
    let o = run(&disk.0.join("elsewhere"), &[]);
    assert_one_line_error(&o, "Read-only file system");
    assert_eq!(snapshot(&disk.0.join(RUN)), files);
}

#[test]
fn readme_states_the_bounds_the_readers_use() {
    use experiments::{data::MAX_IMAGES, store::HEADER_ROOM};
    assert!(MAX_IMAGES.is_power_of_two() && HEADER_ROOM.is_multiple_of(1 << 20));
    let said = format!(
        "the order of at most 2^{} images, a {} MiB header",
        MAX_IMAGES.trailing_zeros(),
        HEADER_ROOM >> 20
    );
    common::readme::Readme::read().has(&said);
}
