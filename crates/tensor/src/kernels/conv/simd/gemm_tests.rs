//! The micro-kernels against naive sums, on every SIMD path this CPU has, and the AVX-512
//! kernels against the AVX2 ones bit for bit. A path the CPU lacks prints one `skipped:`
//! line. (`scripts/miri-avx512.sh` runs these tests under Miri with AVX-512 enabled, so
//! the AVX-512 kernels are checked on a CPU without it.)

use super::*;

/// The SIMD paths this CPU has; a `skipped:` line for each one it lacks.
fn paths(test: &str) -> Vec<SimdPath> {
    [SimdPath::Avx2, SimdPath::Avx512]
        .into_iter()
        .filter(|p| {
            let has = p.detected();
            if !has {
                eprintln!("{test}: {:?} skipped: cpu lacks {}", p, p.lacks());
            }
            has
        })
        .collect()
}

fn a_values(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 37) % 23) as f32 * 0.1 - 1.0).collect()
}

fn b_values(n: usize) -> Vec<f32> {
    (0..n).map(|i| ((i * 11) % 17) as f32 * 0.2 - 1.5).collect()
}

/// `p` on `isa`, split into blocks of at most that path's rows.
fn block_by(isa: SimdPath, p: &Block, a: &[f32], b: &[f32], c: &mut [f32]) {
    for r0 in (0..p.rows).step_by(max_rows(isa)) {
        let part = Block {
            rows: max_rows(isa).min(p.rows - r0),
            a_at: p.a_at + r0 * p.a_row,
            c_at: p.c_at + r0 * p.c_row,
            ..*p
        };
        gemm_block_on(isa, &part, a, b, c);
    }
}

#[test]
fn a_block_matches_the_naive_sum_for_every_row_count() {
    let (seg_len, segments, b_segments) = (5usize, [0usize, 7, 3], [100usize, 0, 203]);
    let a = a_values(2 + MR_512 * 9 + 7 + 4 * seg_len);
    let b = b_values(203 + 20 * seg_len);
    for isa in paths("a_block_matches_the_naive_sum_for_every_row_count") {
        for rows in 1..=max_rows(isa) {
            for accumulate in [false, true] {
                let p = Block {
                    rows,
                    a_at: 2,
                    a_row: 9,
                    a_k: 4,
                    a_segments: &segments,
                    b_segments: &b_segments,
                    seg_len,
                    b_at: 1,
                    b_k: 20,
                    c_at: 3,
                    c_row: 17,
                    accumulate,
                };
                let mut c = vec![0.5f32; 3 + rows * 17 + NR];
                let before = c.clone();
                gemm_block_on(isa, &p, &a, &b, &mut c);
                for i in 0..rows {
                    for j in 0..NR {
                        let mut want = if accumulate { 0.5f64 } else { 0.0 };
                        for (s, &off) in segments.iter().enumerate() {
                            for k in 0..seg_len {
                                let av = a[2 + i * 9 + off + k * 4] as f64;
                                let bv = b[1 + b_segments[s] + k * 20 + j] as f64;
                                want += av * bv;
                            }
                        }
                        let got = c[3 + i * 17 + j] as f64;
                        assert!((got - want).abs() < 1e-4, "{isa:?} rows {rows} ({i},{j})");
                    }
                }
                // Nothing outside the block is touched.
                for (idx, (x, y)) in c.iter().zip(&before).enumerate() {
                    let inside = idx >= 3 && (idx - 3) % 17 < NR && (idx - 3) / 17 < rows;
                    if !inside {
                        assert_eq!(x, y, "{isa:?}: index {idx} outside the block changed");
                    }
                }
            }
        }
    }
}

/// The AVX-512 block kernel and the AVX2 one (in blocks of 6 rows) write the same bits,
/// for every row count up to 16, overwriting and accumulating.
#[test]
fn avx512_blocks_are_bit_identical_to_avx2() {
    let ran = paths("avx512_blocks_are_bit_identical_to_avx2");
    if ran.len() < 2 {
        return;
    }
    let (seg_len, segments, b_segments) = (13usize, [0usize, 5, 11, 2], [0usize, 31, 7, 64]);
    let a: Vec<f32> = a_values(MR_512 * 40 + 11 + seg_len)
        .iter()
        .map(|v| v / 3.0)
        .collect();
    let b: Vec<f32> = b_values(64 + 24 * seg_len + NR)
        .iter()
        .map(|v| v * 1.7)
        .collect();
    for rows in 1..=MR_512 {
        for accumulate in [false, true] {
            let p = Block {
                rows,
                a_at: 0,
                a_row: 40,
                a_k: 1,
                a_segments: &segments,
                b_segments: &b_segments,
                seg_len,
                b_at: 0,
                b_k: 24,
                c_at: 1,
                c_row: 19,
                accumulate,
            };
            let start: Vec<f32> = b_values(1 + rows * 19 + NR);
            let (mut c2, mut c5) = (start.clone(), start);
            block_by(SimdPath::Avx2, &p, &a, &b, &mut c2);
            block_by(SimdPath::Avx512, &p, &a, &b, &mut c5);
            let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&c2), bits(&c5), "rows {rows} accumulate {accumulate}");
        }
    }
}

