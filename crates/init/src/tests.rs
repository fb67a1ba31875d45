//! Statistical tests of every registered initializer, and of the registry's parsing.

use super::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Specs that cover every registered name and every option.
const SPECS: &[&str] = &[
    "xavier",
    "xavier:dist=normal",
    "xavier:mode=fan_out",
    "glorot",
    "glorot:dist=normal",
    "msra",
    "msra:mode=fan_out",
    "msra:mode=fan_avg:dist=uniform",
    "msra:a=0.25",
    "msra:dist=truncated_normal",
    "lecun",
    "gaussian",
    "gaussian:std=0.05:dist=uniform",
    "orthogonal",
    "orthogonal:gain=1.4142",
    "delta_orthogonal",
    "delta_orthogonal:gain=1",
    "lsuv",
    "lsuv:tol=0.05:max_iter=3:base=msra",
];

fn mean_var(x: &ArrayD<f32>) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var)
}

#[test]
fn every_registered_name_is_covered_here() {
    for name in names() {
        assert!(
            SPECS.iter().any(|s| s.split(':').next() == Some(name)),
            "{name} has no statistical test: add \"{name}\" (and a spec with each of its options) to SPECS at the top of crates/init/src/tests.rs"
        );
    }
}

#[test]
fn sample_variance_matches_the_stated_variance_for_conv_and_linear_shapes() {
    let shapes: [(Vec<usize>, Fans); 3] = [
        (vec![256, 64, 3, 3], Fans::conv(64, 256, 3)),
        (vec![64, 256, 3, 3], Fans::conv(256, 64, 3)),
        (vec![256, 576], Fans::linear(576, 256)),
    ];
    for spec in SPECS {
        let init = by_name(spec).unwrap();
        for (k, (shape, fans)) in shapes.iter().enumerate() {
            let mut rng = ChaCha8Rng::seed_from_u64(k as u64);
            let w = init.sample(shape, *fans, &mut rng);
            assert_eq!(w.shape(), &shape[..]);
            let (mean, var) = mean_var(&w);
            let target = init.variance(*fans);
            assert!(
                (var / target - 1.0).abs() < 0.03,
                "{spec} {shape:?}: variance {var:.3e} vs stated {target:.3e}"
            );
            assert!(
                mean.abs() < 3.0 * (target / w.len() as f64).sqrt() + 1e-9,
                "{spec}: mean {mean}"
            );
            if init.dist() == Dist::Uniform {
                let bound = (3.0 * target).sqrt() as f32;
                assert!(
                    w.iter().all(|v| v.abs() <= bound * 1.000_001),
                    "{spec}: sample outside ±{bound}"
                );
            }
            if init.dist() == Dist::TruncatedNormal {
                let cut = 2.0 * (target / sample::TRUNCATED_VARIANCE).sqrt() as f32;
                assert!(
                    w.iter().all(|v| v.abs() <= cut * 1.000_001),
                    "{spec}: sample outside ±{cut}"
                );
            }
        }
    }
}

#[test]
fn fans_follow_the_spec() {
    let f = Fans::conv(16, 32, 3);
    assert_eq!((f.fan_in, f.fan_out, f.receptive), (144, 288, 9));
    let f = Fans::linear(576, 256);
    assert_eq!((f.fan_in, f.fan_out), (576, 256));
    assert_eq!(Fans::conv(2, 4, 3).by_mode(Mode::FanAvg), 27.0);
}

#[test]
fn the_papers_formulas() {
    let f = Fans::conv(16, 32, 3);
    let v = |s: &str, f: Fans| by_name(s).unwrap().variance(f);
    assert!((v("xavier", f) - 1.0 / 144.0).abs() < 1e-15);
    assert!((v("glorot", f) - 2.0 / (144.0 + 288.0)).abs() < 1e-15);
    assert!((v("msra", f) - 2.0 / 144.0).abs() < 1e-15); // eq. 10
    assert!((v("msra:mode=fan_out", f) - 2.0 / 288.0).abs() < 1e-15); // eq. 14
    assert!((v("msra:a=0.25", f) - 2.0 / (1.0625 * 144.0)).abs() < 1e-15); // eq. 15
    assert!((v("msra:a=auto", f.with_slope(0.25)) - v("msra:a=0.25", f)).abs() < 1e-15);
    assert!((v("msra:a=1", f) - v("xavier", f)).abs() < 1e-15); // a = 1 is the linear case
    assert!((v("gaussian", f) - 1e-4).abs() < 1e-15);
}

