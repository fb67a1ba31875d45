//! Checkpoints: everything a run needs to continue bit for bit, in one safetensors file,
//! written atomically.
//!
//! The file (`<run>/checkpoint.safetensors`) is plain [safetensors]: an 8-byte little-endian
//! header length, a JSON header, then the raw little-endian tensor bytes. It holds
//!
//! * `param/<name>` (F32): every parameter of the net, e.g. `param/stage1.conv1.weight`;
//! * `velocity/<name>` (F32): SGD's momentum buffer of that parameter (absent before the
//!   first step);
//! * `order` (U32): the current epoch's shuffled order of training images;
//!
//! and in the header's `__metadata__`: `format` (`delve-checkpoint`), `version` (`1`),
//! `iteration` (steps done), `params` (the parameter names in net order, JSON), `run` (the
//! run's configuration, JSON), `data` (SHA-256 of the data files, JSON), `shuffle_word_pos`
//! (the position of the shuffling generator, ChaCha8 stream 1), `train_time_s`, and
//! `sha256` (of every tensor's bytes and every other metadata field, in name order, so a
//! flipped byte anywhere that decides the resumed state is refused).
//!
//! [safetensors]: https://github.com/huggingface/safetensors

use crate::bounded;
use crate::data::MAX_IMAGES;
use crate::spec::RunSpec;
use crate::store::records::FileSum;
use crate::store::weights;
use crate::store::HEADER_ROOM;
use layers::{Sequential, Sgd};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors, View};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tensor::Tensor;

/// The checkpoint's file name inside a run folder.
pub const FILE: &str = "checkpoint.safetensors";

/// The `format` metadata value of a checkpoint.
pub const FORMAT: &str = "delve-checkpoint";

/// Why a checkpoint could not be written, read or used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file system refused (full disk, read-only folder, missing file).
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The bytes are not a checkpoint of ours (truncated, corrupted, another format).
    #[error("{path}: not a valid delve checkpoint: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: Invalid,
    },
    /// A valid checkpoint, written by a run configured differently.
    #[error(
        "{path} was written by another configuration: {difference}; use --overwrite to start over"
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The first difference, named (`lr: checkpoint 0.01, this run 0.001`).
        difference: String,
    },
}

/// The most bytes a checkpoint of a net of `floats` parameters can take: the parameters
/// and their momentum, the shuffled order of at most [`MAX_IMAGES`] training images, and
/// a header.
pub fn most_bytes(floats: usize) -> u64 {
    8 * floats as u64 + 4 * MAX_IMAGES as u64 + HEADER_ROOM
}

/// What is wrong with bytes that should be a checkpoint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// The state of a run after `iteration` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// Steps done.
    pub iteration: usize,
    /// The run's configuration.
    pub run: RunSpec,
    /// The data files it trained on.
    pub data: Vec<FileSum>,
    /// Every parameter, in net order.
    pub params: Vec<(String, Tensor)>,
    /// SGD's momentum buffers in the same order (empty before the first step).
    pub velocity: Vec<Tensor>,
    /// This epoch's order of training images.
    pub order: Vec<u32>,
    /// Word position of the shuffling generator (ChaCha8, seed = run seed, stream 1).
    pub shuffle_word_pos: u128,
    /// Seconds spent in training steps so far.
    pub train_time_s: f64,
}

/// A tensor's little-endian bytes, as safetensors stores them.
pub(crate) struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

