//! Criterion benchmarks of the conv kernels at the spec's three stage shapes (batch 128),
//! of one whole conv layer's forward + backward on the tape, and of max-pooling.
//!
//! `cargo bench -p tensor --bench conv`

use criterion::{criterion_group, criterion_main, Criterion};
use tensor::kernels::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward_act, conv2d_forward_on,
    simd_available, ConvPath,
};
use tensor::{ConvGeom, Tape, Tensor};

fn seeded(shape: &[usize], seed: u32) -> Tensor {
    let mut s = seed.wrapping_mul(2654435761).max(1);
    Tensor::from_shape_simple_fn(shape.to_vec(), || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s as f32 / u32::MAX as f32) - 0.5
    })
}

fn stages(c: &mut Criterion) {
    let geom = ConvGeom { stride: 1, pad: 1 };
    for (ch, hw) in [(16, 28), (32, 14), (64, 7)] {
        let x = seeded(&[128, ch, hw, hw], 1).into_dimensionality().unwrap();
        let w = seeded(&[ch, ch, 3, 3], 2).into_dimensionality().unwrap();
        let b = seeded(&[ch], 3).into_dimensionality().unwrap();
        let dy = seeded(&[128, ch, hw, hw], 4).into_dimensionality().unwrap();
        let mut g = c.benchmark_group(format!("conv{ch}x{hw}"));
        g.sample_size(10);
        g.bench_function("forward", |bch| {
            bch.iter(|| conv2d_forward_act(x.view(), w.view(), b.view(), geom, false))
        });
        g.bench_function("backward_input", |bch| {
            bch.iter(|| conv2d_backward_input(dy.view(), w.view(), [128, ch, hw, hw], geom))
        });
        g.bench_function("backward_weight", |bch| {
            bch.iter(|| conv2d_backward_weight(dy.view(), x.view(), (3, 3), geom))
        });
        g.finish();
    }
}

/// The two forward paths of a "same" 3×3 convolution side by side at the stage shapes:
/// Winograd F(2×2, 3×3) and the direct implicit GEMM (the input gradient is a forward too).
fn paths(c: &mut Criterion) {
    if !simd_available() {
        return;
    }
    let geom = ConvGeom { stride: 1, pad: 1 };
    for (ch, hw) in [(16, 28), (32, 14), (64, 7)] {
        let x = seeded(&[128, ch, hw, hw], 1).into_dimensionality().unwrap();
        let w = seeded(&[ch, ch, 3, 3], 2).into_dimensionality().unwrap();
        let b = seeded(&[ch], 3).into_dimensionality().unwrap();
        let mut g = c.benchmark_group(format!("paths{ch}x{hw}"));
        g.sample_size(10);
        g.bench_function("forward_winograd", |bch| {
            bch.iter(|| {
                conv2d_forward_on(
                    ConvPath::Winograd,
                    x.view(),
                    w.view(),
                    b.view(),
                    geom,
                    false,
                )
            })
        });
        g.bench_function("forward_direct", |bch| {
            bch.iter(|| {
                conv2d_forward_on(
                    ConvPath::Implicit,
                    x.view(),
                    w.view(),
                    b.view(),
                    geom,
                    false,
                )
            })
        });
        g.finish();
    }
}

/// One conv layer of the 30-layer net (16 → 16 channels, 28×28, batch 128), recorded on a
/// tape: forward, then backward to the input, weight and bias.
fn layer(c: &mut Criterion) {
    let geom = ConvGeom { stride: 1, pad: 1 };
    let (x, w, b) = (
        seeded(&[128, 16, 28, 28], 5),
        seeded(&[16, 16, 3, 3], 6),
        seeded(&[16], 7),
    );
    let mut g = c.benchmark_group("conv_layer_16x28_b128");
    g.sample_size(10);
    g.bench_function("forward_backward", |bch| {
        bch.iter(|| {
            let mut tape = Tape::new();
            let (xi, wi, bi) = (
                tape.var(x.clone()),
                tape.var(w.clone()),
                tape.var(b.clone()),
            );
            let y = tape.conv2d(xi, wi, bi, geom);
            let l = tape.sum(y);
            tape.backward(l)
        })
    });
    g.finish();
}

/// The 6×16 micro-kernel alone, operands in L1: `K = 9 × 16` (a stage-1 forward block).
/// 13,824 multiply-adds per call; divide by the time for its FMA throughput.
fn microkernel(c: &mut Criterion) {
    use tensor::kernels::conv::{gemm_block, Block};
    if !simd_available() {
        return;
    }
    let taps: Vec<usize> = (0..9).map(|t| (t / 3 * 30 + t % 3) * 16).collect();
    let a = seeded(&[(2 * 30 + 8) * 16 + 6 * 16], 8)
        .into_raw_vec_and_offset()
        .0;
    let b = seeded(&[9 * 16 * 16], 9).into_raw_vec_and_offset().0;
    let b_taps: Vec<usize> = (0..9).map(|t| t * 16 * 16).collect();
    let mut out = vec![0.0f32; 6 * 16];
    let block = Block {
        rows: 6,
        a_at: 0,
        a_row: 16,
        a_k: 1,
        a_segments: &taps,
        b_segments: &b_taps,
        seg_len: 16,
        b_at: 0,
        b_k: 16,
        c_at: 0,
        c_row: 16,
        accumulate: false,
    };
    let mut g = c.benchmark_group("microkernel");
    g.bench_function("6x16_k144", |bch| {
        bch.iter(|| gemm_block(&block, &a, &b, &mut out))
    });
    g.finish();
}

/// Max-pooling (2×2, stride 2) forward and backward at the spec's two pooled shapes.
fn pooling(c: &mut Criterion) {
    use tensor::kernels::pool::{max_pool2d_backward, max_pool2d_forward};
    use tensor::PoolGeom;
    let g2 = PoolGeom { k: 2, stride: 2 };
    let mut g = c.benchmark_group("pool");
    for (ch, hw) in [(16, 28), (32, 14)] {
        let x = seeded(&[128, ch, hw, hw], 5).into_dimensionality().unwrap();
        let (y, arg) = max_pool2d_forward(x.view(), g2);
        g.bench_function(format!("forward{ch}x{hw}"), |bch| {
            bch.iter(|| max_pool2d_forward(x.view(), g2))
        });
        g.bench_function(format!("backward{ch}x{hw}"), |bch| {
            bch.iter(|| max_pool2d_backward(y.view(), &arg, [128, ch, hw, hw]))
        });
    }
    g.finish();
}

criterion_group!(benches, stages, paths, layer, microkernel, pooling);
criterion_main!(benches);
