//! IDX files (MNIST, Fashion-MNIST; gzip or raw) and the normalised dataset.

use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use tensor::Tensor;

/// Why a data file could not be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be read.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The file's contents are not a valid IDX file of the expected kind.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(path: &Path, reason: impl Into<String>) -> DataError {
    DataError::Invalid {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// An unsigned-byte IDX array: its dimensions and row-major data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// Dimensions from the header.
    pub dims: Vec<usize>,
    /// `dims.product()` bytes.
    pub data: Vec<u8>,
}

/// The largest data file read (compressed or not): far above Fashion-MNIST's 26 MB, far
/// below what would strain a laptop.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// The most images a split may hold (Fashion-MNIST's training split has 60,000): what
/// bounds a checkpoint's shuffled order before it is read.
pub const MAX_IMAGES: usize = 1 << 24;

/// The most a gzip stream can inflate per compressed byte (deflate's limit is about 1032).
const MAX_INFLATION: usize = 1032;

/// Checks an IDX header (`00 00 08 ndims`, then `ndims` big-endian u32 dimensions) and
/// returns the dimensions, the header's length and the data bytes it promises.
fn parse_header(
    bytes: &[u8],
    ndims: usize,
    path: &Path,
) -> Result<(Vec<usize>, usize, usize), DataError> {
    if bytes.len() < 4 {
        return Err(invalid(
            path,
            format!(
                "truncated: {} bytes, shorter than an IDX header",
                bytes.len()
            ),
        ));
    }
    let expected = [0, 0, 0x08, ndims as u8];
    if bytes[..4] != expected {
        return Err(invalid(
            path,
            format!("bad magic number 0x{:02x}{:02x}{:02x}{:02x} (expected 0x{:08x}, unsigned bytes with {ndims} dims)", bytes[0], bytes[1], bytes[2], bytes[3], 0x800 + ndims),
        ));
    }
    let header = 4 + 4 * ndims;
    if bytes.len() < header {
        return Err(invalid(
            path,
            format!("truncated header: {} bytes, need {header}", bytes.len()),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let want = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| invalid(path, format!("dimensions {dims:?} overflow")))?;
    Ok((dims, header, want))
}

fn size_mismatch(path: &Path, dims: &[usize], want: usize, have: usize) -> DataError {
    let what = if have < want {
        "truncated"
    } else {
        "trailing bytes"
    };
    invalid(
        path,
        format!("{what}: header {dims:?} promises {want} data bytes, file holds {have}"),
    )
}

/// Parses IDX bytes (already decompressed) with `ndims` dimensions of unsigned bytes:
/// magic `00 00 08 ndims`, big-endian u32 dimensions, then exactly the data they promise.
pub fn parse_idx(bytes: &[u8], ndims: usize, path: &Path) -> Result<Idx, DataError> {
    let (dims, header, want) = parse_header(bytes, ndims, path)?;
    let have = bytes.len() - header;
    if have != want {
        return Err(size_mismatch(path, &dims, want, have));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file once, gunzipping it if it starts with the gzip magic, and returns it
/// with the SHA-256 of the bytes read. Only regular files (or links to them) of at most
/// [`MAX_FILE_BYTES`] are read: a device, a pipe or a folder is refused before it is
/// opened, so nothing blocks or reads without end.
pub fn read_idx(path: &Path, ndims: usize) -> Result<(Idx, String), DataError> {
    let raw =
        crate::bounded::read(path, MAX_FILE_BYTES, "a data file may have").map_err(|error| {
            DataError::Io {
                path: path.to_path_buf(),
                error,
            }
        })?;
    let sha: String = Sha256::digest(&raw)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((decode_idx(&raw, ndims, path)?, sha))
}

/// Decodes an IDX file's bytes, gzipped or not (`path` only names it in errors). A gzip
/// stream is inflated only after its header has been checked, and only as far as the
/// header promises (which must fit what the compressed bytes can hold): a bomb costs
/// nothing. Never panics, whatever the bytes (fuzzed by `fuzz/fuzz_targets/idx.rs`).
pub fn decode_idx(raw: &[u8], ndims: usize, path: &Path) -> Result<Idx, DataError> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return parse_idx(raw, ndims, path);
    }
    let corrupt = |e: std::io::Error| invalid(path, format!("corrupt gzip data: {e}"));
    let mut gz = GzDecoder::new(raw);
    let mut head = Vec::with_capacity(4 + 4 * ndims);
    (&mut gz)
        .take((4 + 4 * ndims) as u64)
        .read_to_end(&mut head)
        .map_err(corrupt)?;
    let (dims, _, want) = parse_header(&head, ndims, path)?;
    let most = raw
        .len()
        .saturating_mul(MAX_INFLATION)
        .min(MAX_FILE_BYTES as usize);
    if want > most {
        return Err(invalid(
            path,
            format!("header {dims:?} promises {want} data bytes, more than {most} (the most {} compressed bytes may give)", raw.len()),
        ));
    }
    let mut data = Vec::new();
    gz.take(want as u64 + 1)
        .read_to_end(&mut data)
        .map_err(corrupt)?;
    if data.len() != want {
        return Err(size_mismatch(path, &dims, want, data.len()));
    }
    Ok(Idx { dims, data })
}

/// The file of a split (`train` or `t10k`), gzipped or not.
pub fn split_file(dir: &Path, split: &str, kind: &str) -> PathBuf {
    let gz = dir.join(format!("{split}-{kind}.gz"));
    if gz.exists() {
        gz
    } else {
        dir.join(format!("{split}-{kind}"))
    }
}

/// One split: greyscale images as bytes and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// `n·h·w` pixels, row-major.
    pub pixels: Vec<u8>,
    /// `n` labels.
    pub labels: Vec<usize>,
    /// Image height.
    pub h: usize,
    /// Image width.
    pub w: usize,
    /// The files it was read from, each with the SHA-256 of the bytes read (images, labels).
    pub files: Vec<(PathBuf, String)>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Keeps the first `n` examples (all of them if there are fewer).
    pub fn truncate(&mut self, n: usize) {
        self.labels.truncate(n);
        self.pixels.truncate(self.labels.len() * self.h * self.w);
    }
}

/// Loads `{split}-images-idx3-ubyte[.gz]` and `{split}-labels-idx1-ubyte[.gz]`, checking
/// that the counts agree and every label is below `classes`.
pub fn load_split(dir: &Path, split: &str, classes: usize) -> Result<Split, DataError> {
    let (ip, lp) = (
        split_file(dir, split, "images-idx3-ubyte"),
        split_file(dir, split, "labels-idx1-ubyte"),
    );
    let (images, images_sha) = read_idx(&ip, 3)?;
    let (labels, labels_sha) = read_idx(&lp, 1)?;
    if images.dims[0] != labels.dims[0] {
        return Err(invalid(
            &lp,
            format!(
                "{} labels but {} images in {}",
                labels.dims[0],
                images.dims[0],
                ip.display()
            ),
        ));
    }
    if images.dims[0] == 0 {
        return Err(invalid(&ip, "holds no images"));
    }
    if images.dims[0] > MAX_IMAGES {
        return Err(invalid(
            &ip,
            format!(
                "{} images, more than the {MAX_IMAGES} a split may have",
                images.dims[0]
            ),
        ));
    }
    if let Some((i, &l)) = labels
        .data
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(invalid(
            &lp,
            format!("label {l} at index {i} is out of range (expected 0..{classes})"),
        ));
    }
    Ok(Split {
        pixels: images.data,
        labels: labels.data.iter().map(|&l| l as usize).collect(),
        h: images.dims[1],
        w: images.dims[2],
        files: vec![(ip, images_sha), (lp, labels_sha)],
    })
}

