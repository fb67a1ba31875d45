//! Finite-difference checks of every op's backward, on awkward sizes.

use crate::testing::{away_from_zero, check_grad, uniform, GradCheck};
use crate::{ConvGeom, NodeId, PoolGeom, Tape, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn opts() -> GradCheck {
    GradCheck::default()
}

#[test]
fn add_sub_mul_scale() {
    let xs = [
        uniform(&[3, 5], -1.0, 1.0, 1),
        uniform(&[3, 5], -1.0, 1.0, 2),
    ];
    check_grad(|t, v| t.add(v[0], v[1]), &xs, opts());
    check_grad(|t, v| t.sub(v[0], v[1]), &xs, opts());
    check_grad(|t, v| t.mul(v[0], v[1]), &xs, opts());
    check_grad(|t, v| t.scale(v[0], -2.5), &xs[..1], opts());
}

#[test]
fn a_tensor_used_twice_accumulates_both_gradients() {
    // d(x⊙x + x)/dx = 2x + 1
    let x = uniform(&[4, 3], -1.0, 1.0, 3);
    check_grad(
        |t, v| {
            let sq = t.mul(v[0], v[0]);
            t.add(sq, v[0])
        },
        std::slice::from_ref(&x),
        opts(),
    );
    let mut tape = Tape::new();
    let xv = tape.var(x.clone());
    let sq = tape.mul(xv, xv);
    let y = tape.add(sq, xv);
    let s = tape.sum(y);
    let g = tape.backward(s);
    let expected = x.mapv(|v| 2.0 * v + 1.0);
    assert!(g
        .get(xv)
        .unwrap()
        .iter()
        .zip(&expected)
        .all(|(a, b)| (a - b).abs() < 1e-6));
}

#[test]
fn bias_add_over_nchw_and_nc() {
    let xs = [
        uniform(&[2, 3, 5, 7], -1.0, 1.0, 4),
        uniform(&[3], -1.0, 1.0, 5),
    ];
    check_grad(|t, v| t.bias_add(v[0], v[1]), &xs, opts());
    let xs = [uniform(&[4, 6], -1.0, 1.0, 6), uniform(&[6], -1.0, 1.0, 7)];
    check_grad(|t, v| t.bias_add(v[0], v[1]), &xs, opts());
}

#[test]
fn matmul_and_transpose() {
    let xs = [
        uniform(&[5, 7], -1.0, 1.0, 8),
        uniform(&[7, 3], -1.0, 1.0, 9),
    ];
    check_grad(|t, v| t.matmul(v[0], v[1]), &xs, opts());
    let xs = [
        uniform(&[5, 7], -1.0, 1.0, 10),
        uniform(&[3, 7], -1.0, 1.0, 11),
    ];
    check_grad(
        |t, v| {
            let wt = t.transpose(v[1]);
            t.matmul(v[0], wt)
        },
        &xs,
        opts(),
    );
}

#[test]
fn sum_mean_reshape_flatten() {
    let x = [uniform(&[2, 3, 4], -1.0, 1.0, 12)];
    check_grad(|t, v| t.sum(v[0]), &x, opts());
    check_grad(|t, v| t.mean(v[0]), &x, opts());
    check_grad(|t, v| t.reshape(v[0], &[4, 6]), &x, opts());
    check_grad(|t, v| t.flatten(v[0]), &x, opts());
}

#[test]
fn relu_away_from_its_kink() {
    let x = [away_from_zero(&[3, 2, 5, 5], 0.05, 13)];
    check_grad(|t, v| t.relu(v[0]), &x, opts());
}

#[test]
fn prelu_channel_wise_and_shared_with_slopes_near_and_at_zero() {
    let x = away_from_zero(&[3, 4, 5, 3], 0.05, 14);
    for slopes in [vec![0.25, 0.0, 1e-3, -0.1], vec![0.0, 0.0, 0.0, 0.0]] {
        let a = Tensor::from_shape_vec(vec![4], slopes).unwrap();
        check_grad(|t, v| t.prelu(v[0], v[1]), &[x.clone(), a], opts());
    }
    for slope in [0.25f32, 0.0, 1e-4] {
        let a = Tensor::from_elem(vec![1], slope);
        check_grad(|t, v| t.prelu(v[0], v[1]), &[x.clone(), a], opts());
    }
    // A fully connected activation [N, C] works too.
    let x2 = away_from_zero(&[6, 4], 0.05, 15);
    check_grad(
        |t, v| t.prelu(v[0], v[1]),
        &[x2, uniform(&[4], 0.0, 0.5, 16)],
        opts(),
    );
}

/// A conv's input, weight and bias, uniform in ±1, ±0.5, ±0.5.
fn conv_inputs(xs: [usize; 4], ws: [usize; 4], seed: u64) -> [Tensor; 3] {
    [
        uniform(&xs, -1.0, 1.0, seed),
        uniform(&ws, -0.5, 0.5, seed + 1),
        uniform(&[ws[0]], -0.5, 0.5, seed + 2),
    ]
}

#[test]
fn conv2d_strides_paddings_and_non_square_kernels() {
    let cases: &[([usize; 4], [usize; 4], usize, usize)] = &[
        ([2, 3, 7, 5], [4, 3, 3, 3], 1, 1),
        ([2, 1, 8, 7], [3, 1, 3, 3], 2, 0),
        ([3, 2, 5, 6], [2, 2, 2, 3], 1, 2),
        ([2, 3, 6, 6], [2, 3, 3, 1], 2, 1),
        // 32 channels each way: the Winograd path (forward and input gradient)
        ([2, 32, 5, 6], [32, 32, 3, 3], 1, 1),
    ];
    for (k, &(xs, ws, stride, pad)) in cases.iter().enumerate() {
        let seed = 100 + 3 * k as u64;
        let inputs = conv_inputs(xs, ws, seed);
        let geom = ConvGeom { stride, pad };
        check_grad(
            |t, v| t.conv2d(v[0], v[1], v[2], geom),
            &inputs,
            GradCheck {
                samples: 30,
                ..opts()
            },
        );
    }
}

/// The fused conv + ReLU against finite differences (h = 1e-3, as for the composed chain:
/// a perturbation may move a pre-activation across 0), and bit for bit against the two ops.
/// The 32-channel case (the Winograd path, whose plain conv is checked against finite
/// differences above) only bit for bit: with 288 terms per output, f32 differences at
/// h = 1e-3 are too coarse for the tolerance.
#[test]
fn conv2d_relu_fused() {
    for (k, &(xs, ws, stride, pad, finite_differences)) in [
        ([2, 3, 7, 5], [16, 3, 3, 3], 1, 1, true),
        ([2, 2, 6, 5], [3, 2, 3, 3], 2, 0, true),
        ([2, 32, 7, 7], [32, 32, 3, 3], 1, 1, false),
    ]
    .iter()
    .enumerate()
    {
        let seed = 200 + 3 * k as u64;
        let inputs = conv_inputs(xs, ws, seed);
        let geom = ConvGeom { stride, pad };
        if finite_differences {
            check_grad(
                |t, v| t.conv2d_relu(v[0], v[1], v[2], geom),
                &inputs,
                GradCheck {
                    samples: 30,
                    h: 1e-3,
                    ..opts()
                },
            );
        }
        let run = |fused: bool| {
            let mut t = Tape::new();
            let v: Vec<_> = inputs.iter().map(|x| t.var(x.clone())).collect();
            let y = if fused {
                t.conv2d_relu(v[0], v[1], v[2], geom)
            } else {
                let z = t.conv2d(v[0], v[1], v[2], geom);
                t.relu(z)
            };
            let r = uniform(t.value(y).shape(), -1.0, 1.0, 7);
            let rc = t.constant(r.clone());
            let p = t.mul(y, rc);
            let l = t.sum(p);
            // y's own gradient kept as it came (the sweep masks its copy in place).
            let g = t.backward_retaining(l, &[y]);
            assert_eq!(g.get(y), Some(&r), "the retained gradient of y is ∂L/∂y");
            let grads: Vec<Tensor> = v.iter().map(|&id| g.get(id).unwrap().clone()).collect();
            (t.value(y).clone(), grads, t.len())
        };
        let (fused, unfused) = (run(true), run(false));
        assert_eq!(fused.0, unfused.0, "outputs differ");
        assert_eq!(fused.1, unfused.1, "gradients differ");
        assert_eq!(fused.2 + 1, unfused.2, "the fused op is one node");
    }
}

/// Distinct values spaced 0.05 apart (more than 2h), so no perturbation moves an argmax.
fn distinct(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.05 - n as f32 * 0.025).collect();
    v.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    Tensor::from_shape_vec(shape.to_vec(), v).unwrap()
}