#[test]
fn orthogonal_rows_are_orthonormal_times_gain() {
    let init = by_name("orthogonal:gain=2").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let w = init.sample(&[16, 8, 3, 3], Fans::conv(8, 16, 3), &mut rng);
    let m = w
        .into_shape_with_order((16, 72))
        .unwrap()
        .mapv(|v| v as f64);
    let gram = m.dot(&m.t());
    for i in 0..16 {
        for j in 0..16 {
            let expected = if i == j { 4.0 } else { 0.0 };
            assert!(
                (gram[[i, j]] - expected).abs() < 1e-4,
                "gram[{i},{j}] = {}",
                gram[[i, j]]
            );
        }
    }
}

#[test]
fn specs_round_trip_in_canonical_form() {
    for (typed, canonical) in [
        ("msra", "msra"),
        ("msra:mode=fan_out", "msra:mode=fan_out"),
        ("msra:mode=fan_in", "msra"),
        ("msra:a=auto", "msra:a=auto"),
        ("xavier:dist=normal", "xavier:dist=normal"),
        ("gaussian:std=0.01", "gaussian"),
        (" glorot ", "glorot"),
    ] {
        let init = by_name(typed).unwrap();
        assert_eq!(init.spec(), canonical);
        assert_eq!(by_name(init.spec()).unwrap().spec(), canonical);
    }
}

#[test]
fn errors_name_what_exists() {
    let e = by_name("kaiming").unwrap_err().to_string();
    assert!(
        e.contains("unknown initializer `kaiming`") && e.contains("msra") && e.contains("xavier"),
        "{e}"
    );
    let e = by_name("msra:std=0.1").unwrap_err().to_string();
    assert!(
        e.contains("no option `std`") && e.contains("mode") && e.contains('a'),
        "{e}"
    );
    let e = by_name("msra:mode=sideways").unwrap_err().to_string();
    assert!(e.contains("fan_in, fan_out or fan_avg"), "{e}");
    let e = by_name("gaussian:std=-1").unwrap_err().to_string();
    assert!(e.contains("must be a positive number"), "{e}");
    let e = by_name("gaussian:std=nan").unwrap_err().to_string();
    assert!(e.contains("must be a positive number"), "{e}");
    for n in ["0", "1001", "99999999999"] {
        let e = by_name(&format!("lsuv:max_iter={n}"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a whole number from 1 to 1000"), "{e}");
    }
    assert!(by_name("lsuv:max_iter=1000").is_ok());
    let huge = by_name("gaussian:std=1000000000000000000000").unwrap();
    assert_eq!(huge.spec(), "gaussian:std=1e21", "a spec stays short");
    assert!(matches!(by_name("msra:mode"), Err(InitError::Malformed(_))));
    assert!(matches!(by_name(""), Err(InitError::Malformed(_))));
    assert!(matches!(
        by_name("msra:a=1:a=2"),
        Err(InitError::Malformed(_))
    ));
}

#[test]
fn same_seed_same_weights() {
    for spec in SPECS {
        let init = by_name(spec).unwrap();
        let f = Fans::conv(4, 8, 3);
        let a = init.sample(&[8, 4, 3, 3], f, &mut ChaCha8Rng::seed_from_u64(5));
        let b = init.sample(&[8, 4, 3, 3], f, &mut ChaCha8Rng::seed_from_u64(5));
        assert_eq!(a, b, "{spec}");
    }
}

#[test]
fn rules_state_the_papers_conditions_for_legends() {
    let rule = |s: &str| by_name(s).unwrap().rule();
    assert_eq!(rule("msra"), "msra: ½·n·Var[w] = 1 (eq. 10)");
    assert_eq!(
        rule("msra:mode=fan_out"),
        "msra:mode=fan_out: ½·n_out·Var[w] = 1 (eq. 14)"
    );
    assert_eq!(
        rule("msra:a=0.25"),
        "msra:a=0.25: ½(1+a²)·n·Var[w] = 1 (eq. 15)"
    );
    assert_eq!(rule("xavier"), "xavier: n·Var[w] = 1");
    assert_eq!(rule("glorot"), "glorot: n_avg·Var[w] = 1");
    assert_eq!(rule("orthogonal"), "orthogonal");
}
