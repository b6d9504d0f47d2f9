//! Input gradient (formula in `mod.rs`). For stride 1 it is the forward of
//! the transposed convolution (`transposed_fwd`, Winograd for 3×3 kernels
//! with enough channels and tiles, as a forward of that geometry would be); otherwise a direct gather
//! (`direct`): each `dx` pixel sums,
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

use super::winograd::{self, WinoPlan};
use super::{fwd, fwd_plan, DxPlan, FwdPlan};
use crate::gemm::{fma_step, Epilogue};
use crate::taps::Taps;
use crate::geom::Conv2dGeom;
use crate::par;
use crate::simd::F32x4;

/// How `transposed_fwd` runs the forward of `t = transposed(g)`: the path a
/// forward of `t`'s geometry takes (Winograd for ResNet's 3×3 stride-1
/// layers, else the blocked GEMM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransposedPlan {
    Winograd(WinoPlan),
    Blocked(FwdPlan),
}

impl TransposedPlan {
    pub(super) fn of(t: &Conv2dGeom) -> Self {
        winograd::plan(t).map_or_else(|| Self::Blocked(fwd_plan(t)), Self::Winograd)
    }

    /// Scratch after the flipped weights.
    pub(super) fn scratch_len(&self, t: &Conv2dGeom) -> usize {
        match self {
            Self::Winograd(p) => p.scratch_len(t),
            Self::Blocked(p) => p.scratch_len(),
        }
    }
}

/// `dx` as the forward of `t = transposed(g)` on `dy` under `p`
/// (`TransposedPlan::of(t)`), with `g`'s weights flipped and transposed into
/// the start of `scratch` (tap `t` of the flipped kernel is tap `k_h·k_w - 1 -
/// t` of `w`, transposed to `[co, ci]`). `scratch`: `g.w_len() +
/// p.scratch_len(t)` elements.
pub(super) fn transposed_fwd(g: &Conv2dGeom, t: &Conv2dGeom, p: &TransposedPlan, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    let tap_len = g.c_in * g.c_out;
    let (wf, rest) = scratch.split_at_mut(g.w_len());
    for (w_tap, wf_tap) in w.chunks_exact(tap_len).rev().zip(wf.chunks_exact_mut(tap_len)) {
        crate::vecops::transpose(w_tap, g.c_in, g.c_out, wf_tap);
    }
    match p {
        TransposedPlan::Winograd(p) => winograd::fwd(t, p, dy, wf, Epilogue::default(), dx, rest),
        TransposedPlan::Blocked(p) => fwd::blocked(t, p, dy, wf, Epilogue::default(), dx, rest),
    }
}

pub(super) fn direct(g: &Conv2dGeom, p: &DxPlan, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    let (ci_n, co_n) = (g.c_in, g.c_out);
    let wt = &mut scratch[..g.w_len()];
    for (w_tap, wt_tap) in w.chunks_exact(ci_n * co_n).zip(wt.chunks_exact_mut(ci_n * co_n)) {
        crate::vecops::transpose(w_tap, ci_n, co_n, wt_tap);
    }
    let wt = &*wt;
    let row_len = g.w_in * ci_n;
    par::for_each_chunk_mut(dx, p.chunk_rows * row_len, p.parallel, |chunk, dx_chunk| {
        for (r, dx_row) in dx_chunk.chunks_exact_mut(row_len).enumerate() {
            let image_row = chunk * p.chunk_rows + r;
            let (n, ih) = (image_row / g.h_in, image_row % g.h_in);
            let rows = Taps::reaching(ih + g.pad_top, g.k_h, g.stride_h, g.h_out);
            let px = Pixels { g, wt, dy, n, rows };
            // Pixels `iw` and `iw + stride_w` meet the same weight taps (one
            // output column apart) unless an edge cuts one's taps short: such
            // pairs run together and share each weight load.
            let s = g.stride_w;
            let mut iw = 0;
            while iw < g.w_in {
                if iw + 2 * s > g.w_in {
                    px.gather([px.cols(iw)], [dx_pixel(dx_row, ci_n, iw)]);
                    iw += 1;
                    continue;
                }
                for a in iw..iw + s {
                    let b = a + s;
                    let (ta, tb) = (px.cols(a), px.cols(b));
                    if ta.first_k == tb.first_k && ta.count == tb.count {
                        let (lo, hi) = dx_row.split_at_mut(b * ci_n);
                        px.gather([ta, tb], [&mut lo[a * ci_n..(a + 1) * ci_n], &mut hi[..ci_n]]);
                    } else {
                        px.gather([ta], [dx_pixel(dx_row, ci_n, a)]);
                        px.gather([tb], [dx_pixel(dx_row, ci_n, b)]);
                    }
                }
                iw += 2 * s;
            }
        }
    });
}

