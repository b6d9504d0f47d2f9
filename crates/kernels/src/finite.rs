//! Finding the first non-finite value (NaN or ±inf) in a buffer: the input
//! check of inference, done here because a JavaScript loop over a BreakHis
//! batch (4.8 M floats) costs more than a fifth of the forward pass.
//!
//! Blocks of `BLOCK` values are screened with SIMD: `v - v` is exactly 0 for
//! a finite `v` and NaN otherwise, and a sum of such terms stays 0 or becomes
//! NaN (0 + NaN = NaN). Only a block that fails is scanned element by element
//! for the index. Blocks run in fixed chunks on the pool; the answer is the
//! first failing index in chunk order, so it does not depend on the threads.

use crate::chunked::{self, chunk_len};
use crate::simd::F32x4;

/// Values screened per SIMD pass before the sum is checked.
const BLOCK: usize = 1024;

/// Below this many values the scan runs serially.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// Smallest chunk of values per parallel task.
const MIN_CHUNK_VALUES: usize = 1 << 15;

/// Index of the first value of `x` that is NaN or infinite, if any.
pub fn first_nonfinite(x: &[f32]) -> Option<usize> {
    let len = chunk_len(x.len(), MIN_CHUNK_VALUES, BLOCK);
    let found = chunked::map_ranges(x.len(), len, x.len() >= PARALLEL_MIN_VALUES, |range| {
        let start = range.start;
        scan(&x[range]).map_or(usize::MAX, |i| start + i)
    });
    found.as_slice().iter().copied().find(|&i| i != usize::MAX)
}

fn scan(x: &[f32]) -> Option<usize> {
    let mut offset = 0;
    for block in x.chunks(BLOCK) {
        if !block_is_finite(block) {
            return block.iter().position(|v| !v.is_finite()).map(|i| offset + i);
        }
        offset += block.len();
    }
    None
}

/// The `v - v` screen of the module doc (deliberate, so clippy's `eq_op` is
/// allowed).
#[inline(always)]
#[allow(clippy::eq_op)]
fn block_is_finite(block: &[f32]) -> bool {
    let mut acc = F32x4::zero();
    let mut quads = block.chunks_exact(4);
    for q in &mut quads {
        let v = F32x4::load(q);
        acc = acc.add(v.sub(v));
    }
    let mut lanes = [0.0f32; 4];
    acc.store(&mut lanes);
    let tail = quads.remainder().iter().fold(0.0f32, |s, &v| s + (v - v));
    lanes.iter().fold(tail, |s, &l| s + l) == 0.0
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    use super::first_nonfinite;

    crate::kernel_tests! {
        fn first_nonfinite_finds_the_first_bad_value_anywhere() {
            // Lengths around the SIMD width, the block and the chunk sizes;
            // bad values at the start, in a tail, at block and chunk edges.
            for len in [0usize, 1, 3, 4, 5, 1023, 1024, 1025, 4099, (1 << 15) + 7, (1 << 17) + 3] {
                let clean: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin() * 1e30).collect();
                assert_eq!(first_nonfinite(&clean), None, "len {len}: all finite (large magnitudes too)");
                let spots = [0, 1, 3, 4, 1023, 1024, 1 << 15, len / 2, len.saturating_sub(1)];
                for &at in spots.iter().filter(|&&at| at < len) {
                    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                        let mut x = clean.clone();
                        x[at] = bad;
                        assert_eq!(first_nonfinite(&x), Some(at), "len {len}: {bad} at {at}");
                        if at + 5 < len {
                            x[at + 5] = f32::NAN;
                            assert_eq!(first_nonfinite(&x), Some(at), "len {len}: the first of two, {bad} at {at}");
                        }
                    }
                }
            }
        }

        fn first_nonfinite_sees_infinities_that_would_cancel() {
            // inf + (-inf) in one block must not hide either: the screen sums v - v, never v.
            let mut x = vec![1.0f32; 2048];
            x[10] = f32::INFINITY;
            x[11] = f32::NEG_INFINITY;
            assert_eq!(first_nonfinite(&x), Some(10));
            let x = vec![f32::MAX; 4096];
            assert_eq!(first_nonfinite(&x), None, "f32::MAX is finite and v - v is 0");
        }
    }
}
