//! The inner products every depthwise pass reduces to: per channel, a sum
//! over a grid of (offset in `a`, offset in `b`) pairs of `a[ao + ch]·b[bo + ch]`.
//! The forward pass sums over the taps of a window (`x`, `w`), the input
//! gradient over the taps reaching a pixel (`dy`, `w`), the weight gradient
//! over the output pixels of a row (`x`, `dy`).
//!
//! `depth_multiplier == 1` (MobileNet, EfficientNet) runs in SIMD lanes of up
//! to 16 channels with the accumulators in registers; other multipliers run
//! the scalar loops `expand_dots` and `reduce_dots`. Every element is summed
//! over the pairs in the order given, from zero, each product rounded before
//! its add, so lanes and scalar tails round alike.

use crate::simd::F32x4;

/// `rows × cols` pairs of offsets `(ao, bo)`, starting at `start` and moving
/// by `col_step` along a row and by `row_step` from row to row (steps may be
/// negative: the input gradient walks output rows backwards). Visited row by
/// row, which fixes the summation order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Grid {
    pub rows: usize,
    pub cols: usize,
    pub start: (isize, isize),
    pub row_step: (isize, isize),
    pub col_step: (isize, isize),
}

impl Grid {
    #[inline(always)]
    fn for_each(&self, mut f: impl FnMut(usize, usize)) {
        let (mut ra, mut rb) = self.start;
        for _ in 0..self.rows {
            let (mut a, mut b) = (ra, rb);
            for _ in 0..self.cols {
                debug_assert!(a >= 0 && b >= 0, "{self:?}");
                f(a as usize, b as usize);
                a += self.col_step.0;
                b += self.col_step.1;
            }
            ra += self.row_step.0;
            rb += self.row_step.1;
        }
    }
}

/// `out[ch] (+)= sum_{(ao, bo) in pairs} a[ao + ch]·b[bo + ch]` for every
/// `ch < out.len()`: the sum is formed from zero, then stored (`ADD = false`)
/// or added to `out` (`ADD = true`). `pairs` is walked once per block of
/// channels.
#[inline(always)]
pub(super) fn channel_dots<const ADD: bool>(pairs: Grid, a: &[f32], b: &[f32], out: &mut [f32]) {
    let len = out.len();
    let mut ch = 0;
    while ch + 16 <= len {
        lanes::<4, ADD>(&pairs, a, b, ch, out);
        ch += 16;
    }
    if ch + 8 <= len {
        lanes::<2, ADD>(&pairs, a, b, ch, out);
        ch += 8;
    }
    if ch + 4 <= len {
        lanes::<1, ADD>(&pairs, a, b, ch, out);
        ch += 4;
    }
    if ch < len {
        let mut acc = [0.0f32; 3];
        let tail = len - ch;
        debug_assert!(tail < 4);
        pairs.for_each(|ao, bo| {
            for (t, acc) in acc[..tail].iter_mut().enumerate() {
                *acc += a[ao + ch + t] * b[bo + ch + t];
            }
        });
        for (o, &acc) in out[ch..].iter_mut().zip(&acc) {
            *o = if ADD { *o + acc } else { acc };
        }
    }
}

/// Channels `ch..ch + 4·V` of `channel_dots`.
#[inline(always)]
fn lanes<const V: usize, const ADD: bool>(pairs: &Grid, a: &[f32], b: &[f32], ch: usize, out: &mut [f32]) {
    let mut acc = [F32x4::zero(); V];
    pairs.for_each(|ao, bo| {
        // Slices of known length, so the loads below carry no bounds checks.
        let (a, b) = (&a[ao + ch..ao + ch + 4 * V], &b[bo + ch..bo + ch + 4 * V]);
        for v in 0..V {
            acc[v] = acc[v].mul_add(F32x4::load(&a[4 * v..]), F32x4::load(&b[4 * v..]));
        }
    });
    let out = &mut out[ch..ch + 4 * V];
    for v in 0..V {
        let sum = if ADD { F32x4::load(&out[4 * v..]).add(acc[v]) } else { acc[v] };
        sum.store(&mut out[4 * v..]);
    }
}

/// Any depth multiplier `dm`, for the passes whose `a` side has one value per
/// input channel (`x`): `out[c·dm + m] (+)= sum_pairs a[ao + c]·b[bo + c·dm + m]`
/// over `c < out.len() / dm`.
pub(super) fn expand_dots<const ADD: bool>(pairs: Grid, dm: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    for (c, out_c) in out.chunks_exact_mut(dm).enumerate() {
        for (m, o) in out_c.iter_mut().enumerate() {
            let mut acc = 0.0f32;
            pairs.for_each(|ao, bo| acc += a[ao + c] * b[bo + c * dm + m]);
            *o = if ADD { *o + acc } else { acc };
        }
    }
}

/// Any depth multiplier `dm`, for the input gradient (one value per input
/// channel out of `dm` per channel on both sides):
/// `out[c] = sum_pairs sum_m a[ao + c·dm + m]·b[bo + c·dm + m]`, pairs outer.
pub(super) fn reduce_dots(pairs: Grid, dm: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    for (c, o) in out.iter_mut().enumerate() {
        let mut acc = 0.0f32;
        pairs.for_each(|ao, bo| {
            for m in 0..dm {
                acc += a[ao + c * dm + m] * b[bo + c * dm + m];
            }
        });
        *o = acc;
    }
}
