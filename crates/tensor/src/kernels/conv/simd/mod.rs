//! All SIMD code of the convolutions (AVX2/FMA, detected at run time), and all of their
//! `unsafe`: the micro-kernels (`gemm`) and the Winograd transforms (`winograd`). Every
//! kernel is an `unsafe fn` over raw pointers with a `# Safety` contract, called only from
//! a safe wrapper that checks every index it will touch.

pub(crate) mod gemm;
#[cfg(target_arch = "x86_64")]
pub(crate) mod winograd;

/// Whether the AVX2/FMA kernels run: the CPU has them (detected once) and `DELVE_SIMD`
/// does not force the portable path ([`crate::select_simd`]). Elsewhere the convolution
/// falls back to im2col + GEMM.
pub fn available() -> bool {
    detected() && crate::select_simd() != Ok(Some(crate::SimdPath::Scalar))
}

/// Whether this CPU has AVX2 and FMA (detected once).
pub fn detected() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *OK.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