/// Train and test splits with the training set's pixel mean and std (after scaling to [0, 1]).
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Training split.
    pub train: Split,
    /// Test split.
    pub test: Split,
    /// Mean of the training pixels in [0, 1].
    pub mean: f32,
    /// Standard deviation of the training pixels in [0, 1].
    pub std: f32,
}

/// Number of classes of (Fashion-)MNIST.
pub const CLASSES: usize = 10;

impl Dataset {
    /// Loads both splits from `dir` and computes the normalisation.
    pub fn load(dir: &Path) -> Result<Self, DataError> {
        let train = load_split(dir, "train", CLASSES)?;
        let test = load_split(dir, "t10k", CLASSES)?;
        if (test.h, test.w) != (train.h, train.w) {
            return Err(invalid(
                dir,
                format!(
                    "test images are {}x{}, train images {}x{}",
                    test.h, test.w, train.h, train.w
                ),
            ));
        }
        let n = train.pixels.len() as f64;
        let mean = train.pixels.iter().map(|&p| p as f64 / 255.0).sum::<f64>() / n;
        let var = train
            .pixels
            .iter()
            .map(|&p| (p as f64 / 255.0 - mean).powi(2))
            .sum::<f64>()
            / n;
        Ok(Self {
            train,
            test,
            mean: mean as f32,
            std: var.sqrt().max(1e-6) as f32,
        })
    }

    /// Every file read, with the SHA-256 of its bytes: train images and labels, then test.
    pub fn files(&self) -> impl Iterator<Item = &(PathBuf, String)> {
        self.train.files.iter().chain(&self.test.files)
    }

    /// The examples at `indices` of `split`, normalised: `([B, 1, H, W], labels)`.
    pub fn batch(&self, split: &Split, indices: &[usize]) -> (Tensor, Vec<usize>) {
        self.batch_scaled(split, indices, InputScale::Normalised)
    }

