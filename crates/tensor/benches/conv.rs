//! Criterion benchmarks of the conv kernels at the spec's three stage shapes (batch 128),
//! and of one whole conv layer's forward + backward on the tape.
//!
//! `cargo bench -p tensor --bench conv`

use criterion::{criterion_group, criterion_main, Criterion};
use tensor::kernels::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward};
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
            bch.iter(|| conv2d_forward(x.view(), w.view(), b.view(), geom))
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

criterion_group!(benches, stages, layer);
criterion_main!(benches);
