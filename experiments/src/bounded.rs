//! Reading a file that anyone may have put where a run's file should be: only a regular
//! file is opened (a folder, device or pipe is refused first, so nothing blocks or reads
//! without end), and only as many bytes as its kind can hold (so no file sizes an
//! allocation). Every reader of a run folder and of the data goes through [`read`].

use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// The bytes of `path`, a regular file of at most `most` bytes; `what` says whose bound
/// that is in the refusal (`N bytes, more than a data file may have (M at most)`). A
/// refusal is an [`ErrorKind::InvalidData`] error whose text says why; a file that grows
/// while it is read is refused as well.
pub fn read(path: &Path, most: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidData,
            "not a regular file (a folder, device or pipe)",
        ));
    }
    let too_large = |len: u64| {
        Error::new(
            ErrorKind::InvalidData,
            format!("{len} bytes, more than {what} ({most} at most)"),
        )
    };
    if meta.len() > most {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(most + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > most {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_file_within_its_bound_and_refuses_the_rest_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        std::fs::write(&small, b"12345").unwrap();
        assert_eq!(read(&small, 5, "a test file may have").unwrap(), b"12345");
        let err = read(&small, 4, "a test file may have").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "5 bytes, more than a test file may have (4 at most)"
        );
        // A sparse file far larger than memory is refused before anything is allocated.
        let huge = dir.path().join("huge");
        std::fs::File::create(&huge)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let err = read(&huge, 1 << 20, "a test file may have").unwrap_err();
        assert!(err.to_string().starts_with("1099511627776 bytes"), "{err}");
        let err = read(dir.path(), 1 << 20, "a test file may have").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert_eq!(
            read(&dir.path().join("missing"), 9, "a test file may have")
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_pipe_is_refused_rather_than_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read(&fifo, 1 << 20, "a test file may have").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
