//! Per-thread scratch memory for the convolution kernels, kept between calls, so a training
//! step does not allocate, fault in and zero fresh buffers for every layer and pass; and
//! the one rule for where kernel buffers start: on a 64-byte line, so that a 16-lane load
//! or store at a multiple of 16 floats never straddles two cache lines.

use std::cell::RefCell;

/// Floats per 64-byte cache line (one AVX-512 register).
pub(super) const LINE: usize = 16;

thread_local! {
    static BUFFER: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// The `len` floats of `buf` that start at its first 64-byte boundary (`buf` holds at
/// least `len + LINE - 1`).
fn aligned_part(buf: &mut [f32], len: usize) -> &mut [f32] {
    let at = line_offset(buf);
    &mut buf[at..at + len]
}

/// Floats from the start of `buf` to its first 64-byte boundary.
fn line_offset(buf: &[f32]) -> usize {
    buf.as_ptr().align_offset(64).min(LINE - 1)
}

/// Runs `f` with this thread's scratch buffer, `len` floats starting on a 64-byte line.
/// It holds whatever its last user left there (unspecified after it grows): callers zero
/// what they rely on. Panics if called again from inside `f` on the same thread.
pub fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    BUFFER.with(|buffer| {
        let mut buffer = buffer
            .try_borrow_mut()
            .expect("with_scratch: nested use on one thread");
        if buffer.len() < len + LINE - 1 {
            buffer.resize(len + LINE - 1, 0.0);
        }
        f(aligned_part(&mut buffer, len))
    })
}

/// A zeroed buffer of floats that starts on a 64-byte line.
pub(super) struct Aligned {
    buf: Vec<f32>,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    pub(super) fn zeroed(len: usize) -> Self {
        Self {
            buf: vec![0.0; len + LINE - 1],
            len,
        }
    }
}

impl std::ops::Deref for Aligned {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        let at = line_offset(&self.buf);
        &self.buf[at..at + self.len]
    }
}

impl std::ops::DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        aligned_part(&mut self.buf, self.len)
    }
}

/// `n` rounded up to whole cache lines of floats.
pub(super) fn whole_lines(n: usize) -> usize {
    n.div_ceil(LINE) * LINE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_a_line(s: &[f32]) -> bool {
        (s.as_ptr() as usize).is_multiple_of(64)
    }

    #[test]
    fn the_buffer_is_kept_and_starts_on_a_line() {
        with_scratch(4, |b| b.copy_from_slice(&[1.0, 2.0, 3.0, 4.0]));
        with_scratch(2, |b| assert_eq!(b, &[1.0, 2.0]));
        with_scratch(1000, |b| {
            assert_eq!(b.len(), 1000);
            assert!(on_a_line(b));
        });
        with_scratch(3, |b| assert!(on_a_line(b) && b.len() == 3));
    }

    #[test]
    fn aligned_buffers_are_zeroed_and_start_on_a_line() {
        for len in [0, 1, 15, 16, 17, 1000] {
            let mut a = Aligned::zeroed(len);
            assert_eq!(a.len(), len);
            assert!(a.iter().all(|&v| v == 0.0));
            assert!(len == 0 || on_a_line(&a));
            a.fill(1.0);
            assert!(on_a_line(&a[..]) || len == 0);
        }
        assert_eq!(
            (
                whole_lines(0),
                whole_lines(1),
                whole_lines(16),
                whole_lines(17)
            ),
            (0, 16, 16, 32)
        );
    }

    #[test]
    #[should_panic(expected = "nested use")]
    fn nested_use_panics() {
        with_scratch(1, |_| with_scratch(1, |_| ()));
    }
}
