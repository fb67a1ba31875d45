//! Per-thread scratch memory for the convolution kernels, kept between calls, so a training
//! step does not allocate, fault in and zero fresh buffers for every layer and pass.

use std::cell::RefCell;

thread_local! {
    static BUFFER: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer, at least `len` floats long. It holds
/// whatever its last user left there: callers zero what they rely on. Panics if called
/// again from inside `f` on the same thread.
pub fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    BUFFER.with(|buffer| {
        let mut buffer = buffer
            .try_borrow_mut()
            .expect("with_scratch: nested use on one thread");
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        f(&mut buffer[..len])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buffer_is_kept_and_grows() {
        with_scratch(4, |b| b.copy_from_slice(&[1.0, 2.0, 3.0, 4.0]));
        with_scratch(2, |b| assert_eq!(b, &[1.0, 2.0]));
        with_scratch(6, |b| {
            assert_eq!(b.len(), 6);
            assert_eq!(&b[..4], &[1.0, 2.0, 3.0, 4.0]);
        });
    }

    #[test]
    #[should_panic(expected = "nested use")]
    fn nested_use_panics() {
        with_scratch(1, |_| with_scratch(1, |_| ()));
    }
}