    /// The examples at `indices` of `split`, scaled as `input` says.
    pub fn batch_scaled(
        &self,
        split: &Split,
        indices: &[usize],
        input: InputScale,
    ) -> (Tensor, Vec<usize>) {
        let px = split.h * split.w;
        let (scale, shift) = match input {
            InputScale::Normalised => (1.0 / (255.0 * self.std), self.mean / self.std),
            InputScale::Caffe => (1.0, 255.0 * self.mean),
        };
        let mut data = Vec::with_capacity(indices.len() * px);
        for &i in indices {
            data.extend(
                split.pixels[i * px..(i + 1) * px]
                    .iter()
                    .map(|&p| p as f32 * scale - shift),
            );
        }
        let x = Tensor::from_shape_vec(vec![indices.len(), 1, split.h, split.w], data)
            .expect("batch shape");
        (x, indices.iter().map(|&i| split.labels[i]).collect())
    }
}

/// How pixels become the net's input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputScale {
    /// Scaled to [0, 1], then `(x − mean) / std` with the training set's mean and std (the
    /// spec's default).
    #[default]
    Normalised,
    /// Caffe's: raw pixel values (0-255) minus the training set's mean pixel, unit scale,
    /// as the paper's ImageNet inputs were (std about 90 here).
    Caffe,
}

impl InputScale {
    /// Whether this is the default (left out of names and files).
    pub fn is_default(&self) -> bool {
        *self == InputScale::Normalised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(ndims: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, ndims];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    #[test]
    fn parses_a_valid_file_and_refuses_each_kind_of_damage() {
        let p = Path::new("x.idx");
        let ok = idx_bytes(3, &[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(parse_idx(&ok, 3, p).unwrap().dims, vec![2, 2, 2]);
        let err = |b: &[u8], nd| parse_idx(b, nd, p).unwrap_err().to_string();
        assert!(err(&ok[..ok.len() - 1], 3).contains("truncated"));
        assert!(err(&[ok.clone(), vec![0]].concat(), 3).contains("trailing bytes"));
        assert!(err(&ok, 1).contains("bad magic"));
        assert!(err(&ok[..6], 3).contains("truncated header"));
        assert!(err(&[], 3).contains("x.idx"));
        let mut float = ok.clone();
        float[2] = 0x0d;
        assert!(err(&float, 3).contains("bad magic"));
    }

    /// `prefix` followed by `zeros` zero bytes, gzipped (zeros compress about 1000:1).
    fn gzip(prefix: &[u8], zeros: usize) -> Vec<u8> {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(prefix).unwrap();
        let block = vec![0u8; 1 << 20];
        for _ in 0..zeros / block.len() {
            e.write_all(&block).unwrap();
        }
        e.write_all(&block[..zeros % block.len()]).unwrap();
        e.finish().unwrap()
    }

    /// Gzip streams are checked before they are inflated, and inflated only as far as
    /// their header promises: a bomb of zeros fails on its magic number, one with a valid
    /// header promising more than the compressed bytes can hold (or than a data file may
    /// have) fails on that, a valid stream with bytes past its promise is refused, and
    /// a valid one decodes.
    #[test]
    fn gzip_bombs_are_refused_from_their_header() {
        let p = Path::new("bomb.gz");
        let err = |b: &[u8]| decode_idx(b, 3, p).unwrap_err().to_string();
        assert!(err(&gzip(&[], 64 << 20)).contains("bad magic"));
        let huge = idx_bytes(3, &[4_000_000, 28, 28], &[]);
        let e = err(&gzip(&huge, 1 << 20));
        assert!(
            e.contains("promises 3136000000 data bytes, more than"),
            "{e}"
        );
        let big = idx_bytes(3, &[2, 28, 28], &[]);
        assert!(err(&gzip(&big, 2 * 784 + 1)).contains("trailing bytes"));
        assert!(err(&gzip(&big, 784)).contains("truncated"));
        assert_eq!(
            decode_idx(&gzip(&big, 2 * 784), 3, p).unwrap().data.len(),
            2 * 784
        );
    }

    /// Only regular files are read: a folder, `/dev/zero` through a link and a named pipe
    /// are refused before they are opened (so nothing reads without end or blocks), and a
    /// regular file comes back with the SHA-256 of its bytes.
    #[test]
    fn only_regular_files_are_read_and_hashed_as_read() {
        let tmp = tempfile::tempdir().unwrap();
        let regular = tmp.path().join("ok");
        std::fs::write(&regular, idx_bytes(1, &[3], &[1, 2, 3])).unwrap();
        let (idx, sha) = read_idx(&regular, 1).unwrap();
        assert_eq!(idx.data, [1, 2, 3]);
        let expected: String = Sha256::digest(std::fs::read(&regular).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(sha, expected);
        let zero = tmp.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let fifo = tmp.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let mut refused = vec![tmp.path().to_path_buf(), zero];
        if made.is_ok_and(|s| s.success()) {
            refused.push(fifo);
        } else {
            eprintln!("skipped the named pipe: mkfifo is not available");
        }
        for path in refused {
            let e = read_idx(&path, 1).unwrap_err().to_string();
            assert!(e.contains("not a regular file"), "{}: {e}", path.display());
        }
    }
}
