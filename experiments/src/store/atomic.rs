//! Writing files so that a crash never leaves a mix of old and new: a temporary file,
//! synced, renamed over the old one. Checkpoints, logs rewritten on resume, JSON records and
//! exported weights all go through here.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically: to `path.tmp`, flushed and synced, then renamed
/// over `path`, and the folder synced. A crash leaves the old file or the new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_pausing(path, bytes, false)
}

/// [`write_atomic`]; with `pause` (set by `DELVE_TEST_SLOW_CHECKPOINT` for checkpoints, in
/// tests only) the temporary file is written in two halves, with `checkpoint: half
/// written` printed and a pause between, so a test can kill the process mid-write.
pub(crate) fn write_pausing(path: &Path, bytes: &[u8], pause: bool) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let written = write_synced(&tmp, bytes, pause).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // A full disk: free what the partial copy took; the old file is untouched.
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8], pause: bool) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    if pause {
        let half = bytes.len() / 2;
        f.write_all(&bytes[..half])?;
        f.sync_all()?;
        eprintln!("checkpoint: half written");
        std::thread::sleep(std::time::Duration::from_millis(1500));
        f.write_all(&bytes[half..])?;
    } else {
        f.write_all(bytes)?;
    }
    f.sync_all()
}
