//! How much freed memory the process keeps for the next training step.
//!
//! A step allocates and frees the same few dozen large arrays (activations, gradients,
//! packed copies; up to a few MiB each at the spec's widths, 13 MiB at the paper's). Left
//! to itself, glibc's malloc gives the top of a heap back to the kernel once more than its
//! trim threshold is free there, and maps a block over its mmap threshold afresh, so each
//! step faults the same pages back in and the kernel zeroes them again (3.5% of a step's
//! samples under `perf` on the Xeon, 2 threads). Setting either threshold alone is worse
//! than neither: glibc stops adapting the other (trim only: 901 -> 667 img/s).

/// Largest block glibc may still serve from a heap rather than a fresh mapping: its own
/// ceiling for the option on 64-bit targets.
pub const MMAP_THRESHOLD: usize = 32 << 20;

/// Free memory at the top of a heap kept rather than given back: more than one step
/// ever holds at once at the paper's widths.
pub const TRIM_THRESHOLD: usize = 1 << 30;

/// Asks glibc's malloc to keep freed memory for the next step ([`MMAP_THRESHOLD`],
/// [`TRIM_THRESHOLD`]); returns whether it agreed to both. Peak memory is unchanged
/// (what is kept is what the next step takes again); does nothing, and returns `false`,
/// where the C library is not glibc.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // Both thresholds are C ints to `mallopt`; checked when this compiles.
        const _: () = assert!(MMAP_THRESHOLD <= libc::c_int::MAX as usize);
        const _: () = assert!(TRIM_THRESHOLD <= libc::c_int::MAX as usize);
        let set = |option, value: usize| {
            // Fits: the assertions above.
            let value = value as libc::c_int;
            // SAFETY: `mallopt` takes its options under malloc's own lock, so it may be
            // called at any time from any thread; both options are glibc's, both values
            // within the ranges it documents (so it returns 1).
            unsafe { libc::mallopt(option, value) == 1 }
        };
        let mmap = set(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
        let trim = set(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        mmap && trim
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_both_thresholds() {
        assert!(super::keep_freed_memory());
    }
}