#[test]
fn max_pool_floor_and_overlapping_windows() {
    for (shape, k, s) in [
        ([2, 3, 7, 7], 2, 2),
        ([1, 2, 6, 5], 3, 1),
        ([2, 1, 9, 8], 3, 2),
    ] {
        let geom = PoolGeom { k, stride: s };
        check_grad(
            |t, v| t.max_pool2d(v[0], geom),
            &[distinct(&shape, 17)],
            GradCheck {
                samples: 40,
                ..opts()
            },
        );
    }
}

#[test]
fn softmax_cross_entropy_including_large_logits() {
    let labels = [3, 0, 4, 4, 1];
    check_grad(
        |t, v| t.softmax_cross_entropy(v[0], &labels),
        &[uniform(&[5, 6], -2.0, 2.0, 18)],
        opts(),
    );
    check_grad(
        |t, v| t.softmax_cross_entropy(v[0], &labels),
        &[uniform(&[5, 6], 40.0, 44.0, 19)],
        opts(),
    );
}

#[test]
fn dropout_with_a_fixed_seed() {
    let x = [uniform(&[4, 10], -1.0, 1.0, 20)];
    check_grad(
        |t, v| {
            let mut rng = ChaCha8Rng::seed_from_u64(7);
            t.dropout(v[0], 0.3, &mut rng)
        },
        &x,
        opts(),
    );
}

