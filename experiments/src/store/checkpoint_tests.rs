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
    assert_eq!(ck.difference(&ck.run, &ck.data), None);
    let mut run = ck.run.clone();
    run.lr = 0.01;
    assert_eq!(
        ck.difference(&run, &ck.data).unwrap(),
        "lr: checkpoint 0.001, this run 0.01"
    );
    let mut data = ck.data.clone();
    data[0].sha256 = "cd".repeat(32);
    data[0].path = "elsewhere/train-images-idx3-ubyte.gz".into();
    assert_eq!(
        ck.difference(&ck.run, &data).unwrap(),
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
        // Flips in the header's JSON may still parse (a changed digit in train_time_s);
        // the tensor bytes are covered by the checksum.
        let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        if i >= header {
            assert!(Checkpoint::from_bytes(&b).is_err(), "flip at {i}");
        } else {
            let _ = Checkpoint::from_bytes(&b);
        }
    }
}

#[test]
fn write_is_atomic_and_replaces_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE);
    let mut ck = example(false);
    ck.write(&path).unwrap();
    ck.iteration = 5;
    ck.write(&path).unwrap();
    assert_eq!(Checkpoint::read(&path).unwrap().iteration, 5);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "no temporary file is left behind");
    let err = Checkpoint::read(&dir.path().join("missing")).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
}
