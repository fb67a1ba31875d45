//! The micro-kernels against naive sums.

use super::super::available;
use super::*;

#[test]
fn a_block_matches_the_naive_sum_for_every_row_count() {
    if !available() {
        eprintln!("skipped: no AVX2/FMA on this CPU");
        return;
    }
    let (seg_len, segments, b_segments) = (5usize, [0usize, 7, 3], [100usize, 0, 203]);
    let a: Vec<f32> = (0..200)
        .map(|i| ((i * 37) % 23) as f32 * 0.1 - 1.0)
        .collect();
    let b: Vec<f32> = (0..203 + 20 * seg_len)
        .map(|i| ((i * 11) % 17) as f32 * 0.2 - 1.5)
        .collect();
    for rows in 1..=MR {
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
            gemm_block(&p, &a, &b, &mut c);
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
                    assert!((got - want).abs() < 1e-4, "rows {rows} ({i},{j})");
                }
            }
            // Nothing outside the block is touched.
            for (idx, (x, y)) in c.iter().zip(&before).enumerate() {
                let inside = idx >= 3 && (idx - 3) % 17 < NR && (idx - 3) / 17 < rows;
                if !inside {
                    assert_eq!(x, y, "index {idx} outside the block changed");
                }
            }
        }
    }
}

#[test]
fn a_dot_block_matches_the_naive_sum_for_every_row_count() {
    if !available() {
        eprintln!("skipped: no AVX2/FMA on this CPU");
        return;
    }
    let a: Vec<f32> = (0..300)
        .map(|i| ((i * 29) % 31) as f32 * 0.1 - 1.4)
        .collect();
    let b: Vec<f32> = (0..300)
        .map(|i| ((i * 13) % 19) as f32 * 0.2 - 1.7)
        .collect();
    for a_rows in 1..=DOT_A {
        for b_rows in 1..=DOT_B {
            let p = DotBlock {
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
            let mut c = vec![0.25f32; 2 + 3 * 9 + 2 * 2 + 1];
            let before = c.clone();
            dot_block(&p, &a, &b, &mut c);
            for (idx, (&got, &was)) in c.iter().zip(&before).enumerate() {
                let (i, j) = (
                    (idx as isize - 2).div_euclid(9),
                    (idx as isize - 2).rem_euclid(9),
                );
                let inside =
                    idx >= 2 && i < a_rows as isize && j % 2 == 0 && j / 2 < b_rows as isize;
                if !inside {
                    assert_eq!(got, was, "index {idx} outside the block changed");
                    continue;
                }
                let (i, j) = (i as usize, j as usize / 2);
                let want: f64 = 0.25
                    + (0..24)
                        .map(|k| a[5 + i * 50 + k] as f64 * b[3 + j * 41 + k] as f64)
                        .sum::<f64>();
                assert!(
                    (got as f64 - want).abs() < 1e-4,
                    "{a_rows}x{b_rows} ({i},{j})"
                );
            }
        }
    }
}

#[test]
#[should_panic(expected = "gemm_block: A reads")]
fn out_of_bounds_operands_panic_instead_of_reading() {
    if !available() {
        panic!("gemm_block: A reads (skipped: no AVX2)");
    }
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
    gemm_block(&p, &[0.0; 20], &[0.0; 64], &mut [0.0; 96]);
}
