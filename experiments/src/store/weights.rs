//! A run's trained weights as `experiments export` writes them (`weights.safetensors`)
//! and `--keep-weights` keeps them (`weights-<iteration>.safetensors`): one F32 tensor per
//! parameter under its net name, the run, the iteration and the input the net expects in
//! the metadata. Written here, and read back, bounded and checked, for `drift`.

use crate::bounded;
use crate::spec::RunSpec;
use crate::store::checkpoint::{f32_bytes, open, read_f32, Bytes, Fields, Invalid};
use crate::store::HEADER_ROOM;
use anyhow::{Context, Result};
use layers::Sequential;
use std::collections::HashMap;
use std::path::Path;
use tensor::Tensor;

/// The file's name in a run folder, as `export` writes it.
pub const FILE: &str = "weights.safetensors";

/// The name of the weights `--keep-weights` keeps at `iteration`.
pub fn kept_file(iteration: usize) -> String {
    format!("weights-{iteration}.safetensors")
}

/// The iteration in a kept weights file's name (`weights-2345.safetensors`), if it is one.
pub fn kept_iteration(name: &str) -> Option<usize> {
    name.strip_prefix("weights-")?
        .strip_suffix(".safetensors")?
        .parse()
        .ok()
}

/// What a weights file holds.
pub struct Exported<'a> {
    /// Steps done.
    pub iteration: usize,
    /// Whether the run had done all its steps.
    pub complete: bool,
    /// The run's configuration.
    pub run: &'a RunSpec,
    /// Every parameter, in net order.
    pub params: &'a [(String, Tensor)],
    /// The input's normalisation: pixels in [0, 1], then `(x − mean)/std`.
    pub normalisation: (f32, f32),
}

/// The file's bytes: its header's keys in sorted order, so the same weights give the same
/// bytes.
pub fn to_bytes(w: &Exported) -> Result<Vec<u8>> {
    let tensors: Vec<(String, Bytes)> = w
        .params
        .iter()
        .map(|(name, t)| (name.clone(), f32_bytes(t)))
        .collect();
    let (mean, std) = w.normalisation;
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("iteration", w.iteration.to_string()),
        ("complete", w.complete.to_string()),
        ("run", serde_json::to_string(w.run)?),
        ("input", "[N, 1, 28, 28]".to_string()),
        ("normalisation_mean", mean.to_string()),
        ("normalisation_std", std.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(tensors.iter().map(|(n, w)| (n.as_str(), w)), Some(meta))
        .context("serialising the weights")?;
    sorted_header(&bytes)
}

/// The safetensors file with its JSON header rewritten with sorted keys (the crate writes
/// the metadata map in a random order), padded with spaces to 8 bytes as the format asks.
/// The tensors' offsets are relative to the data, so they stay valid.
fn sorted_header(bytes: &[u8]) -> Result<Vec<u8>> {
    let n = u64::from_le_bytes(bytes[..8].try_into()?) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])?;
    // serde_json's map is a BTreeMap: keys come out sorted.
    let mut text = serde_json::to_vec(&header)?;
    while text.len() % 8 != 0 {
        text.push(b' ');
    }
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&text);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// The `format` metadata value of an exported weights file.
pub const FORMAT: &str = "delve-weights";

/// Exported weights, read back.
#[derive(Debug)]
pub struct Weights {
    /// Steps done when they were exported.
    pub iteration: usize,
    /// The run's configuration.
    pub run: RunSpec,
    /// Every parameter, by name.
    pub params: Vec<(String, Tensor)>,
}

/// Reads `path`, which must hold exactly the parameters `names` (each finite) and be no
/// larger than `floats` F32 values and a header: a file is never trusted to size an
/// allocation.
pub fn read(path: &Path, names: &[String], floats: usize) -> Result<Weights, Invalid> {
    let most = floats as u64 * 4 + HEADER_ROOM;
    let bytes = bounded::read(path, most, "its run's weights take")
        .map_err(|e| Invalid(format!("{}: {e}", path.display())))?;
    from_bytes(&bytes, names).map_err(|e| Invalid(format!("{}: {}", path.display(), e.0)))
}

/// Parses the bytes of a weights file holding exactly the parameters `names`. Never
/// panics, whatever the bytes (fuzzed by `fuzz/fuzz_targets/weights.rs`).
pub fn from_bytes(bytes: &[u8], names: &[String]) -> Result<Weights, Invalid> {
    let (st, meta) = open(bytes)?;
    let fields = Fields(&meta);
    if fields.get("format")? != FORMAT {
        return Err(Invalid(format!("format is `{}`", fields.get("format")?)));
    }
    let iteration = usize::try_from(fields.number("iteration")?)
        .map_err(|_| Invalid("`iteration` is too large".into()))?;
    let run: RunSpec = fields.json("run")?;
    if st.len() != names.len() {
        return Err(Invalid(format!(
            "{} tensors, its run has {} parameters",
            st.len(),
            names.len()
        )));
    }
    let mut params = vec![];
    for n in names {
        let t = read_f32(&st, n)?;
        if t.iter().any(|v| !v.is_finite()) {
            return Err(Invalid(format!("`{n}` holds a NaN or infinite value")));
        }
        params.push((n.clone(), t));
    }
    Ok(Weights {
        iteration,
        run,
        params,
    })
}

/// Puts `params` into `net`: they must be its parameters, all of them, by name and shape,
/// in its order.
pub fn assign_params(net: &mut Sequential, params: &[(String, Tensor)]) -> Result<(), Invalid> {
    let mut ours = net.params_mut();
    if ours.len() != params.len() {
        return Err(Invalid(format!(
            "{} parameters, the net has {}",
            params.len(),
            ours.len()
        )));
    }
    for (p, (name, value)) in ours.iter_mut().zip(params) {
        if &p.name != name || p.value.shape() != value.shape() {
            return Err(Invalid(format!(
                "parameter `{name}` {:?} where the net has `{}` {:?}",
                value.shape(),
                p.name,
                p.value.shape()
            )));
        }
        p.value.assign(value);
    }
    Ok(())
}
