//! Checkpoints: byte-exact round trips, every damage refused, atomic writes.

use super::*;
use crate::cli::Cli;
use clap::Parser;
use rand::{Rng, SeedableRng};

fn example(with_velocity: bool) -> Checkpoint {
    let args = Cli::try_parse_from(["experiments", "--depth", "6"])
        .unwrap()
        .train;
    let run = args.runs().unwrap().remove(0);
    let t = |shape: &[usize], k: f32| {
        let n: usize = shape.iter().product();
        let values = (0..n).map(|i| k * i as f32 - 0.5).collect();
        Tensor::from_shape_vec(shape.to_vec(), values).unwrap()
    };
    let params = vec![
        ("stage1.conv1.weight".to_string(), t(&[4, 1, 3, 3], 0.1)),
        ("stage1.conv1.bias".to_string(), t(&[4], -0.2)),
        ("fc1.weight".to_string(), t(&[10, 36], 1e-3)),
    ];
    let velocity = if with_velocity {
        params.iter().map(|(_, p)| p.mapv(|v| v * 0.5)).collect()
    } else {
        vec![]
    };
    Checkpoint {
        iteration: 1234,
        run,
        data: vec![FileSum {
            path: "data/fashion-mnist/train-images-idx3-ubyte.gz".into(),
            sha256: "ab".repeat(32),
        }],
        params,
        velocity,
        order: vec![3, 1, 0, 2],
        shuffle_word_pos: (1u128 << 70) + 17,
        train_time_s: 12.5,
    }
}

#[test]
fn bytes_round_trip_exactly() {
    for v in [false, true] {
        let ck = example(v);
        assert_eq!(Checkpoint::from_bytes(&ck.to_bytes()).unwrap(), ck);
    }
}

#[test]
fn a_difference_in_configuration_or_data_is_named() {
    let ck = example(true);
    assert_eq!(ck.difference(&ck.run, &ck.data, ck.order.len()), None);
    let mut run = ck.run.clone();
    run.lr = 0.01;
    assert_eq!(
        ck.difference(&run, &ck.data, ck.order.len()).unwrap(),
        "lr: checkpoint 0.001, this run 0.01"
    );
    let mut data = ck.data.clone();
    data[0].sha256 = "cd".repeat(32);
    data[0].path = "elsewhere/train-images-idx3-ubyte.gz".into();
    assert_eq!(
        ck.difference(&ck.run, &data, ck.order.len()).unwrap(),
        "data file train-images-idx3-ubyte.gz has changed"
    );
}

#[test]
fn every_single_byte_flip_or_truncation_is_refused_without_panicking() {
    let bytes = example(true).to_bytes();
    for cut in (0..bytes.len()).step_by(7) {
        assert!(
            Checkpoint::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for _ in 0..2000 {
        let mut b = bytes.clone();
        let i = rng.random_range(0..b.len());
        b[i] ^= 1 << rng.random_range(0..8);
        // The checksum covers the metadata as well as the tensors: no flip gets through.
        assert!(Checkpoint::from_bytes(&b).is_err(), "flip at {i}");
    }
}

/// A checkpoint whose checksum is right is still refused if what it holds cannot be
/// resumed: a NaN weight or momentum, an image order that is not a permutation, or the
/// older format whose checksum did not cover its settings.
#[test]
fn checksummed_but_unusable_checkpoints_are_refused() {
    let err = |ck: Checkpoint| Checkpoint::from_bytes(&ck.to_bytes()).unwrap_err().0;
    let mut nan = example(true);
    nan.params[1].1[[2]] = f32::NAN;
    assert!(err(nan).contains("`stage1.conv1.bias` holds a NaN"));
    let mut inf = example(true);
    inf.velocity[2][[0, 0]] = f32::INFINITY;
    assert!(err(inf).contains("momentum of `fc1.weight`"));
    for order in [vec![0, 0, 1, 2], vec![0, 1, 2, 4]] {
        let mut ck = example(false);
        ck.order = order;
        assert!(err(ck).contains("not a permutation"));
    }
    let mut v1 = example(false).to_bytes();
    let at = v1
        .windows(13)
        .position(|w| w == b"\"version\":\"2\"")
        .expect("the version field");
    v1[at + 11] = b'1';
    let e = Checkpoint::from_bytes(&v1).unwrap_err().0;
    assert!(e.contains("version 1"), "{e}");
}

#[test]
fn write_is_atomic_and_replaces_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE);
    let mut ck = example(false);
    ck.write(&path).unwrap();
    ck.iteration = 5;
    ck.write(&path).unwrap();
    let floats = ck.params.iter().map(|(_, t)| t.len()).sum();
    assert_eq!(Checkpoint::read(&path, floats).unwrap().iteration, 5);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
    let err = Checkpoint::read(&dir.path().join("missing"), floats).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
}
