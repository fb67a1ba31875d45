//! The net builder, parameter naming and kinds, SGD's weight-decay rule, and the paper's
//! variance claim checked cheaply at initialization.

use layers::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tensor::testing::uniform;
use tensor::{Mode, Tape};

fn net(depth: usize, act: Activation, init: &str) -> Sequential {
    let cfg = PlainNetConfig {
        depth,
        activation: act,
        ..Default::default()
    };
    plain_net(
        &cfg,
        init::by_name(init).unwrap().as_ref(),
        &mut ChaCha8Rng::seed_from_u64(0),
    )
    .unwrap()
}

fn count(net: &Sequential, kind: fn(LayerKind) -> bool) -> usize {
    net.layers().iter().filter(|l| kind(l.kind())).count()
}

fn conv(k: LayerKind) -> bool {
    matches!(k, LayerKind::Conv { .. })
}
fn fc(k: LayerKind) -> bool {
    k == LayerKind::Linear
}
fn relu(k: LayerKind) -> bool {
    k == LayerKind::Relu
}
fn maxpool(k: LayerKind) -> bool {
    matches!(k, LayerKind::MaxPool { .. })
}

#[test]
fn stage_split_and_layer_counts() {
    assert_eq!(stage_depths(22).unwrap(), [7, 6, 6]);
    assert_eq!(stage_depths(30).unwrap(), [9, 9, 9]);
    assert_eq!(stage_depths(4).unwrap(), [1, 0, 0]);
    assert_eq!(stage_depths(60).unwrap(), [19, 19, 19]);
    for depth in [4, 22, 30, 60] {
        let n = net(depth, Activation::Relu, "msra");
        assert_eq!(count(&n, conv) + count(&n, fc), depth, "depth {depth}");
        assert_eq!(count(&n, fc), 3);
        assert_eq!(count(&n, relu), depth - 1);
        assert_eq!(count(&n, maxpool), 3);
    }
}

#[test]
fn shapes_fans_and_params_of_the_30_layer_net() {
    let n = net(30, Activation::Relu, "msra");
    let rows = n.summary().unwrap();
    let find = |name: &str| rows.iter().find(|r| r.name == name).unwrap();
    assert_eq!(find("stage1.conv1").output_shape, vec![16, 28, 28]);
    assert_eq!(find("stage1.pool").output_shape, vec![16, 14, 14]);
    assert_eq!(find("stage3.pool").output_shape, vec![64, 3, 3]);
    assert_eq!(find("flatten").output_shape, vec![576]);
    assert_eq!(find("fc3").output_shape, vec![10]);
    let f = find("stage2.conv1").fans.unwrap();
    assert_eq!((f.fan_in, f.fan_out), (9 * 16, 9 * 32));
    let f = find("fc1").fans.unwrap();
    assert_eq!((f.fan_in, f.fan_out), (576, 256));
    assert_eq!(find("stage1.conv1").params, 16 * 9 + 16);
    assert_eq!(n.num_params(), rows.iter().map(|r| r.params).sum::<usize>());
}

#[test]
fn invalid_specs_name_the_field() {
    let init = init::by_name("msra").unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let e = plain_net(
        &PlainNetConfig {
            depth: 3,
            ..Default::default()
        },
        init.as_ref(),
        &mut rng,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("depth"), "{e}");
    let e = plain_net(
        &PlainNetConfig {
            widths: [16, 0, 64],
            ..Default::default()
        },
        init.as_ref(),
        &mut rng,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("width"), "{e}");
}

#[test]
fn parameter_names_are_stable_unique_and_kinded() {
    let n = net(22, Activation::Prelu, "msra");
    let names: Vec<&str> = n.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        &names[..3],
        &[
            "stage1.conv1.weight",
            "stage1.conv1.bias",
            "stage1.act1.slope"
        ]
    );
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    for p in n.params() {
        let expected = match p.name.rsplit('.').next().unwrap() {
            "weight" => ParamKind::Weight,
            "bias" => ParamKind::Bias,
            _ => ParamKind::PreluSlope,
        };
        assert_eq!(p.kind, expected, "{}", p.name);
    }
    let slope = n
        .params()
        .into_iter()
        .find(|p| p.name == "stage2.act1.slope")
        .unwrap();
    assert_eq!(slope.value.shape(), &[32]);
    assert!(slope.value.iter().all(|&a| a == 0.25));
    let shared = net(5, Activation::PreluShared, "msra");
    assert_eq!(
        shared
            .params()
            .into_iter()
            .find(|p| p.name == "stage1.act1.slope")
            .unwrap()
            .value
            .shape(),
        &[1]
    );
}

#[test]
fn msra_auto_takes_the_slope_of_the_prelu_it_feeds() {
    let n = net(5, Activation::Prelu, "msra:a=auto");
    let fans = n.layers()[0].fans().unwrap();
    assert_eq!(fans.slope, 0.25);
    let relu = net(5, Activation::Relu, "msra:a=auto");
    assert_eq!(relu.layers()[0].fans().unwrap().slope, 0.0);
}

