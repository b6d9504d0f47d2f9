//! Input gradient by direct gather (formula in `mod.rs`): each `dx` pixel sums,
//! over the taps `(kh, kw)` that reach it from an output pixel `(oh, ow)`,
//! `dy[oh, ow, :] · w[kh, kw, :, :]ᵀ`.
//!
//! A gather rather than GEMM + col2im: every `dx` element is written once by
//! one chunk (no scatter-add races, no col2im buffer), and strided kernels skip
//! the taps that fall between outputs instead of multiplying zeros. The
//! weights are first transposed into `scratch` as `wt[kh, kw, co, ci]` so the
//! inner loop runs over contiguous `ci` in SIMD lanes.
//!
//! Each element sums taps in `(kh, kw)` order, then `co` in order, from zero:
//! independent of the chunking, so bit-identical with any thread count.

use super::Plan;
use crate::geom::Conv2dGeom;
use crate::par;
use crate::simd::F32x4;

pub(super) fn direct(g: &Conv2dGeom, p: &Plan, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let wt = &mut scratch[..g.w_len()];
    for (w_tap, wt_tap) in w.chunks_exact(ci_n * co_n).zip(wt.chunks_exact_mut(ci_n * co_n)) {
        for ci in 0..ci_n {
            for co in 0..co_n {
                wt_tap[co * ci_n + ci] = w_tap[ci * co_n + co];
            }
        }
    }
    let wt = &*wt;
    let row_len = g.w_in * ci_n;
    par::for_each_chunk_mut(dx, p.dx_chunk_rows * row_len, p.parallel, |chunk, dx_chunk| {
        for (r, dx_row) in dx_chunk.chunks_exact_mut(row_len).enumerate() {
            let image_row = chunk * p.dx_chunk_rows + r;
            let (n, ih) = (image_row / g.h_in, image_row % g.h_in);
            for (iw, dx_px) in dx_row.chunks_exact_mut(ci_n).enumerate() {
                let px = Pixel { g, wt, dy, n, ih, iw };
                let mut ci = 0;
                while ci + 16 <= ci_n {
                    px.lanes::<4>(ci, dx_px);
                    ci += 16;
                }
                if ci + 8 <= ci_n {
                    px.lanes::<2>(ci, dx_px);
                    ci += 8;
                }
                if ci + 4 <= ci_n {
                    px.lanes::<1>(ci, dx_px);
                    ci += 4;
                }
                if ci < ci_n {
                    px.tail(ci, dx_px);
                }
            }
        }
    });
}

/// One input pixel `(n, ih, iw)` and what its gradient is gathered from.
struct Pixel<'a> {
    g: &'a Conv2dGeom,
    wt: &'a [f32],
    dy: &'a [f32],
    n: usize,
    ih: usize,
    iw: usize,
}

impl Pixel<'_> {
    /// Calls `f(dy_pixel, wt_tap)` for each tap reaching this pixel, in
    /// `(kh, kw)` order: `oh·stride_h + kh - pad_top = ih` with `0 <= oh < h_out`
    /// (likewise for width).
    #[inline(always)]
    fn for_each_tap(&self, mut f: impl FnMut(&[f32], &[f32])) {
        let g = self.g;
        let (ci_n, co_n) = (g.c_in, g.c_out);
        for kh in 0..g.k_h {
            // t = oh·stride_h; it decreases as kh grows.
            let Some(t) = (self.ih + g.pad_top).checked_sub(kh) else { break };
            if t % g.stride_h != 0 || t / g.stride_h >= g.h_out {
                continue;
            }
            let oh = t / g.stride_h;
            for kw in 0..g.k_w {
                let Some(t) = (self.iw + g.pad_left).checked_sub(kw) else { break };
                if t % g.stride_w != 0 || t / g.stride_w >= g.w_out {
                    continue;
                }
                let ow = t / g.stride_w;
                let y_px = ((self.n * g.h_out + oh) * g.w_out + ow) * co_n;
                let tap = (kh * g.k_w + kw) * co_n * ci_n;
                f(&self.dy[y_px..y_px + co_n], &self.wt[tap..tap + co_n * ci_n]);
            }
        }
    }

    /// `dx_px[ci..ci + 4·V]`.
    #[inline(always)]
    fn lanes<const V: usize>(&self, ci: usize, dx_px: &mut [f32]) {
        let ci_n = self.g.c_in;
        let mut acc = [F32x4::zero(); V];
        self.for_each_tap(|dy_px, wt_tap| {
            for (co, &d) in dy_px.iter().enumerate() {
                let dv = F32x4::splat(d);
                let wt_row = &wt_tap[co * ci_n + ci..];
                for v in 0..V {
                    acc[v] = acc[v].mul_add(dv, F32x4::load(&wt_row[4 * v..]));
                }
            }
        });
        for v in 0..V {
            acc[v].store(&mut dx_px[ci + 4 * v..]);
        }
    }

    /// `dx_px[ci..]` for the last fewer-than-4 channels, in one pass over the
    /// taps, each element summed in the same order as `lanes`.
    #[inline(always)]
    fn tail(&self, ci: usize, dx_px: &mut [f32]) {
        let ci_n = self.g.c_in;
        let len = ci_n - ci;
        debug_assert!(len < 4);
        let mut acc = [0.0f32; 3];
        self.for_each_tap(|dy_px, wt_tap| {
            for (co, &d) in dy_px.iter().enumerate() {
                let wt_row = &wt_tap[co * ci_n + ci..co * ci_n + ci_n];
                for (a, &wv) in acc.iter_mut().zip(wt_row) {
                    *a += d * wv;
                }
            }
        });
        dx_px[ci..].copy_from_slice(&acc[..len]);
    }
}