/// An F32 tensor's bytes.
pub(crate) fn f32_bytes(t: &Tensor) -> Bytes {
    Bytes {
        dtype: Dtype::F32,
        shape: t.shape().to_vec(),
        data: t.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

/// A U32 vector's bytes.
pub(crate) fn u32_bytes(v: &[u32]) -> Bytes {
    Bytes {
        dtype: Dtype::U32,
        shape: vec![v.len()],
        data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// The tensor `name` of `st`, which must be of type `dtype`.
fn typed<'a>(st: &'a SafeTensors, name: &str, dtype: Dtype) -> Result<TensorView<'a>, Invalid> {
    let v = st
        .tensor(name)
        .map_err(|_| Invalid(format!("tensor `{name}` is missing")))?;
    if v.dtype() != dtype {
        return Err(Invalid(format!(
            "tensor `{name}` is {:?}, not {dtype:?}",
            v.dtype()
        )));
    }
    Ok(v)
}

/// The F32 tensor `name` of `st`.
pub(crate) fn read_f32(st: &SafeTensors, name: &str) -> Result<Tensor, Invalid> {
    let v = typed(st, name, Dtype::F32)?;
    let values: Vec<f32> = v
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Tensor::from_shape_vec(v.shape().to_vec(), values)
        .map_err(|e| Invalid(format!("tensor `{name}`: {e}")))
}

/// The tensors of safetensors `bytes` and the metadata of their header (which must have
/// some).
pub(crate) fn open(bytes: &[u8]) -> Result<(SafeTensors<'_>, HashMap<String, String>), Invalid> {
    let bad = |s: String| Invalid(s);
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("{e}")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("{e}")))?;
    let meta = header
        .metadata()
        .clone()
        .ok_or_else(|| bad("no metadata".into()))?;
    Ok((st, meta))
}

/// The U32 vector `name` of `st`.
pub(crate) fn read_u32(st: &SafeTensors, name: &str) -> Result<Vec<u32>, Invalid> {
    Ok(typed(st, name, Dtype::U32)?
        .data()
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Named parameters and their momentum buffers (empty before the first step).
type ParamsAndMomentum = (Vec<(String, Tensor)>, Vec<Tensor>);

/// The parameters `param/<name>` of `names`, in order, and their momentum buffers
/// `velocity/<name>` (all of them, or none before the first step), of matching shapes.
fn read_params(st: &SafeTensors, names: &[String]) -> Result<ParamsAndMomentum, Invalid> {
    let mut params = vec![];
    for n in names {
        params.push((n.clone(), read_f32(st, &format!("param/{n}"))?));
    }
    let mut velocity = vec![];
    if st.names().iter().any(|n| n.starts_with("velocity/")) {
        for (n, p) in &params {
            let v = read_f32(st, &format!("velocity/{n}"))?;
            if v.shape() != p.shape() {
                return Err(Invalid(format!(
                    "velocity of `{n}` has shape {:?}, its parameter {:?}",
                    v.shape(),
                    p.shape()
                )));
            }
            velocity.push(v);
        }
    }
    Ok((params, velocity))
}

/// Checks that every parameter and momentum value is finite.
fn check_finite(params: &[(String, Tensor)], velocity: &[Tensor]) -> Result<(), Invalid> {
    let finite = |t: &Tensor| t.iter().all(|v| v.is_finite());
    if let Some((n, _)) = params.iter().find(|(_, t)| !finite(t)) {
        return Err(Invalid(format!(
            "parameter `{n}` holds a NaN or infinite value"
        )));
    }
    if let Some(i) = velocity.iter().position(|t| !finite(t)) {
        let n = &params[i].0;
        return Err(Invalid(format!(
            "the momentum of `{n}` holds a NaN or infinite value"
        )));
    }
    Ok(())
}

/// Checks that the epoch's image order is a permutation of `0..len`.
fn check_permutation(order: &[u32]) -> Result<(), Invalid> {
    let mut seen = vec![false; order.len()];
    for &i in order {
        match seen.get_mut(i as usize) {
            Some(s) if !*s => *s = true,
            _ => {
                return Err(Invalid(format!(
                    "the image order is not a permutation of 0..{} (index {i})",
                    order.len()
                )))
            }
        }
    }
    Ok(())
}

/// A safetensors file's metadata (a checkpoint's, a weights file's, a lockstep
/// recording's), read field by field with a typed error naming the field.
pub(crate) struct Fields<'a>(pub(crate) &'a HashMap<String, String>);

impl Fields<'_> {
    /// The field `k`'s text.
    pub(crate) fn get(&self, k: &str) -> Result<&str, Invalid> {
        self.0
            .get(k)
            .map(String::as_str)
            .ok_or_else(|| Invalid(format!("missing `{k}`")))
    }

    /// The field `k` as a non-negative integer.
    pub(crate) fn number(&self, k: &str) -> Result<u128, Invalid> {
        self.get(k)?
            .parse()
            .map_err(|_| Invalid(format!("`{k}` is not a number")))
    }

    /// The field `k` as JSON of type `T`.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, k: &str) -> Result<T, Invalid> {
        serde_json::from_str(self.get(k)?).map_err(|e| Invalid(format!("`{k}`: {e}")))
    }

    /// Checks the format name and version: a version-1 file (whose checksum did not
    /// cover its settings) is refused with what to do.
    fn check_format(&self) -> Result<(), Invalid> {
        if self.get("format")? != FORMAT {
            return Err(Invalid(format!("format is `{}`", self.get("format")?)));
        }
        match self.get("version")? {
            VERSION => Ok(()),
            "1" => Err(Invalid(
                "version 1, from an older delve, whose checksum does not cover its settings: start the run over with --overwrite".into(),
            )),
            v => Err(Invalid(format!("unsupported version `{v}`"))),
        }
    }
}

