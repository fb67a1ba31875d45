//! The CI smoke run of the fuzz targets: every committed seed under `fuzz/seeds/`, and a few
//! thousand seeded mutations of each, go through the same bodies `cargo fuzz` runs
//! (`experiments::fuzzing`). The long runs (a million executions and more) are done by hand.

use experiments::store::checkpoint::Checkpoint;
use experiments::store::records::FileSum;
use experiments::store::weights;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::{Path, PathBuf};

fn seed_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(seed_dir(target))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Byte flips, truncations, insertions and splices of `seed`, from a fixed seed.
fn mutations(seed: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed.len() as u64);
    (0..n)
        .map(|_| {
            let mut b = seed.to_vec();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..=b.len());
                match rng.random_range(0..4) {
                    0 if at < b.len() => b[at] ^= 1 << rng.random_range(0..8),
                    1 => b.truncate(at),
                    2 => b.insert(at, rng.random()),
                    _ if at < b.len() => b[at] = [0, 0xff, 0x7f, 0x80][rng.random_range(0..4)],
                    _ => {}
                }
            }
            b
        })
        .collect()
}

#[test]
fn idx_seeds_and_their_mutations_never_panic() {
    let seeds = seeds("idx");
    assert!(seeds.len() >= 4, "the idx seed corpus is missing");
    let valid = seeds
        .iter()
        .filter(|(name, _)| name.contains("valid"))
        .inspect(|(name, b)| {
            let ndims = 1 + usize::from(b[0] % 3);
            let path = Path::new(name);
            assert!(
                experiments::data::decode_idx(&b[1..], ndims, path).is_ok(),
                "{name}"
            );
        })
        .count();
    assert!(valid >= 2);
    for (_, seed) in &seeds {
        experiments::fuzzing::idx(seed);
        for m in mutations(seed, 1000) {
            experiments::fuzzing::idx(&m);
        }
    }
}

#[test]
fn checkpoint_seeds_and_their_mutations_never_panic() {
    let seeds = seeds("checkpoint");
    assert!(!seeds.is_empty(), "the checkpoint seed corpus is missing");
    for (name, seed) in &seeds {
        if name.contains("valid") {
            assert!(Checkpoint::from_bytes(seed).is_ok(), "{name}");
        }
        experiments::fuzzing::checkpoint(seed);
        for m in mutations(seed, 1000) {
            experiments::fuzzing::checkpoint(&m);
        }
    }
}

#[test]
fn weights_seeds_and_their_mutations_never_panic() {
    let seeds = seeds("weights");
    assert!(!seeds.is_empty(), "the weights seed corpus is missing");
    let names = experiments::fuzzing::WEIGHT_NAMES.map(String::from);
    for (name, seed) in &seeds {
        if name.contains("valid") {
            assert!(weights::from_bytes(seed, &names).is_ok(), "{name}");
        }
        experiments::fuzzing::weights(seed);
        for m in mutations(seed, 1000) {
            experiments::fuzzing::weights(&m);
        }
    }
}

#[test]
fn csv_seeds_and_their_mutations_never_panic() {
    let seeds = seeds("csv");
    assert!(seeds.len() >= 3, "the csv seed corpus is missing");
    for (name, seed) in &seeds {
        if name.contains("valid") {
            let at = seed.iter().position(|&b| b == 0).unwrap();
            let rows: Vec<experiments::store::records::TrainRow> =
                experiments::store::records::parse_csv(&seed[..at]).unwrap();
            assert!(!rows.is_empty(), "{name}");
        }
        experiments::fuzzing::csv(seed);
        for m in mutations(seed, 1000) {
            experiments::fuzzing::csv(&m);
        }
    }
}

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Rewrites `fuzz/seeds/` (run by hand: `cargo test -p experiments --test fuzz_seeds --
/// --ignored`). The first byte of an idx seed picks the dimensions: 0 → 1, 1 → 2, 2 → 3.
#[test]
#[ignore]
fn write_seed_corpora() {
    let labels = idx_bytes(&[6], &[0, 9, 3, 3, 7, 1]);
    let images = idx_bytes(&[2, 3, 2], &[0, 255, 17, 4, 8, 200, 1, 2, 3, 4, 5, 6]);
    let with_dims = |pick: u8, b: &[u8]| [&[pick][..], b].concat();
    let idx = [
        ("valid-labels", with_dims(0, &labels)),
        ("valid-images", with_dims(2, &images)),
        ("valid-images-gz", with_dims(2, &gzip(&images))),
        (
            "truncated-images",
            with_dims(2, &images[..images.len() - 3]),
        ),
        (
            "bad-magic",
            with_dims(1, &[0, 0, 9, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5]),
        ),
    ];
    std::fs::create_dir_all(seed_dir("idx")).unwrap();
    for (name, b) in idx {
        std::fs::write(seed_dir("idx").join(name), b).unwrap();
    }

    let args = ["experiments", "--depth", "6"];
    let cli = <experiments::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
    let run = cli.train.runs().unwrap().remove(0);
    let t = |shape: &[usize]| {
        let n: usize = shape.iter().product();
        tensor::Tensor::from_shape_vec(shape.to_vec(), (0..n).map(|i| i as f32 * 0.01).collect())
            .unwrap()
    };
    let params = vec![
        ("stage1.conv1.weight".to_string(), t(&[2, 1, 3, 3])),
        ("stage1.conv1.bias".to_string(), t(&[2])),
        ("fc1.weight".to_string(), t(&[3, 4])),
    ];
    std::fs::create_dir_all(seed_dir("weights")).unwrap();
    let exported = weights::to_bytes(&weights::Exported {
        iteration: 7,
        complete: false,
        run: &run,
        params: &params,
        normalisation: (0.286, 0.353),
    })
    .unwrap();
    std::fs::write(seed_dir("weights").join("valid"), exported).unwrap();
    let ck = Checkpoint {
        iteration: 7,
        run,
        data: vec![FileSum {
            path: "train-images-idx3-ubyte.gz".into(),
            sha256: "0".repeat(64),
        }],
        velocity: params.iter().map(|(_, p)| p.mapv(|v| -v)).collect(),
        params,
        order: vec![2, 0, 1],
        shuffle_word_pos: 96,
        train_time_s: 1.5,
    };
    std::fs::create_dir_all(seed_dir("checkpoint")).unwrap();
    std::fs::write(seed_dir("checkpoint").join("valid"), ck.to_bytes()).unwrap();
    let no_velocity = Checkpoint {
        velocity: vec![],
        ..ck
    };
    std::fs::write(
        seed_dir("checkpoint").join("valid-before-first-step"),
        no_velocity.to_bytes(),
    )
    .unwrap();
}