/// The AVX-512 pair kernel writes what two side-by-side AVX2 blocks write, bit for bit,
/// for every row count up to 8, overwriting and accumulating, and nothing outside its
/// 32 columns; and a `C` one column short of them is refused.
#[test]
fn avx512_pairs_are_bit_identical_to_two_avx2_blocks() {
    let ran = paths("avx512_pairs_are_bit_identical_to_two_avx2_blocks");
    if ran.len() < 2 {
        return;
    }
    let (seg_len, segments, b_segments) = (11usize, [0usize, 4, 9], [0usize, 45, 13]);
    let a: Vec<f32> = a_values(MR_PAIR * 37 + 9 + seg_len)
        .iter()
        .map(|v| v / 7.0)
        .collect();
    let b: Vec<f32> = b_values(2 + 45 + 40 * seg_len + 2 * NR)
        .iter()
        .map(|v| v * 1.3)
        .collect();
    let c_row = 2 * NR + 3;
    for rows in 1..=MR_PAIR {
        for accumulate in [false, true] {
            let p = Block {
                rows,
                a_at: 1,
                a_row: 37,
                a_k: 1,
                a_segments: &segments,
                b_segments: &b_segments,
                seg_len,
                b_at: 2,
                b_k: 40,
                c_at: 5,
                c_row,
                accumulate,
            };
            let right = Block {
                b_at: p.b_at + NR,
                c_at: p.c_at + NR,
                ..p
            };
            let start: Vec<f32> = b_values(5 + rows * c_row + 2 * NR);
            let (mut two, mut pair) = (start.clone(), start);
            block_by(SimdPath::Avx2, &p, &a, &b, &mut two);
            block_by(SimdPath::Avx2, &right, &a, &b, &mut two);
            gemm_pair_on(&p, &a, &b, &mut pair);
            let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&two),
                bits(&pair),
                "rows {rows} accumulate {accumulate}"
            );
            let short = 5 + (rows - 1) * c_row + 2 * NR - 1;
            let err = std::panic::catch_unwind(|| {
                gemm_pair_on(&p, &a, &b, &mut vec![0.0; short]);
            })
            .expect_err("a C one column short must panic");
            let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(msg.contains("gemm_block: C writes"), "{msg}");
        }
    }
}

/// One dot block on `isa`, from a `C` of 0.25s, `A`'s rows `a[5 + 50i..][..24]` (copied
/// into pairs where the path reads them so); returns `C`.
fn dot_on(isa: SimdPath, a_rows: usize, b_rows: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut p = DotBlock {
        a_paired: false,
        a_rows,
        b_rows,
        len: 24,
        a_at: 5,
        a_row: 50,
        b_at: 3,
        b_row: 41,
        c_at: 2,
        c_row: 9,
        c_col: 2,
    };
    let mut c = vec![0.25f32; 2 + DOT_A_512 * 9 + 2 * 2 + 1];
    if dot_pairs(isa) {
        let rows: Vec<f32> = (0..a_rows)
            .flat_map(|i| a[5 + 50 * i..][..24].to_vec())
            .collect();
        let mut paired = vec![7.0f32; 5 + rows.len()];
        interleave_pairs(&rows, &mut paired[5..], 24);
        p = DotBlock {
            a_paired: true,
            a_row: 24,
            ..p
        };
        dot_block(isa, &p, &paired, b, &mut c);
    } else {
        dot_block(isa, &p, a, b, &mut c);
    }
    c
}

#[test]
fn interleave_pairs_puts_8_of_each_row_side_by_side_and_an_odd_row_as_it_is() {
    for rows in [1usize, 2, 3, 6, 7] {
        let len = 24;
        let src: Vec<f32> = (0..rows * len).map(|i| i as f32).collect();
        let mut dst = vec![-1.0f32; src.len()];
        interleave_pairs(&src, &mut dst, len);
        for r in 0..rows {
            for k in 0..len {
                let at = if r == rows - 1 && rows % 2 == 1 {
                    r * len + k
                } else {
                    (r / 2 * 2) * len + k / 8 * 16 + r % 2 * 8 + k % 8
                };
                assert_eq!(dst[at], src[r * len + k], "{rows} rows: ({r}, {k})");
            }
        }
    }
}