/// The checkpoint format's version: 2 has its checksum cover the metadata too.
const VERSION: &str = "2";

/// SHA-256 (hex) of every byte that decides the resumed state: each tensor's name and
/// bytes, and each metadata field but the checksum itself (as `meta/<key>`), in name order.
fn digest<'a>(
    tensors: impl Iterator<Item = (&'a str, &'a [u8])>,
    meta: &'a HashMap<String, String>,
) -> String {
    let fields: Vec<(String, &[u8])> = meta
        .iter()
        .filter(|(k, _)| k.as_str() != "sha256")
        .map(|(k, v)| (format!("meta/{k}"), v.as_bytes()))
        .collect();
    let mut sorted: Vec<(&str, &[u8])> = tensors.collect();
    sorted.extend(fields.iter().map(|(k, v)| (k.as_str(), *v)));
    sorted.sort_by_key(|(name, _)| *name);
    let mut h = Sha256::new();
    for (name, data) in sorted {
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Checkpoint {
    /// The checkpoint as safetensors bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut tensors: Vec<(String, Bytes)> = vec![];
        for (name, t) in &self.params {
            tensors.push((format!("param/{name}"), f32_bytes(t)));
        }
        for ((name, _), v) in self.params.iter().zip(&self.velocity) {
            tensors.push((format!("velocity/{name}"), f32_bytes(v)));
        }
        tensors.push(("order".into(), u32_bytes(&self.order)));
        let names: Vec<&str> = self.params.iter().map(|(n, _)| n.as_str()).collect();
        let mut meta: HashMap<String, String> = [
            ("format", FORMAT.to_string()),
            ("version", VERSION.into()),
            ("iteration", self.iteration.to_string()),
            ("params", to_json(&names)),
            ("run", to_json(&self.run)),
            ("data", to_json(&self.data)),
            ("shuffle_word_pos", self.shuffle_word_pos.to_string()),
            ("train_time_s", self.train_time_s.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let sum = digest(
            tensors.iter().map(|(n, b)| (n.as_str(), b.data.as_slice())),
            &meta,
        );
        meta.insert("sha256".into(), sum);
        safetensors::serialize(tensors.iter().map(|(n, b)| (n.as_str(), b)), Some(meta))
            .expect("checkpoint tensors have consistent shapes and sizes")
    }

    /// Parses checkpoint bytes, checking every field, every shape and the checksum.
    /// Never panics, whatever the bytes (fuzzed by `fuzz/fuzz_targets/checkpoint.rs`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Invalid> {
        let bad = |s: String| Invalid(s);
        let (st, meta) = open(bytes)?;
        let meta = &meta;
        let fields = Fields(meta);
        fields.check_format()?;
        let names: Vec<String> = fields.json("params")?;
        let run: RunSpec = fields.json("run")?;
        let data: Vec<FileSum> = fields.json("data")?;
        let train_time_s: f64 = fields
            .get("train_time_s")?
            .parse()
            .map_err(|_| bad("`train_time_s` is not a number".into()))?;
        let iteration = usize::try_from(fields.number("iteration")?)
            .map_err(|_| bad("`iteration` is too large".into()))?;
        let shuffle_word_pos = fields.number("shuffle_word_pos")?;

        let all = st.tensors();
        let expected = digest(all.iter().map(|(n, v)| (n.as_str(), v.data())), meta);
        if fields.get("sha256")? != expected {
            return Err(bad(
                "checksum mismatch: its tensors or settings are damaged".into(),
            ));
        }
        let (params, velocity) = read_params(&st, &names)?;
        let known = names.len() + velocity.len() + 1;
        if all.len() != known {
            return Err(bad(format!("{} tensors, expected {known}", all.len())));
        }
        let order = read_u32(&st, "order")?;
        check_permutation(&order)?;
        check_finite(&params, &velocity)?;
        Ok(Self {
            iteration,
            run,
            data,
            params,
            velocity,
            order,
            shuffle_word_pos,
            train_time_s,
        })
    }

    /// Reads and parses `path`, a checkpoint of a net of `floats` parameters: a file larger
    /// than such a checkpoint can be ([`most_bytes`]), or not a regular file, is refused
    /// unread.
    pub fn read(path: &Path, floats: usize) -> Result<Self, CheckpointError> {
        let most = most_bytes(floats);
        let bytes =
            bounded::read(path, most, "a checkpoint of its run can take").map_err(|error| {
                CheckpointError::Io {
                    path: path.into(),
                    error,
                }
            })?;
        Self::from_bytes(&bytes).map_err(|reason| CheckpointError::Corrupt {
            path: path.into(),
            reason,
        })
    }

    /// Writes the checkpoint to `path` atomically ([`crate::store::atomic`]): a crash at any moment leaves either the
    /// previous file or the new one, never a mix.
    pub fn write(&self, path: &Path) -> Result<(), CheckpointError> {
        let pause = std::env::var_os("DELVE_TEST_SLOW_CHECKPOINT").is_some();
        crate::store::atomic::write_pausing(path, &self.to_bytes(), pause).map_err(|error| {
            CheckpointError::Io {
                path: path.into(),
                error,
            }
        })
    }

    /// The first way this checkpoint differs from the run about to continue from it, named:
    /// a configuration field, an image order not of the run's `n_train` images, or a data
    /// file whose contents changed.
    pub fn difference(&self, run: &RunSpec, data: &[FileSum], n_train: usize) -> Option<String> {
        if let Some(d) = run_difference("checkpoint", &self.run, run) {
            return Some(d);
        }
        if self.order.len() != n_train {
            return Some(format!(
                "image order: checkpoint {} images, this run {n_train}",
                self.order.len()
            ));
        }
        let base = |f: &FileSum| {
            Path::new(&f.path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        for f in data {
            match self.data.iter().find(|g| base(g) == base(f)) {
                Some(g) if g.sha256 == f.sha256 => {}
                Some(_) => return Some(format!("data file {} has changed", base(f))),
                None => return Some(format!("data file {} was not used", base(f))),
            }
        }
        None
    }

    /// Puts the parameters and momentum buffers back into `net` and `sgd`.
    /// The names and shapes must be the net's, in its order.
    pub fn restore(&self, net: &mut Sequential, sgd: &mut Sgd) -> Result<(), Invalid> {
        weights::assign_params(net, &self.params)?;
        sgd.restore_velocity(self.velocity.clone());
        Ok(())
    }
}

/// The first field in which `new` differs from `old`, named: `lr: <what> 0.01, this run
/// 0.001`, where `<what>` says where `old` came from.
pub fn run_difference(what: &str, old: &RunSpec, new: &RunSpec) -> Option<String> {
    let (ours, theirs) = (to_map(old), to_map(new));
    for (key, v) in &theirs {
        let was = ours.get(key).cloned().unwrap_or(serde_json::Value::Null);
        if &was != v {
            return Some(format!("{key}: {what} {was}, this run {v}"));
        }
    }
    None
}

/// The run's fields as JSON values (through text, so an f32 shows as written: 0.9).
fn to_map(run: &RunSpec) -> serde_json::Map<String, serde_json::Value> {
    match serde_json::from_str(&to_json(run)) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// A metadata value as a JSON string.
fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain data serialises")
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
