//! A chain of layers, with a per-layer summary.

use crate::{Layer, LayerKind, Param, ParamKind, Result};
use init::Fans;
use tensor::{NodeId, ParamId, Tape};

/// Layers applied in order.
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
    input_shape: Vec<usize>,
}

/// One row of [`Sequential::summary`].
#[derive(Clone, Debug)]
pub struct LayerSummary {
    /// The layer's name.
    pub name: String,
    /// What it is.
    pub kind: LayerKind,
    /// Per-example output shape.
    pub output_shape: Vec<usize>,
    /// Fans, for layers with weights.
    pub fans: Option<Fans>,
    /// Number of scalar parameters.
    pub params: usize,
}

impl Sequential {
    /// Chains `layers` for per-example inputs of `input_shape`, checking that every
    /// layer accepts its predecessor's output, and numbers the parameters in order.
    pub fn new(mut layers: Vec<Box<dyn Layer>>, input_shape: &[usize]) -> Result<Self> {
        for (i, p) in layers.iter_mut().flat_map(|l| l.params_mut()).enumerate() {
            p.id = ParamId(i);
        }
        let net = Self {
            layers,
            input_shape: input_shape.to_vec(),
        };
        net.summary()?;
        Ok(net)
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Gives the layers back.
    pub fn into_layers(self) -> Vec<Box<dyn Layer>> {
        self.layers
    }

    /// Per-example input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Records the forward pass; `[N, ...input_shape] → [N, ...]`.
    /// A layer followed by a ReLU runs as one fused op where it has one (conv + ReLU); the
    /// numbers are those of the layers one by one, bit for bit.
    pub fn forward(&self, tape: &mut Tape, x: NodeId) -> NodeId {
        let mut h = x;
        let mut layers = self.layers.iter().peekable();
        while let Some(l) = layers.next() {
            if layers
                .peek()
                .is_some_and(|next| next.kind() == LayerKind::Relu)
            {
                if let Some(y) = l.forward_relu(tape, h) {
                    h = y;
                    layers.next();
                    continue;
                }
            }
            h = l.forward(tape, h);
        }
        h
    }

    /// Records the forward pass and returns every layer's output, in order.
    pub fn forward_trace(&self, tape: &mut Tape, x: NodeId) -> Vec<NodeId> {
        let mut h = x;
        self.layers
            .iter()
            .map(|l| {
                h = l.forward(tape, h);
                h
            })
            .collect()
    }

    /// Every parameter, in a fixed order (layer order, then each layer's own order).
    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    /// The weight parameters (conv and fc weights, no biases or slopes), in net order: one
    /// per weight layer.
    pub fn weights(&self) -> Vec<&Param> {
        self.params()
            .into_iter()
            .filter(|p| p.kind == ParamKind::Weight)
            .collect()
    }

    /// Every parameter, mutably, in the same order as [`Sequential::params`].
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers
            .iter_mut()
            .flat_map(|l| l.params_mut())
            .collect()
    }

    /// The parameters of layer `i` alone, mutably (empty past the last layer).
    pub fn layer_params_mut(&mut self, i: usize) -> Vec<&mut Param> {
        self.layers
            .get_mut(i)
            .map_or_else(Vec::new, |l| l.params_mut())
    }

    /// Total number of scalar parameters.
    pub fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.value.len()).sum()
    }

    /// Layer, output shape, fans and parameter count, row by row.
    pub fn summary(&self) -> Result<Vec<LayerSummary>> {
        let mut shape = self.input_shape.clone();
        self.layers
            .iter()
            .map(|l| {
                shape = l.output_shape(&shape)?;
                Ok(LayerSummary {
                    name: l.name().to_string(),
                    kind: l.kind(),
                    output_shape: shape.clone(),
                    fans: l.fans(),
                    params: l.params().iter().map(|p| p.value.len()).sum(),
                })
            })
            .collect()
    }
}
