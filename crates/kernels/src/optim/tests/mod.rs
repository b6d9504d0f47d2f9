//! Optimizers and gradient transforms against the f64 reference steps
//! (`reference::{sgd_step, adam_step, l2_penalty, clip_by_global_norm}`) on
//! lengths around the SIMD width, hand-computed values, and errors.

pub(crate) mod penalty;
pub(crate) mod update;

use super::ParamRange;

/// Lengths: 1, the SIMD width ±1, odd sizes, and one above the parallel
/// threshold (several chunks, the last one short).
const LENS: [usize; 8] = [1, 3, 4, 5, 7, 17, 1000, 40_003];

/// Asserts `|got - want| <= atol + rtol·|want|` element-wise.
fn assert_close(got: &[f32], want: &[f64], rtol: f64, atol: f64, ctx: &str) {
    assert_eq!(got.len(), want.len(), "{ctx}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        assert!(
            g.is_finite() && err <= atol + rtol * w.abs(),
            "{ctx}: element {i}: got {g}, reference {w} (error {err:e})"
        );
    }
}

fn to_f64(x: &[f32]) -> Vec<f64> {
    x.iter().map(|&v| v as f64).collect()
}

/// Sorted, disjoint ranges covering roughly half of `len` (none when `len` is
/// 1): a start, a middle piece with an odd offset, and the tail.
fn some_ranges(len: usize) -> Vec<ParamRange> {
    match len {
        0 | 1 => vec![],
        2..=4 => vec![ParamRange { offset: 1, len: len - 1 }],
        _ => vec![
            ParamRange { offset: 0, len: len / 5 },
            ParamRange { offset: (len / 3) | 1, len: len / 4 },
            ParamRange { offset: len - len / 6 - 1, len: len / 6 + 1 },
        ],
    }
}

/// True when index `i` lies in one of `ranges`.
fn in_ranges(ranges: &[ParamRange], i: usize) -> bool {
    ranges.iter().any(|r| r.offset <= i && i < r.end())
}
