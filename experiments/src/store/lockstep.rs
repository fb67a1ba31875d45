//! The file `experiments lockstep` writes for another framework to replay a run's first
//! steps exactly (`bench/lockstep.py` does, in PyTorch): `init.safetensors` holds every
//! parameter before the first step (F32, named as in the net), `batches` (U32, the
//! training-image indices of every step, concatenated) and `batch_ends` (U32, where each
//! step's indices end), with metadata `format` (`delve-lockstep`), `run` (the
//! configuration, JSON), `params` (names in net order), `steps`, the input normalisation
//! `mean`, `std` (f32, `x = p/(255·std) − mean/std`) and `provenance`.

use crate::bounded;
use crate::data::MAX_IMAGES;
use crate::spec::size::MAX_WEIGHTS;
use crate::spec::RunSpec;
use crate::store::checkpoint::{
    f32_bytes, open, read_f32, read_u32, u32_bytes, Bytes, Fields, Invalid,
};
use crate::store::HEADER_ROOM;
use anyhow::{ensure, Context, Result};
use layers::Sequential;
use std::collections::HashMap;
use std::path::Path;
use tensor::Tensor;

/// The `format` metadata value of a lockstep file.
pub const FORMAT: &str = "delve-lockstep";

/// The most bytes a lockstep file may have: the largest net's weights, [`MAX_IMAGES`]
/// batch indices (an epoch of the largest split) and as many batch ends, and a header.
pub const MOST_BYTES: u64 = 4 * MAX_WEIGHTS as u64 + 8 * MAX_IMAGES as u64 + HEADER_ROOM;

/// A lockstep file read back: the run, its parameters before the first step, its batches.
pub struct Recorded {
    /// The run's configuration.
    pub run: RunSpec,
    /// Every parameter, in net order.
    pub params: Vec<(String, Tensor)>,
    /// The training-image indices of every step.
    pub batches: Vec<Vec<usize>>,
}

/// Writes the lockstep file of run `r` to `path` (atomically): `net`'s parameters before
/// the first step, the batches of `order` and the input's normalisation `(mean, std)`.
pub fn write(
    r: &RunSpec,
    net: &Sequential,
    order: &[Vec<usize>],
    (mean, std): (f32, f32),
    path: &Path,
) -> Result<()> {
    let params = net.params();
    let mut tensors: Vec<(String, Bytes)> = params
        .iter()
        .map(|p| (p.name.clone(), f32_bytes(&p.value)))
        .collect();
    let flat: Vec<u32> = order.iter().flatten().map(|&i| i as u32).collect();
    let ends: Vec<u32> = order
        .iter()
        .scan(0u32, |end, b| {
            *end += b.len() as u32;
            Some(*end)
        })
        .collect();
    tensors.push(("batches".into(), u32_bytes(&flat)));
    tensors.push(("batch_ends".into(), u32_bytes(&ends)));
    let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
    let meta: HashMap<String, String> = [
        ("format", FORMAT.to_string()),
        ("run", serde_json::to_string(r)?),
        ("params", serde_json::to_string(&names)?),
        ("steps", order.len().to_string()),
        // `{:?}` of an f32 is the shortest text that reads back as the same f32.
        ("mean", format!("{mean:?}")),
        ("std", format!("{std:?}")),
        (
            "provenance",
            serde_json::to_string(&crate::store::records::Provenance::current())?,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let bytes = safetensors::serialize(tensors.iter().map(|(n, b)| (n.as_str(), b)), Some(meta))
        .context("serialising the initial weights")?;
    crate::store::atomic::write_atomic(path, &bytes)
        .with_context(|| format!("writing {}", path.display()))
}

/// Reads a lockstep file: a regular file of at most [`MOST_BYTES`] whose run is one its
/// own settings make (so of bounded size). Its batches are checked against the data when
/// they are used.
pub fn read(path: &Path) -> Result<Recorded> {
    let bytes = bounded::read(path, MOST_BYTES, "a lockstep file may have")
        .with_context(|| format!("reading {}", path.display()))?;
    from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Parses the bytes of a lockstep file (see [`read`]).
fn from_bytes(bytes: &[u8]) -> Result<Recorded> {
    let (st, meta) = open(bytes)?;
    let fields = Fields(&meta);
    ensure!(fields.get("format")? == FORMAT, "not a lockstep file");
    let run: RunSpec = fields.json("run")?;
    run.check_recorded()?;
    let names: Vec<String> = fields.json("params")?;
    let params = names
        .iter()
        .map(|n| Ok((n.clone(), read_f32(&st, n)?)))
        .collect::<Result<_, Invalid>>()?;
    let flat = read_u32(&st, "batches")?;
    let mut start = 0;
    let mut batches = vec![];
    for end in read_u32(&st, "batch_ends")? {
        let end = end as usize;
        ensure!(start <= end && end <= flat.len(), "bad batch_ends");
        batches.push(flat[start..end].iter().map(|&i| i as usize).collect());
        start = end;
    }
    Ok(Recorded {
        run,
        params,
        batches,
    })
}
