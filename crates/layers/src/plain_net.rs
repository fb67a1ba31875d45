//! The plain rectifier nets of the depth experiment (no batch norm, no residuals).

use crate::error::invalid;
use crate::{
    Conv2d, Conv2dConfig, Flatten, Layer, Linear, MaxPool2d, Prelu, Relu, Result, Sequential,
};
use init::Initializer;
use rand::RngCore;
use tensor::ConvGeom;

/// The rectifier after every conv and hidden fc layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// PReLU with one slope per channel (the paper's default).
    Prelu,
    /// PReLU with one slope per layer.
    PreluShared,
}

impl Activation {
    /// Every rectifier, in CLI order.
    pub const ALL: [Activation; 3] = [Activation::Relu, Activation::Prelu, Activation::PreluShared];

    /// Parses the CLI name (`relu`, `prelu`, `prelu-shared`).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Prelu => "prelu",
            Activation::PreluShared => "prelu-shared",
        }
    }
}

/// The network spec: `depth` weight layers = `depth − 3` convs over three stages (the
/// remainder to the earlier stages) + 3 fully connected layers.
#[derive(Clone, Debug)]
pub struct PlainNetConfig {
    /// Number of weight layers, at least 4.
    pub depth: usize,
    /// Channels of the three stages.
    pub widths: [usize; 3],
    /// Width of the two hidden fc layers.
    pub fc_width: usize,
    /// Rectifier.
    pub activation: Activation,
    /// Per-example input `[C, H, W]`.
    pub input: [usize; 3],
    /// Number of classes.
    pub classes: usize,
    /// How the three fc layers are initialized.
    pub head: Head,
}

/// The fc head's initialization.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Head {
    /// The initializer being compared, like every conv layer (the spec's default).
    #[default]
    Compared,
    /// The paper's fixed Gaussians: std 0.01, 0.01 and 0.001 for fc1, fc2 and fc3 (its
    /// ImageNet inputs were not normalised; He et al. §2.2 and Caffe's model files).
    Paper,
}

/// The paper's fc weight standard deviations, fc1 to fc3.
pub const PAPER_HEAD_STD: [f64; 3] = [0.01, 0.01, 0.001];

/// A fixed-std normal draw, for the paper's head.
#[derive(Debug)]
struct FixedStd(f64);

impl Initializer for FixedStd {
    fn variance(&self, _fans: init::Fans) -> f64 {
        self.0 * self.0
    }
}

impl Default for PlainNetConfig {
    /// The spec's 30-layer net on 1×28×28 Fashion-MNIST.
    fn default() -> Self {
        Self {
            depth: 30,
            widths: [16, 32, 64],
            fc_width: 256,
            activation: Activation::Relu,
            input: [1, 28, 28],
            classes: 10,
            head: Head::Compared,
        }
    }
}

/// Conv layers per stage: `depth − 3` split over three stages, the remainder to the
/// earlier ones (22 → 7, 6, 6; 30 → 9, 9, 9).
pub fn stage_depths(depth: usize) -> Result<[usize; 3]> {
    if depth < 4 {
        return Err(invalid(
            "depth",
            format!("must be at least 4 (3 fc + at least 1 conv), got {depth}"),
        ));
    }
    let convs = depth - 3;
    let (base, rem) = (convs / 3, convs % 3);
    Ok([0, 1, 2].map(|s| base + usize::from(s < rem)))
}

fn rectifier(name: &str, channels: usize, act: Activation) -> Result<Box<dyn Layer>> {
    Ok(match act {
        Activation::Relu => Box::new(Relu::new(name)),
        Activation::Prelu => Box::new(Prelu::new(name, channels, false)?),
        Activation::PreluShared => Box::new(Prelu::new(name, channels, true)?),
    })
}