#[test]
fn a_dot_block_with_the_wrong_layout_is_refused() {
    for isa in paths("a_dot_block_with_the_wrong_layout_is_refused") {
        let msg = refusal(isa, !dot_pairs(isa), 2);
        assert!(msg.contains("in pairs"), "{isa:?}: {msg}");
    }
}

/// The panic message of an 8-long dot block of `a_rows` rows of `A` (laid out in pairs
/// or not) against one row of `B`, on `isa`; panics if the block is not refused.
fn refusal(isa: SimdPath, a_paired: bool, a_rows: usize) -> String {
    let p = DotBlock {
        a_paired,
        a_rows,
        b_rows: 1,
        len: 8,
        a_at: 0,
        a_row: 8,
        b_at: 0,
        b_row: 8,
        c_at: 0,
        c_row: 1,
        c_col: 1,
    };
    let err = std::panic::catch_unwind(|| {
        dot_block(isa, &p, &[0.0; 16], &[0.0; 8], &mut [0.0; 2]);
    })
    .expect_err("the block must be refused");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn a_dot_block_matches_the_naive_sum_for_every_row_count() {
    let a: Vec<f32> = (0..5 + DOT_A_512 * 50 + 24)
        .map(|i| ((i * 29) % 31) as f32 * 0.1 - 1.4)
        .collect();
    let b: Vec<f32> = (0..300)
        .map(|i| ((i * 13) % 19) as f32 * 0.2 - 1.7)
        .collect();
    for isa in paths("a_dot_block_matches_the_naive_sum_for_every_row_count") {
        for a_rows in 1..=dot_rows(isa) {
            for b_rows in 1..=DOT_B {
                let c = dot_on(isa, a_rows, b_rows, &a, &b);
                for (idx, &got) in c.iter().enumerate() {
                    let (i, j) = (
                        (idx as isize - 2).div_euclid(9),
                        (idx as isize - 2).rem_euclid(9),
                    );
                    let inside =
                        idx >= 2 && i < a_rows as isize && j % 2 == 0 && j / 2 < b_rows as isize;
                    if !inside {
                        assert_eq!(got, 0.25, "{isa:?}: index {idx} outside the block changed");
                        continue;
                    }
                    let (i, j) = (i as usize, j as usize / 2);
                    let want: f64 = 0.25
                        + (0..24)
                            .map(|k| a[5 + i * 50 + k] as f64 * b[3 + j * 41 + k] as f64)
                            .sum::<f64>();
                    assert!(
                        (got as f64 - want).abs() < 1e-4,
                        "{isa:?} {a_rows}x{b_rows} ({i},{j})"
                    );
                }
            }
        }
    }
}

/// The AVX-512 dot kernel (rows of `A` in pairs, an odd one on AVX2) and the AVX2 one
/// (in blocks of 4 rows) add the same bits, for every row count.
#[test]
fn avx512_dots_are_bit_identical_to_avx2() {
    let ran = paths("avx512_dots_are_bit_identical_to_avx2");
    if ran.len() < 2 {
        return;
    }
    let a: Vec<f32> = a_values(5 + DOT_A_512 * 50 + 24);
    let b: Vec<f32> = b_values(300).iter().map(|v| v * 0.37).collect();
    for a_rows in 1..=DOT_A_512 {
        for b_rows in 1..=DOT_B {
            let wide = dot_on(SimdPath::Avx512, a_rows, b_rows, &a, &b);
            let mut narrow = vec![0.25f32; wide.len()];
            for r0 in (0..a_rows).step_by(DOT_A) {
                let part = DotBlock {
                    a_paired: false,
                    a_rows: DOT_A.min(a_rows - r0),
                    b_rows,
                    len: 24,
                    a_at: 5 + r0 * 50,
                    a_row: 50,
                    b_at: 3,
                    b_row: 41,
                    c_at: 2 + r0 * 9,
                    c_row: 9,
                    c_col: 2,
                };
                dot_block(SimdPath::Avx2, &part, &a, &b, &mut narrow);
            }
            let bits = |c: &[f32]| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&narrow), bits(&wide), "{a_rows}x{b_rows}");
        }
    }
}