fn dx_pixel(dx_row: &mut [f32], ci_n: usize, iw: usize) -> &mut [f32] {
    &mut dx_row[iw * ci_n..(iw + 1) * ci_n]
}

/// One row of input pixels and what their gradients are gathered from.
struct Pixels<'a> {
    g: &'a Conv2dGeom,
    wt: &'a [f32],
    dy: &'a [f32],
    n: usize,
    rows: Taps,
}

impl Pixels<'_> {
    #[inline(always)]
    fn cols(&self, iw: usize) -> Taps {
        Taps::reaching(iw + self.g.pad_left, self.g.k_w, self.g.stride_w, self.g.w_out)
    }

    /// The gradients of the `P` pixels whose column taps are `cols` (from
    /// `Pixels::cols`), which must be the same taps (`P` = 1, or 2 for columns
    /// `stride_w` apart). Each element is summed in the same order whatever `P`.
    #[inline(always)]
    fn gather<const P: usize>(&self, cols: [Taps; P], mut dx_px: [&mut [f32]; P]) {
        let ci_n = self.g.c_in;
        let mut ci = 0;
        while ci + 16 <= ci_n {
            self.lanes::<4, P>(&cols, ci, &mut dx_px);
            ci += 16;
        }
        if ci + 8 <= ci_n {
            self.lanes::<2, P>(&cols, ci, &mut dx_px);
            ci += 8;
        }
        if ci + 4 <= ci_n {
            self.lanes::<1, P>(&cols, ci, &mut dx_px);
            ci += 4;
        }
        if ci < ci_n {
            for (p, dx) in dx_px.iter_mut().enumerate() {
                self.tail(cols[p], ci, dx);
            }
        }
    }

    /// Calls `f(dy_pixels, wt_tap)` for each tap reaching the pixels, in
    /// `(kh, kw)` order (taps as in `cols[0]`; the others' outputs are read at
    /// their own `first_o`).
    #[inline(always)]
    fn for_each_tap<const P: usize>(&self, cols: &[Taps; P], mut f: impl FnMut([&[f32]; P], &[f32])) {
        let g = self.g;
        let (ci_n, co_n) = (g.c_in, g.c_out);
        for th in 0..self.rows.count {
            let kh = self.rows.first_k + th * g.stride_h;
            let oh = self.rows.first_o - th;
            let y_row = (self.n * g.h_out + oh) * g.w_out;
            for tw in 0..cols[0].count {
                let kw = cols[0].first_k + tw * g.stride_w;
                let tap = (kh * g.k_w + kw) * co_n * ci_n;
                let dy_px = cols.map(|c| {
                    let y_px = (y_row + c.first_o - tw) * co_n;
                    &self.dy[y_px..y_px + co_n]
                });
                f(dy_px, &self.wt[tap..tap + co_n * ci_n]);
            }
        }
    }

    /// `dx_px[p][ci..ci + 4·V]` for each pixel `p`.
    #[inline(always)]
    fn lanes<const V: usize, const P: usize>(&self, cols: &[Taps; P], ci: usize, dx_px: &mut [&mut [f32]; P]) {
        let ci_n = self.g.c_in;
        let mut acc = [[F32x4::zero(); V]; P];
        let co_n = self.g.c_out;
        self.for_each_tap(cols, |dy_px, wt_tap| {
            // Slices of known length, so the loop below carries no bounds checks.
            let dy_px: [&[f32]; P] = dy_px.map(|d| &d[..co_n]);
            let wt_tap = &wt_tap[..co_n * ci_n];
            for co in 0..co_n {
                let wt_row = &wt_tap[co * ci_n + ci..co * ci_n + ci + 4 * V];
                let wv: [F32x4; V] = core::array::from_fn(|v| F32x4::load(&wt_row[4 * v..]));
                fma_step(&mut acc, core::array::from_fn(|p| dy_px[p][co]), &wv);
            }
        });
        for p in 0..P {
            for v in 0..V {
                acc[p][v].store(&mut dx_px[p][ci + 4 * v..]);
            }
        }
    }

    /// `dx_px[ci..]` for the last fewer-than-4 channels of one pixel, in one
    /// pass over the taps, each element summed in the same order as `lanes`.
    #[inline(always)]
    fn tail(&self, cols: Taps, ci: usize, dx_px: &mut [f32]) {
        let ci_n = self.g.c_in;
        let len = ci_n - ci;
        debug_assert!(len < 4);
        let mut acc = [0.0f32; 3];
        self.for_each_tap(&[cols], |[dy_px], wt_tap| {
            for (&d, wt_row) in dy_px.iter().zip(wt_tap.chunks_exact(ci_n)) {
                for (a, &wv) in acc.iter_mut().zip(&wt_row[ci..]) {
                    *a += d * wv;
                }
            }
        });
        dx_px[ci..].copy_from_slice(&acc[..len]);
    }
}
