//! The tiling's plane borders, and the AVX-512 transforms against the AVX2 ones.

use super::*;
use crate::SimdPath;

/// Every kind of tiling: rows of tiles paired (at most 4 tiles), one group a row (5 to
/// 8), several (the groups of one row 8 slots apart, of the next fewer), a last pair
/// whose second group starts 7 slots after its first (12x14: its mask must stop at the
/// last slot), odd sizes and a single pixel.
const TILINGS: [(usize, usize); 9] = [
    (7, 7),
    (14, 14),
    (12, 14),
    (28, 28),
    (5, 9),
    (13, 15),
    (3, 35),
    (34, 2),
    (1, 1),
];

/// [`TILINGS`] where AVX-512 runs; none, with a `skipped:` line, where it does not.
fn tilings(test: &str) -> &'static [(usize, usize)] {
    if SimdPath::Avx512.detected() {
        &TILINGS
    } else {
        eprintln!("{test}: skipped: cpu lacks avx512f");
        &[]
    }
}

/// A plane of stale values, its border zeroed and an image packed in: the image inside
/// a border of zeros, nothing stale left, on odd and even sizes.
#[test]
fn a_zeroed_border_and_a_packed_image_fill_the_whole_plane() {
    for (h, w) in [(7, 7), (14, 14), (5, 9), (3, 35), (1, 1)] {
        let t = Tiling::new(h, w, 32);
        let mut plane = vec![f32::NAN; t.plane_len()];
        let image: Vec<f32> = (0..h * w).map(|i| i as f32 + 1.0).collect();
        t.zero_border(&mut plane);
        t.pack(&image, &mut plane);
        let pw = t.plane_w();
        for (i, &v) in plane.iter().enumerate() {
            let (y, x) = (i / pw, i % pw);
            let inside = (1..=h).contains(&y) && (1..=w).contains(&x);
            let want = if inside {
                image[(y - 1) * w + x - 1]
            } else {
                0.0
            };
            assert_eq!(v.to_bits(), want.to_bits(), "{h}x{w} at ({y}, {x})");
        }
    }
}

/// The AVX-512 input transform against the AVX2 one, bit for bit over the whole of `V`
/// (slots no group writes included), on every kind of tiling.
#[test]
fn the_avx512_input_transform_gives_the_avx2_bits() {
    for &(h, w) in tilings("the_avx512_input_transform_gives_the_avx2_bits") {
        let t = Tiling::new(h, w, 32);
        let plane: Vec<f32> = (0..t.plane_len())
            .map(|i| ((i * 37) % 101) as f32 * 0.173 - 8.0)
            .collect();
        let stride = t.slots_written + 5;
        let run = |wide: bool| {
            let mut v = vec![f32::NAN; 16 * stride];
            // SAFETY: both paths run here (checked above); the plane holds `plane_len`
            // floats and `v` every `ξ·stride + s` for `s < slots_written`.
            unsafe {
                if wide {
                    simd::winograd::input_512(&t, plane.as_ptr(), v.as_mut_ptr(), stride);
                } else {
                    simd::winograd::input(&t, plane.as_ptr(), v.as_mut_ptr(), stride);
                }
            }
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        };
        assert_eq!(run(true), run(false), "{h}x{w}");
    }
}

/// The AVX-512 output transform against the AVX2 one, bit for bit over the whole output
/// plane (columns and rows past the image included), with and without the rectifier, on
/// the same tilings.
#[test]
fn the_avx512_output_transform_gives_the_avx2_bits() {
    for &(h, w) in tilings("the_avx512_output_transform_gives_the_avx2_bits") {
        let t = Tiling::new(h, w, 32);
        let stride = t.slots_written + 5;
        let m: Vec<f32> = (0..16 * stride)
            .map(|i| ((i * 53) % 97) as f32 * 0.21 - 10.0)
            .collect();
        for relu in [false, true] {
            let run = |wide: bool| {
                let mut out = vec![f32::NAN; t.out_len()];
                // SAFETY: both paths run here (checked above); `m` holds every
                // `ξ·stride + s` for `s < slots_written` and `out` `out_len` floats.
                unsafe {
                    let (m, o) = (m.as_ptr(), out.as_mut_ptr());
                    if wide {
                        simd::winograd::output_512(&t, m, stride, 0.75, relu, o);
                    } else {
                        simd::winograd::output(&t, m, stride, 0.75, relu, o);
                    }
                }
                out.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(run(true), run(false), "{h}x{w}, relu {relu}");
        }
    }
}
