//! All SIMD code of the convolutions (AVX2/FMA and AVX-512, detected at run time), and
//! all of their `unsafe`: the micro-kernels (`gemm`) and the Winograd transforms
//! (`winograd`). Every kernel is an `unsafe fn` over raw pointers with a `# Safety`
//! contract, called only from a safe wrapper that checks every index it will touch.
//!
//! The AVX-512 kernels do, element for element, the same fused multiply-adds in the same
//! order as the AVX2 ones (16 lanes hold what two 8-lane registers held), so the two
//! paths give the same bits: a run made on an AVX-512 Xeon and one made on an AVX2 EPYC
//! agree exactly.

pub(crate) mod gemm;
#[cfg(target_arch = "x86_64")]
pub(crate) mod winograd;

use crate::SimdPath;

/// Whether a SIMD path runs (AVX2/FMA or AVX-512): the CPU has one and `DELVE_SIMD` does
/// not force the portable path ([`crate::select_simd`]). Elsewhere the convolution falls
/// back to im2col + GEMM.
pub fn available() -> bool {
    isa().is_some()
}

/// The SIMD path the kernels use: the one `DELVE_SIMD` forces, else the widest this CPU
/// has; `None` for the portable path. Decided once (every conv call asks).
pub(crate) fn isa() -> Option<SimdPath> {
    static CHOICE: std::sync::OnceLock<Option<SimdPath>> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| match crate::select_simd() {
        Ok(Some(SimdPath::Scalar)) => None,
        Ok(Some(forced)) => Some(forced),
        _ => [SimdPath::Avx512, SimdPath::Avx2]
            .into_iter()
            .find(|p| p.detected()),
    })
}

/// Whether this CPU has AVX2 and FMA (detected once).
pub(crate) fn has_avx2() -> bool {
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

/// Whether this CPU has AVX-512F as well as AVX2 and FMA (detected once).
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *OK.get_or_init(|| has_avx2() && std::arch::is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