#[test]
fn out_of_bounds_operands_panic_instead_of_reading() {
    for isa in paths("out_of_bounds_operands_panic_instead_of_reading") {
        let p = Block {
            rows: 6,
            a_at: 0,
            a_row: 10,
            a_k: 1,
            a_segments: &[0],
            b_segments: &[0],
            seg_len: 4,
            b_at: 0,
            b_k: 16,
            c_at: 0,
            c_row: 16,
            accumulate: false,
        };
        let err = std::panic::catch_unwind(|| {
            gemm_block_on(isa, &p, &[0.0; 20], &[0.0; 64], &mut [0.0; 96]);
        })
        .expect_err("an out-of-bounds A must panic");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("gemm_block: A reads"), "{isa:?}: {msg}");
    }
}

#[test]
fn a_path_the_cpu_lacks_is_refused() {
    for isa in [SimdPath::Avx2, SimdPath::Avx512] {
        if isa.detected() {
            continue;
        }
        let msg = refusal(isa, dot_pairs(isa), 1);
        assert!(msg.contains("this CPU lacks"), "{isa:?}: {msg}");
    }
}

/// A product of several blocks each way (pairs of blocks and a last single block on
/// AVX-512, a last short row block on both paths), read with two segments; `None`, with
/// a `skipped:` line, where no SIMD path runs.
fn product(test: &str) -> Option<(Block<'static>, usize, usize)> {
    if super::super::isa().is_none() {
        eprintln!("{test}: skipped: cpu lacks avx2");
        return None;
    }
    let (rows, cols) = (19, 80);
    let p = Block {
        rows: 0,
        a_at: 3,
        a_row: 2 * 6,
        a_k: 1,
        a_segments: &[0, 6],
        b_segments: &[0, 5],
        seg_len: 6,
        b_at: 1,
        b_k: cols + 7,
        c_at: 2,
        c_row: cols + 4,
        accumulate: false,
    };
    Some((p, rows, cols))
}

/// The furthest index `p` (as `gemm`'s template for `rows × cols`) reads in `a` and `b`
/// and writes in `c`.
fn product_ends(p: &Block, rows: usize, cols: usize) -> (usize, usize, usize) {
    let last = p.seg_len - 1;
    let a = p.a_at + (rows - 1) * p.a_row + p.a_segments.iter().max().unwrap() + last * p.a_k;
    let b = p.b_at + p.b_segments.iter().max().unwrap() + last * p.b_k + cols - 1;
    let c = p.c_at + (rows - 1) * p.c_row + cols - 1;
    (a, b, c)
}

#[test]
fn a_whole_product_matches_the_naive_sum() {
    let Some((p, rows, cols)) = product("a_whole_product_matches_the_naive_sum") else {
        return;
    };
    let (a_end, b_end, c_end) = product_ends(&p, rows, cols);
    let (a, b) = (a_values(a_end + 1), b_values(b_end + 1));
    let mut c = vec![f32::NAN; c_end + 1];
    gemm(&p, rows, cols, &a, &b, &mut c);
    for i in 0..rows {
        for j in 0..cols {
            let want: f64 = (0..p.seg_len)
                .flat_map(|k| p.a_segments.iter().zip(p.b_segments).map(move |s| (k, s)))
                .map(|(k, (&sa, &sb))| {
                    let x = a[p.a_at + i * p.a_row + sa + k * p.a_k];
                    let y = b[p.b_at + sb + k * p.b_k + j];
                    f64::from(x) * f64::from(y)
                })
                .sum();
            let got = c[p.c_at + i * p.c_row + j];
            assert!(
                (f64::from(got) - want).abs() < 1e-4,
                "C[{i}][{j}] {got} vs {want}"
            );
        }
    }
}

#[test]
fn a_whole_product_checks_its_far_corner_once() {
    let Some((p, rows, cols)) = product("a_whole_product_checks_its_far_corner_once") else {
        return;
    };
    let (a_end, b_end, c_end) = product_ends(&p, rows, cols);
    let lens = [
        (a_end, b_end + 1, c_end + 1, "A reads"),
        (a_end + 1, b_end, c_end + 1, "B reads"),
        (a_end + 1, b_end + 1, c_end, "C writes"),
    ];
    for (a_len, b_len, c_len, what) in lens {
        let err = std::panic::catch_unwind(|| {
            gemm(
                &p,
                rows,
                cols,
                &vec![0.0; a_len],
                &vec![0.0; b_len],
                &mut vec![0.0; c_len],
            );
        })
        .expect_err("a short operand must panic");
        let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains(what), "{what}: {msg}");
    }
}