/// A whole small net: conv → relu → pool → flatten → linear → cross-entropy.
#[test]
fn composed_network_end_to_end() {
    let inputs = [
        uniform(&[2, 1, 6, 6], -1.0, 1.0, 21),
        uniform(&[3, 1, 3, 3], -0.5, 0.5, 22),
        uniform(&[3], -0.1, 0.1, 23),
        uniform(&[4, 27], -0.3, 0.3, 24),
    ];
    let net = |t: &mut Tape, v: &[NodeId]| {
        let y = t.conv2d(v[0], v[1], v[2], ConvGeom { stride: 1, pad: 1 });
        let y = t.relu(y);
        let y = t.max_pool2d(y, PoolGeom { k: 2, stride: 2 });
        let y = t.flatten(y);
        let wt = t.transpose(v[3]);
        let z = t.matmul(y, wt);
        t.softmax_cross_entropy(z, &[1, 3])
    };
    // A weight or bias moves every conv output at once, so with h = 1e-2 some of them cross
    // the rectifier's kink; h = 1e-3 keeps every sampled perturbation on one side of it
    // (measured: relative errors below 4e-4) while f32 rounding stays small.
    check_grad(
        net,
        &inputs,
        GradCheck {
            samples: 30,
            h: 1e-3,
            ..opts()
        },
    );
}

#[test]
fn same_seed_gives_bit_identical_results() {
    let run = || {
        let mut tape = Tape::new();
        let x = tape.constant(uniform(&[16, 3, 9, 9], -1.0, 1.0, 30));
        let w = tape.var(uniform(&[8, 3, 3, 3], -0.3, 0.3, 31));
        let b = tape.var(uniform(&[8], -0.1, 0.1, 32));
        let y = tape.conv2d(x, w, b, ConvGeom { stride: 1, pad: 1 });
        let mut rng = ChaCha8Rng::seed_from_u64(33);
        let y = tape.dropout(y, 0.5, &mut rng);
        let l = tape.mean(y);
        let g = tape.backward(l);
        (tape.value(y).clone(), g.get(w).unwrap().clone())
    };
    let (y1, g1) = run();
    let (y2, g2) = run();
    assert!(y1.iter().zip(&y2).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn weight_gradient_is_identical_on_one_and_two_threads() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut tape = Tape::new();
            let x = tape.constant(uniform(&[37, 4, 8, 8], -1.0, 1.0, 40));
            let w = tape.var(uniform(&[6, 4, 3, 3], -0.3, 0.3, 41));
            let b = tape.var(uniform(&[6], -0.1, 0.1, 42));
            let y = tape.conv2d(x, w, b, ConvGeom { stride: 1, pad: 1 });
            let l = tape.sum(y);
            tape.backward(l).get(w).unwrap().clone()
        })
    };
    let (g1, g2) = (run(1), run(2));
    assert!(g1.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn constants_get_no_gradient() {
    let mut tape = Tape::new();
    let x = tape.constant(uniform(&[1, 1, 4, 4], -1.0, 1.0, 50));
    let w = tape.var(uniform(&[2, 1, 3, 3], -1.0, 1.0, 51));
    let b = tape.var(Tensor::zeros(vec![2]));
    let y = tape.conv2d(x, w, b, ConvGeom { stride: 1, pad: 1 });
    let s = tape.sum(y);
    let g = tape.backward(s);
    assert!(g.get(x).is_none());
    assert!(g.get(w).is_some());
}