#[test]
fn weight_decay_touches_weights_only_never_biases_or_slopes() {
    let mut n = net(4, Activation::Prelu, "msra");
    let before: Vec<_> = n.params().iter().map(|p| p.value.clone()).collect();
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.5,
    });
    // An empty tape: every gradient is zero, so only weight decay moves anything.
    let tape = Tape::new();
    let loss_free = tensor::Grads::default();
    sgd.step(&mut n, &tape, &loss_free);
    for (p, b) in n.params().iter().zip(&before) {
        match p.kind {
            ParamKind::Weight => {
                let expected = b.mapv(|w| w - 0.1 * 0.5 * w);
                assert!(
                    p.value
                        .iter()
                        .zip(&expected)
                        .all(|(a, e)| (a - e).abs() < 1e-7),
                    "{}",
                    p.name
                );
            }
            _ => assert_eq!(&p.value, b, "{} was decayed", p.name),
        }
    }
}

#[test]
fn sgd_follows_momentum_update() {
    // One weight, constant gradient 1, no decay: v = 1, 1.9; w = 1 − 0.1, then − 0.19.
    let mut n = net(4, Activation::Relu, "msra");
    let mut sgd = Sgd::new(SgdConfig {
        lr: 0.1,
        momentum: 0.9,
        weight_decay: 0.0,
    });
    let w0 = n.params()[0].value.clone();
    for _ in 0..2 {
        let mut tape = Tape::new();
        let w = tape.param(n.params()[0].id, &n.params()[0].value);
        let l = tape.sum(w);
        let g = tape.backward(l);
        sgd.step(&mut n, &tape, &g);
    }
    let w2 = &n.params()[0].value;
    assert!(w2
        .iter()
        .zip(&w0)
        .all(|(a, b)| (a - (b - 0.29)).abs() < 1e-6));
}

/// The paper's claim at initialization (eq. 8): through a ReLU conv stack, msra keeps the
/// signal's std about constant while xavier (Var = 1/n) loses a factor √2 per layer.
#[test]
fn variance_travels_as_the_paper_predicts_at_init() {
    let std = |t: &tensor::Tensor| {
        (t.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / t.len() as f64).sqrt()
    };
    let x = uniform(&[32, 1, 28, 28], -1.7, 1.7, 1);
    for (init, per_layer) in [("msra", 1.0), ("xavier", 0.5f64.sqrt())] {
        let n = net(30, Activation::Relu, init);
        let mut tape = Tape::with_mode(Mode::Eval);
        let input = tape.constant(x.clone());
        let outs = n.forward_trace(&mut tape, input);
        let convs: Vec<f64> = n
            .layers()
            .iter()
            .zip(&outs)
            .filter(|(l, _)| conv(l.kind()))
            .map(|(_, &o)| std(tape.value(o)))
            .collect();
        // Compare layers 2..9 of stage 1 (same width, no pooling in between).
        let ratio = (convs[8] / convs[1]).powf(1.0 / 7.0);
        assert!(
            (ratio / per_layer - 1.0).abs() < 0.15,
            "{init}: per-layer std ratio {ratio:.3}, expected {per_layer:.3}"
        );
    }
}

/// `Sequential::forward` fuses each conv with the ReLU after it; the loss and every
/// parameter gradient are those of the layers run one by one, bit for bit, on a tape with
/// one node fewer per conv.
#[test]
fn fused_conv_relu_gives_the_layer_by_layer_numbers() {
    let net = net(8, Activation::Relu, "msra");
    let x = uniform(&[4, 1, 28, 28], -1.0, 1.0, 3);
    let run = |fused: bool| {
        let mut tape = Tape::new();
        let xi = tape.constant(x.clone());
        let y = if fused {
            net.forward(&mut tape, xi)
        } else {
            net.layers().iter().fold(xi, |h, l| l.forward(&mut tape, h))
        };
        let loss = tape.softmax_cross_entropy(y, &[0, 3, 7, 9]);
        let grads = tape.backward(loss);
        let g: Vec<_> = tape
            .params()
            .iter()
            .map(|(name, id)| (*name, grads.get(*id).unwrap().clone()))
            .collect();
        (tape.value(loss).clone(), g, tape.len())
    };
    let (fused, unfused) = (run(true), run(false));
    assert_eq!(fused.0, unfused.0, "loss differs");
    assert_eq!(fused.1, unfused.1, "gradients differ");
    assert_eq!(
        fused.2 + count(&net, |k| k == LayerKind::Conv { kh: 3, kw: 3 }),
        unfused.2
    );
}

/// The paper's head: fc weights of std 0.01, 0.01 and 0.001 whatever the initializer;
/// the conv weights are those of the compared initializer's net, draw for draw.
#[test]
fn the_papers_head_draws_fixed_gaussians_for_the_fc_layers() {
    use rand::SeedableRng;
    let init = init::by_name("xavier").unwrap();
    let net = |head| {
        let cfg = layers::PlainNetConfig {
            depth: 8,
            head,
            ..Default::default()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        layers::plain_net(&cfg, init.as_ref(), &mut rng).unwrap()
    };
    let (paper, compared) = (net(layers::Head::Paper), net(layers::Head::Compared));
    let (pw, cw) = (paper.weights(), compared.weights());
    for (p, c) in pw.iter().zip(&cw).take(5) {
        assert_eq!(p.value, c.value, "{}: conv weights differ", p.name);
    }
    for (p, want) in pw[5..].iter().zip(layers::PAPER_HEAD_STD) {
        let n = p.value.len() as f64;
        let std = (p.value.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / n).sqrt();
        assert!(
            (std / want - 1.0).abs() < 0.1,
            "{}: std {std}, want {want}",
            p.name
        );
    }
}