/// Builds the plain net: 3×3 convs (stride 1, pad 1) each followed by the rectifier, a
/// 2×2/2 max-pool after each stage, then `flatten → fc → act → fc → act → fc`. Every conv
/// and fc weight is drawn by `init`, in layer order, from `rng`.
pub fn plain_net(
    cfg: &PlainNetConfig,
    init: &dyn Initializer,
    rng: &mut dyn RngCore,
) -> Result<Sequential> {
    stage_depths(cfg.depth)?;
    for (field, v) in [
        ("width", cfg.widths.iter().min().copied().unwrap_or(0)),
        ("fc-width", cfg.fc_width),
        ("classes", cfg.classes),
    ] {
        if v == 0 {
            return Err(invalid(field, "must be positive"));
        }
    }
    let slope = match cfg.activation {
        Activation::Relu => 0.0,
        _ => crate::prelu::INITIAL_SLOPE as f64,
    };
    let layers = conv_stages(cfg, slope, init, rng)?;
    let probe = Sequential::new(layers, &cfg.input)?;
    let flat = probe
        .summary()?
        .last()
        .map(|r| r.output_shape[0])
        .unwrap_or(0);
    let mut layers: Vec<Box<dyn Layer>> = probe.into_layers();
    layers.extend(fc_head(cfg, flat, slope, init, rng)?);
    Sequential::new(layers, &cfg.input)
}

/// `fc1 → act → fc2 → act → fc3` on `n_in` flattened features; weights drawn in layer
/// order after the convs', by `init` or, for the paper's head, at its fixed stds.
fn fc_head(
    cfg: &PlainNetConfig,
    n_in: usize,
    slope: f64,
    init: &dyn Initializer,
    rng: &mut dyn RngCore,
) -> Result<Vec<Box<dyn Layer>>> {
    let paper = PAPER_HEAD_STD.map(FixedStd);
    let fc_init = |i: usize| -> &dyn Initializer {
        match cfg.head {
            Head::Compared => init,
            Head::Paper => &paper[i - 1],
        }
    };
    let mut layers: Vec<Box<dyn Layer>> = Vec::with_capacity(5);
    let mut n_in = n_in;
    for i in 1..=2 {
        let name = format!("fc{i}");
        let fc = Linear::new(&name, n_in, cfg.fc_width, slope, fc_init(i), rng)?;
        layers.push(Box::new(fc));
        layers.push(rectifier(
            &format!("{name}.act"),
            cfg.fc_width,
            cfg.activation,
        )?);
        n_in = cfg.fc_width;
    }
    let fc3 = Linear::new("fc3", n_in, cfg.classes, 0.0, fc_init(3), rng)?;
    layers.push(Box::new(fc3));
    Ok(layers)
}

/// The three stages of 3×3 convs, each conv followed by the rectifier and each stage by
/// a 2×2/2 max-pool, then the flatten; conv weights drawn in layer order.
fn conv_stages(
    cfg: &PlainNetConfig,
    slope: f64,
    init: &dyn Initializer,
    rng: &mut dyn RngCore,
) -> Result<Vec<Box<dyn Layer>>> {
    let stages = stage_depths(cfg.depth)?;
    let geom = ConvGeom::new(1, 1)?;
    let mut layers: Vec<Box<dyn Layer>> = vec![];
    let mut c = cfg.input[0];
    for (s, (&n, &width)) in stages.iter().zip(&cfg.widths).enumerate() {
        for i in 1..=n {
            let name = format!("stage{}.conv{i}", s + 1);
            let conv = Conv2dConfig {
                c_in: c,
                c_out: width,
                k: 3,
                geom,
                slope,
            };
            layers.push(Box::new(Conv2d::new(&name, conv, init, rng)?));
            layers.push(rectifier(
                &format!("stage{}.act{i}", s + 1),
                width,
                cfg.activation,
            )?);
            c = width;
        }
        layers.push(Box::new(MaxPool2d::new(
            &format!("stage{}.pool", s + 1),
            2,
            2,
        )?));
    }
    layers.push(Box::new(Flatten::new("flatten")));
    Ok(layers)
}
