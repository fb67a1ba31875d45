//! One live process per run: an exclusive advisory lock (`flock`) on `<runs>/<name>.lock`,
//! a file beside the run's folder that is never deleted (so `--overwrite` can replace the
//! folder while holding it). The lock goes when its holder ends, however it ends.
//!
//! What it guarantees: on one machine, and on NFSv4 and other file systems whose `flock`
//! is enforced across clients, no two processes train (or decide about) the same run at
//! once. On NFSv3 without a lock manager, or a file system that ignores `flock`, it
//! guarantees nothing across machines.

use anyhow::{Context, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held run lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Why a run's lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds it.
    #[error("run `{run}` is held by another process ({holder}); it was left alone")]
    Held {
        /// The run.
        run: String,
        /// Who holds it, as it wrote itself into the lock file (`pid 123 on host`).
        holder: String,
    },
    /// The lock file could not be opened or locked.
    #[error("{path}: {error}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
}

/// The lock file of run `name` under `runs_dir`.
pub fn path(runs_dir: &Path, name: &str) -> PathBuf {
    runs_dir.join(format!("{name}.lock"))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown host".into())
}

impl RunLock {
    /// Takes the lock of run `name` without waiting, and writes this process into it.
    pub fn try_take(runs_dir: &Path, name: &str) -> Result<Self, LockError> {
        let path = path(runs_dir, name);
        let io = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                // A holder writes one short line; more is not ours to read.
                let _ = (&mut file).take(256).read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "a process that has not yet written its name".to_string(),
                    h => h.to_string(),
                };
                return Err(LockError::Held {
                    run: name.into(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let me = format!("pid {} on {}\n", std::process::id(), host());
        (|| {
            file.set_len(0)?;
            file.rewind()?;
            file.write_all(me.as_bytes())
        })()
        .map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// Takes the locks of every run of a grid, in order: the runs another process holds are
/// returned as refusals (one line each), the rest as held locks.
pub fn take_all<'a>(
    runs_dir: &Path,
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<std::result::Result<RunLock, LockError>>> {
    names
        .map(|name| match RunLock::try_take(runs_dir, name) {
            Err(LockError::Io { path, error }) => {
                Err(error).with_context(|| format!("locking {}", path.display()))
            }
            other => Ok(other),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_with_the_holder_named_until_the_first_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let first = RunLock::try_take(tmp.path(), "d6-msra-relu-s0").unwrap();
        let err = RunLock::try_take(tmp.path(), "d6-msra-relu-s0").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("pid {}", std::process::id())),
            "{msg}"
        );
        assert!(
            RunLock::try_take(tmp.path(), "d6-msra-relu-s1").is_ok(),
            "other runs are free"
        );
        drop(first);
        assert!(RunLock::try_take(tmp.path(), "d6-msra-relu-s0").is_ok());
        assert!(
            path(tmp.path(), "d6-msra-relu-s0").exists(),
            "the lock file stays"
        );
    }
}
