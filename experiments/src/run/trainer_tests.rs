//! Trainer: a run started, stepped, stopped and resumed on a tiny random data set.

use super::*;
use crate::cli::Cli;
use crate::data::Split;
use crate::store::records::read_csv;
use clap::Parser;

/// 40 training and 24 test images of 28x28 random pixels.
fn data() -> Dataset {
    let split = |n: usize, seed: u32| {
        let mut s = seed;
        let mut byte = || {
            s = s.wrapping_mul(1664525).wrapping_add(1013904223);
            (s >> 24) as u8
        };
        Split {
            pixels: (0..n * 784).map(|_| byte()).collect(),
            labels: (0..n).map(|_| byte() as usize % 10).collect(),
            h: 28,
            w: 28,
            files: vec![],
        }
    };
    Dataset {
        train: split(40, 1),
        test: split(24, 2),
        mean: 0.5,
        std: 0.29,
    }
}

fn spec() -> RunSpec {
    let args = [
        "experiments",
        "--depth",
        "4",
        "--width",
        "4,4,8",
        "--fc-width",
        "16",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--eval-every",
        "0.5",
        "--eval-size",
        "24",
    ];
    Cli::try_parse_from(args)
        .unwrap()
        .train
        .runs()
        .unwrap()
        .remove(0)
}

/// Asks to stop after `at` steps, counting what it saw.
struct StopAt(usize, usize);

impl Observer for StopAt {
    fn step(&mut self, _: &Trainer, _: f32) {
        self.1 += 1;
    }
    fn stop_requested(&self) -> bool {
        self.1 + 1 >= self.0
    }
}

#[test]
fn a_run_takes_its_steps_evaluates_on_schedule_and_summarises() {
    let (data, r) = (data(), spec());
    let tmp = tempfile::tempdir().unwrap();
    let t = Trainer::start(&r, &data, tmp.path(), &[], Default::default()).unwrap();
    // 40 images in batches of 16: 3 steps an epoch, 6 in all; evaluations every 2.
    assert_eq!((t.total(), t.iteration()), (6, 0));
    let Outcome::Finished(s) = t.run(&mut Quiet).unwrap() else {
        panic!("stopped")
    };
    assert_eq!((s.iterations, s.epochs), (6, 2.0));
    let evals: Vec<EvalRow> = read_csv(&tmp.path().join("eval.csv")).unwrap();
    let at: Vec<usize> = evals.iter().map(|e| e.iteration).collect();
    assert_eq!(at, [0, 2, 4, 6]);
    assert_eq!(s.final_test_error, evals[3].test_error);
    let rows: Vec<TrainRow> = read_csv(&tmp.path().join("train.csv")).unwrap();
    assert_eq!(s.final_train_loss, metrics::tail_loss(&rows));
    assert!(tmp.path().join(checkpoint::FILE).exists());
}

#[test]
fn a_stopped_run_resumed_from_its_checkpoint_ends_as_an_uninterrupted_one() {
    let (data, r) = (data(), spec());
    let (whole, parts) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let t = Trainer::start(&r, &data, whole.path(), &[], Default::default()).unwrap();
    let Outcome::Finished(a) = t.run(&mut Quiet).unwrap() else {
        panic!("stopped")
    };
    let t = Trainer::start(&r, &data, parts.path(), &[], Default::default()).unwrap();
    let outcome = t.run(&mut StopAt(4, 0)).unwrap();
    assert!(
        matches!(outcome, Outcome::Stopped { iteration: 4 }),
        "{outcome:?}"
    );
    let floats = r.build_net().unwrap().num_params();
    let ck = Checkpoint::read(&parts.path().join(checkpoint::FILE), floats).unwrap();
    assert_eq!(ck.iteration, 4);
    let t = Trainer::resume(&r, &data, parts.path(), &[], Default::default(), ck).unwrap();
    let Outcome::Finished(b) = t.run(&mut Quiet).unwrap() else {
        panic!("stopped")
    };
    assert_eq!(
        (a.final_test_error, a.final_train_loss, a.iterations),
        (b.final_test_error, b.final_train_loss, b.iterations)
    );
    for file in ["train.csv", "eval.csv", checkpoint::FILE] {
        let read = |d: &Path| std::fs::read(d.join(file)).unwrap();
        if file == checkpoint::FILE {
            // The training time differs; the weights and momentum must not.
            let (x, y) = (
                Checkpoint::read(&whole.path().join(file), floats).unwrap(),
                Checkpoint::read(&parts.path().join(file), floats).unwrap(),
            );
            assert_eq!(
                (x.params, x.velocity, x.order),
                (y.params, y.velocity, y.order)
            );
        } else {
            assert_eq!(read(whole.path()), read(parts.path()), "{file}");
        }
    }
}
