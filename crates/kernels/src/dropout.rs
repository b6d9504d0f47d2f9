//! Inverted dropout with a counter-based mask.
//!
//! Element `i` of the flattened tensor is kept iff
//! `CounterRng::new(seed, stream).uniform_f32(i) >= rate`; kept elements are
//! multiplied by `1/(1 - rate)` (rounded to f32), dropped ones are zero. So the
//! expected value is unchanged and inference is the identity (callers skip
//! the op). The mask is a pure function of `(seed, stream, i)`: the backward
//! pass regenerates it instead of storing it, and any chunking or thread
//! count gives the same mask. Use a fresh `stream` (or seed) per layer and step.

use crate::error::KernelError;
use crate::par;
use crate::rng::{u32_to_uniform, CounterRng};

/// Elements per parallel chunk (a multiple of 4: one Philox block per 4 elements).
const CHUNK: usize = 1 << 14;
/// Below this many elements the op runs serially.
const PARALLEL_MIN: usize = 1 << 15;

/// Rate and the mask's random stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropoutParams {
    /// Fraction of elements dropped, in `[0, 1)`.
    pub rate: f32,
    pub seed: u64,
    pub stream: u64,
}

impl DropoutParams {
    /// Validates `0 <= rate < 1`.
    pub fn new(rate: f32, seed: u64, stream: u64) -> Result<Self, KernelError> {
        if !(0.0..1.0).contains(&rate) {
            return Err(KernelError::geometry(format!("dropout: rate must be in [0, 1), got {rate}")));
        }
        Ok(Self { rate, seed, stream })
    }

    /// Whether element `i` is kept.
    pub fn keep(&self, i: u64) -> bool {
        CounterRng::new(self.seed, self.stream).uniform_f32(i) >= self.rate
    }

    /// `1/(1 - rate)`, the factor applied to kept elements.
    pub fn scale(&self) -> f32 {
        1.0 / (1.0 - self.rate)
    }
}

/// Forward: `y[i] = x[i] · scale` if element `i` is kept, else 0.
pub fn dropout_fwd(p: &DropoutParams, x: &[f32], y: &mut [f32]) {
    apply_mask(p, x, y);
}

/// Backward with the same mask: `dx[i] = dy[i] · scale` if kept, else 0.
/// `p` must equal the forward pass's.
pub fn dropout_bwd(p: &DropoutParams, dy: &[f32], dx: &mut [f32]) {
    apply_mask(p, dy, dx);
}

fn apply_mask(p: &DropoutParams, src: &[f32], dst: &mut [f32]) {
    debug_assert_eq!(src.len(), dst.len(), "dropout {p:?}");
    let rng = CounterRng::new(p.seed, p.stream);
    let (rate, scale) = (p.rate, p.scale());
    par::for_each_chunk_mut(dst, CHUNK, dst.len() >= PARALLEL_MIN, |c, out| {
        let start = c * CHUNK;
        for (q, (o4, s4)) in out.chunks_mut(4).zip(src[start..].chunks(4)).enumerate() {
            let w = rng.block(((start / 4) + q) as u64);
            for ((o, &s), &u) in o4.iter_mut().zip(s4).zip(&w) {
                *o = if u32_to_uniform(u) >= rate { s * scale } else { 0.0 };
            }
        }
    });
}

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod tests {
    use super::*;
    use crate::reference;
    use crate::selftest::util::{assert_bits_eq, assert_close, nan_filled, TestRng};

    crate::kernel_tests! {
        fn dropout_matches_reference_and_is_reproducible() {
            for (k, &len) in [1usize, 3, 5, 7, 17, 40_003].iter().enumerate() {
                let p = DropoutParams::new(0.3, 1234, k as u64).unwrap();
                let x = TestRng::new(900 + k as u64).vec(len);
                let mut y = nan_filled(len);
                dropout_fwd(&p, &x, &mut y);
                let want = reference::dropout(p.rate, p.seed, p.stream, &reference::widen(&x));
                assert_close(&y, &want, 2.0 * f32::EPSILON as f64, 0.0, &format!("dropout_fwd len={len}"));
                let mut y2 = nan_filled(len);
                dropout_fwd(&p, &x, &mut y2);
                assert_bits_eq(&y, &y2, &format!("dropout_fwd rerun len={len}"));
                // Backward: the same mask and scale.
                let mut dx = nan_filled(len);
                dropout_bwd(&p, &x, &mut dx);
                assert_bits_eq(&dx, &y, &format!("dropout_bwd len={len}"));
            }
        }

        fn dropout_mask_scale_and_rate() {
            const N: usize = 1 << 16;
            let p = DropoutParams::new(0.25, 7, 0).unwrap();
            let x = vec![1.0f32; N];
            let mut y = nan_filled(N);
            dropout_fwd(&p, &x, &mut y);
            let scale = 1.0f32 / 0.75;
            assert!(y.iter().all(|&v| v == 0.0 || v == scale), "values are 0 or 1/(1-rate)");
            for i in [0u64, 1, 2, 3, 4, 1000, N as u64 - 1] {
                assert_eq!(y[i as usize] != 0.0, p.keep(i), "element {i} follows keep()");
            }
            let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / N as f64;
            assert!((kept - 0.75).abs() < 5.0 * (0.75 * 0.25 / N as f64).sqrt(), "kept fraction {kept}");
            let mean = y.iter().map(|&v| v as f64).sum::<f64>() / N as f64;
            assert!((mean - 1.0).abs() < 0.02, "inverted dropout keeps the mean: {mean}");
            // Other streams and seeds give other masks; rate 0 is the identity.
            let mut y_other = nan_filled(N);
            dropout_fwd(&DropoutParams::new(0.25, 7, 1).unwrap(), &x, &mut y_other);
            assert_ne!(y, y_other, "stream changes the mask");
            dropout_fwd(&DropoutParams::new(0.25, 8, 0).unwrap(), &x, &mut y_other);
            assert_ne!(y, y_other, "seed changes the mask");
            let xr = TestRng::new(3).vec(37);
            let mut y0 = nan_filled(37);
            dropout_fwd(&DropoutParams::new(0.0, 7, 0).unwrap(), &xr, &mut y0);
            assert_bits_eq(&y0, &xr, "rate 0");
        }

        fn dropout_rejects_bad_rate() {
            for rate in [-0.1f32, 1.0, f32::NAN] {
                let msg = DropoutParams::new(rate, 0, 0).unwrap_err().message;
                assert!(msg.contains("rate must be in [0, 1)"), "{msg}");
            }
        }
    }
}

#[cfg(all(test, feature = "threads"))]
#[test]
fn dropout_bit_identical_with_1_and_2_threads() {
    use crate::selftest::util::{assert_bits_eq, nan_filled, TestRng};
    let p = DropoutParams::new(0.5, 42, 3).unwrap();
    let x = TestRng::new(1).vec(100_003);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut y = nan_filled(x.len());
        pool.install(|| dropout_fwd(&p, &x, &mut y));
        y
    };
    assert_bits_eq(&run(1), &run(2), "dropout 100003, 1 vs 2 threads");
}
