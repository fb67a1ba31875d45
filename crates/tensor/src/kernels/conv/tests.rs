//! Every convolution path, forced explicitly, against the naive loops of
//! `kernels::reference` and against the other paths: forward (plain and with the fused
//! rectifier), input gradient and weight gradient, on the spec's stage shapes, odd sizes,
//! partial tiles and every micro-kernel remainder. A path this CPU cannot run prints one
//! `skipped:` line instead of passing silently.

use super::*;
use crate::kernels::elementwise::{Relu, Unary};
use crate::kernels::reference;
use ndarray::{Array, ArrayD};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PATHS: [ConvPath; 3] = [ConvPath::Im2col, ConvPath::Implicit, ConvPath::Winograd];

fn random(shape: &[usize], rng: &mut ChaCha8Rng) -> ArrayD<f32> {
    Array::from_shape_fn(shape.to_vec(), |_| rng.random_range(-1.0..1.0))
}

fn max_abs_diff(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Says once per test which SIMD paths this CPU lacks.
fn note_skipped(test: &str) {
    if !simd::available() {
        eprintln!("{test}: skipped: cpu lacks avx2/fma (implicit and winograd paths)");
    }
}

/// One case on every path that runs it: forward within `tol` of the naive loops and of the
/// im2col path, the fused rectifier bit-identical to a separate one, the weight gradient
/// within `tol_w` and the input gradient within `tol_x` of the naive loops. Returns the
/// paths that ran the forward.
fn check_paths(
    xs: [usize; 4],
    ws: [usize; 4],
    geom: ConvGeom,
    rng: &mut ChaCha8Rng,
) -> Vec<ConvPath> {
    let x: Array4<f32> = random(&xs, rng).into_dimensionality().unwrap();
    let w: Array4<f32> = random(&ws, rng).into_dimensionality().unwrap();
    let b: Array1<f32> = random(&[ws[0]], rng).into_dimensionality().unwrap();
    let (_, d) = dims_of("conv2d", &x.view(), &w.view(), geom);
    let y_ref = reference::conv2d(&x, &w, &b, geom).into_dyn();
    let dy: Array4<f32> = random(y_ref.shape(), rng).into_dimensionality().unwrap();
    let (dx_ref, dw_ref, db_ref) = reference::conv2d_backward(&x, &w, &dy, geom);
    let (dx_ref, dw_ref, db_ref) = (dx_ref.into_dyn(), dw_ref.into_dyn(), db_ref.into_dyn());
    let y_im2col = forward_on(ConvPath::Im2col, x.view(), w.view(), b.view(), &d, false).into_dyn();
    let tol = 2e-6 * (ws[1] * ws[2] * ws[3]) as f32;
    let tol_w = 1e-5 * (xs[0] * xs[2] * xs[3]) as f32;
    let tol_x = 2e-6 * (ws[0] * ws[2] * ws[3]) as f32;
    let mut ran = vec![];
    for path in PATHS.into_iter().filter(|p| p.runs_forward(&d)) {
        let case = format!("{path:?} x {xs:?} w {ws:?} {geom:?}");
        let y = forward_on(path, x.view(), w.view(), b.view(), &d, false);
        let err = max_abs_diff(&y.clone().into_dyn(), &y_ref);
        assert!(err < tol, "forward {case}: {err} vs naive loops");
        let err = max_abs_diff(&y.clone().into_dyn(), &y_im2col);
        assert!(err < tol, "forward {case}: {err} vs im2col");
        let fused = forward_on(path, x.view(), w.view(), b.view(), &d, true);
        assert_eq!(fused, y.mapv(Relu::f), "fused rectifier {case}");
        if path.runs_weight(&d) {
            let (dw, db) = weight_on(path, dy.view(), x.view(), &d);
            let err = max_abs_diff(&dw.into_dyn(), &dw_ref);
            assert!(err < tol_w, "weight gradient {case}: {err}");
            let err = max_abs_diff(&db.into_dyn(), &db_ref);
            assert!(err < tol_w, "bias gradient {case}: {err}");
        }
        if as_forward(dy.view(), w.view(), xs, geom).is_some_and(|(_, f)| path.runs_forward(&f)) {
            let dx = input_on(Some(path), dy.view(), w.view(), xs, geom);
            let err = max_abs_diff(&dx.into_dyn(), &dx_ref);
            assert!(err < tol_x, "input gradient {case}: {err}");
        }
        ran.push(path);
    }
    ran
}

/// [`check_paths`] for a 3×3 "same" convolution of `x` to `co` channels.
fn check_same_3x3(xs: [usize; 4], co: usize, rng: &mut ChaCha8Rng) -> Vec<ConvPath> {
    let same = ConvGeom { stride: 1, pad: 1 };
    check_paths(xs, [co, xs[1], 3, 3], same, rng)
}

/// The path each entry point chooses, against naive loops: awkward sizes (batch 1 and 3,
/// c_in 1, odd H and W, non-square kernels, stride 2 and 3, pad 0 to 2).
#[test]
fn the_chosen_paths_match_naive_loops() {
    const CASES: &[([usize; 4], [usize; 4], usize, usize)] = &[
        ([2, 3, 7, 5], [4, 3, 3, 3], 1, 1),
        ([1, 1, 9, 9], [2, 1, 3, 3], 2, 0),
        ([3, 2, 6, 7], [3, 2, 2, 3], 1, 2),
        ([2, 4, 8, 8], [5, 4, 1, 1], 2, 1),
        ([1, 3, 5, 4], [2, 3, 5, 4], 1, 0),
        ([9, 2, 5, 5], [3, 2, 3, 3], 3, 2),
        ([2, 2, 6, 5], [3, 2, 3, 3], 1, 0),
        ([1, 2, 5, 5], [2, 2, 3, 3], 1, 2),
        ([3, 4, 4, 6], [2, 4, 1, 1], 1, 0),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for &(xs, ws, stride, pad) in CASES {
        let geom = ConvGeom { stride, pad };
        let x = random(&xs, &mut rng).into_dimensionality().unwrap();
        let w = random(&ws, &mut rng).into_dimensionality().unwrap();
        let b = random(&[ws[0]], &mut rng).into_dimensionality().unwrap();
        let y = conv2d_forward_act(x.view(), w.view(), b.view(), geom, false);
        let y_ref = reference::conv2d(&x, &w, &b, geom);
        assert!(
            max_abs_diff(&y.clone().into_dyn(), &y_ref.into_dyn()) < 1e-4,
            "{xs:?} {ws:?}"
        );
        let dy: Array4<f32> = random(y.shape(), &mut rng).into_dimensionality().unwrap();
        let dx = conv2d_backward_input(dy.view(), w.view(), xs, geom);
        let (dw, db) = conv2d_backward_weight(dy.view(), x.view(), (ws[2], ws[3]), geom);
        let (dx_ref, dw_ref, db_ref) = reference::conv2d_backward(&x, &w, &dy, geom);
        assert!(
            max_abs_diff(&dx.into_dyn(), &dx_ref.into_dyn()) < 1e-4,
            "dx {xs:?} {ws:?}"
        );
        assert!(
            max_abs_diff(&dw.into_dyn(), &dw_ref.into_dyn()) < 1e-3,
            "dw {xs:?} {ws:?}"
        );
        assert!(
            max_abs_diff(&db.into_dyn(), &db_ref.into_dyn()) < 1e-3,
            "db {xs:?} {ws:?}"
        );
    }
}

/// Every path that runs "same" convolutions: the spec's stage shapes (small batches),
/// 1 and 3 input channels, odd sizes, a 5×5 kernel, row counts that leave every
/// micro-kernel remainder, and images batched across a partial weight-gradient group.
#[test]
fn every_path_matches_naive_loops_on_same_convolutions() {
    note_skipped("every_path_matches_naive_loops_on_same_convolutions");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let cases: &[([usize; 4], [usize; 4])] = &[
        ([2, 1, 28, 28], [16, 1, 3, 3]),
        ([3, 16, 14, 14], [32, 16, 3, 3]),
        ([2, 32, 7, 7], [64, 32, 3, 3]),
        ([1, 3, 5, 9], [16, 3, 3, 3]),
        ([2, 7, 6, 5], [32, 7, 5, 5]),
        ([9, 16, 3, 4], [16, 16, 3, 3]),
    ];
    for &(xs, ws) in cases {
        let geom = ConvGeom {
            stride: 1,
            pad: ws[2] / 2,
        };
        let ran = check_paths(xs, ws, geom, &mut rng);
        assert_eq!(
            ran.contains(&ConvPath::Implicit),
            simd::available(),
            "{xs:?} {ws:?}"
        );
    }
}

/// The Winograd path where it runs (3×3, 32+ channels), with the other two beside it: the
/// stage shapes, odd sizes (tiles hanging over the edge), rows of tiles shorter and longer
/// than one group of 8, batches that end in a partial chunk, channel counts that leave
/// every micro-kernel remainder.
#[test]
fn every_path_matches_naive_loops_where_winograd_runs() {
    note_skipped("every_path_matches_naive_loops_where_winograd_runs");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let cases: &[([usize; 4], usize)] = &[
        ([3, 32, 28, 28], 32),
        ([7, 32, 14, 14], 32),
        ([11, 32, 7, 7], 64),
        ([2, 64, 7, 7], 64),
        ([3, 33, 5, 9], 37),
        ([2, 32, 1, 1], 32),
        ([5, 40, 3, 35], 45),
        ([1, 35, 34, 2], 32),
    ];
    for &(xs, co) in cases {
        let ran = check_same_3x3(xs, co, &mut rng);
        assert_eq!(
            ran.len(),
            if simd::available() { 3 } else { 1 },
            "{xs:?} -> {co}"
        );
    }
}

/// The rule that chooses: Winograd only with 32+ channels both ways, the direct path for
/// other "same" convolutions, im2col for the rest (and everywhere without AVX2/FMA).
#[test]
fn the_dispatch_rule_names_one_path_per_geometry() {
    let d = |c, co, k, stride, pad| {
        ConvDims::new("t", (c, 9, 9), (co, c, k, k), ConvGeom { stride, pad })
    };
    let simd = |p| {
        if simd::available() {
            p
        } else {
            ConvPath::Im2col
        }
    };
    assert_eq!(
        d(32, 32, 3, 1, 1).choose_forward(),
        simd(ConvPath::Winograd)
    );
    assert_eq!(d(32, 32, 3, 1, 1).choose_weight(), simd(ConvPath::Implicit));
    assert_eq!(
        d(16, 32, 3, 1, 1).choose_forward(),
        simd(ConvPath::Implicit)
    );
    assert_eq!(
        d(32, 32, 5, 1, 2).choose_forward(),
        simd(ConvPath::Implicit)
    );
    assert_eq!(d(32, 32, 3, 2, 1).choose_forward(), ConvPath::Im2col);
    assert_eq!(d(32, 32, 3, 1, 0).choose_forward(), ConvPath::Im2col);
    assert_eq!(d(32, 32, 2, 1, 1).choose_weight(), ConvPath::Im2col);
}

#[test]
#[should_panic(expected = "conv2d: input channels 3")]
fn channel_mismatch_panics_naming_both_shapes() {
    let x = Array4::<f32>::zeros((1, 3, 4, 4));
    let w = Array4::<f32>::zeros((2, 2, 3, 3));
    conv2d_forward_act(
        x.view(),
        w.view(),
        Array1::zeros(2).view(),
        ConvGeom { stride: 1, pad: 1 },
        false,
    );
}

/// The smallest shapes that reach every SIMD kernel (the implicit GEMM and its
/// weight-gradient dots, Winograd's transforms and GEMMs, partial groups of tiles, odd
/// rows of `A`). `scripts/miri-avx512.sh` runs this test under Miri, where the Winograd
/// case is too slow to finish and only the direct one runs: 17 output channels, so one
/// full AVX-512 block of 16 rows and one of 1, row pairs and an odd row in the dots.
#[test]
fn tiny_shapes_reach_every_kernel() {
    note_skipped("tiny_shapes_reach_every_kernel");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let cases: &[([usize; 4], usize)] = if cfg!(miri) {
        &[([2, 3, 5, 4], 17)]
    } else {
        &[([1, 32, 3, 5], 32), ([2, 3, 5, 4], 17)]
    };
    for &(xs, co) in cases {
        let ran = check_same_3x3(xs, co, &mut rng);
        let expected = match (simd::available(), xs[1] >= 32) {
            (false, _) => 1,
            (true, true) => 3,
            (true, false) => 2,
        };
        assert_eq!(ran.len(), expected, "{xs:?} -> {co}");
    }
}

/// The flipped, transposed weight of the input gradient, against its definition
/// `W′[c, o, i, j] = W[o, c, k−1−i, k−1−j]`, for 3×3 and 5×5 kernels and unequal channels.
#[test]
fn the_flipped_weight_is_its_definition() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for (co, c, k) in [(3, 2, 3), (4, 7, 5), (1, 1, 1)] {
        let w = random(&[co, c, k, k], &mut rng)
            .into_dimensionality::<ndarray::Ix4>()
            .unwrap();
        let want = ndarray::Array4::from_shape_fn((c, co, k, k), |(ci, o, i, j)| {
            w[[o, ci, k - 1 - i, k - 1 - j]]
        });
        assert_eq!(flip(w.view()), want, "{co}x{c}x{k}x{k}");
    }
}

#[test]
fn plane_sums_are_iterator_sums_bit_for_bit() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (planes, len) in [(1, 5), (7, 3), (8, 49), (9, 1), (17, 784), (24, 196)] {
        let mut x: Vec<f32> = (0..planes * len)
            .map(|_| rng.random_range(-1.0f32..1.0) * 10f32.powi(rng.random_range(-6..6)))
            .collect();
        // A plane of negative zeros and one with a NaN: their sums' bits must carry over.
        x[..len].fill(-0.0);
        if planes > 2 {
            x[2 * len] = f32::NAN;
        }
        let start: Vec<f32> = (0..planes).map(|o| o as f32 * 0.25 - 1.0).collect();
        let mut fast = start.clone();
        implicit::add_plane_sums(&x, len, &mut fast);
        let slow: Vec<f32> = start
            .iter()
            .zip(x.chunks_exact(len))
            .map(|(&d, plane)| d + plane.iter().sum::<f32>())
            .collect();
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&slow), "{planes} planes of {len}");
    }
}
