//! Input gradient of strided convolutions with wide enough rows (see
//! `PHASE_MIN_ROW_PIXELS` in `mod.rs`) by phases: the `dx` pixels whose padded position leaves the same
//! remainder `(ch, cw)` modulo the strides are reached by the same kernel taps
//! (`kh ≡ ch mod stride_h`, `kw ≡ cw mod stride_w`), from one contiguous
//! window of `dy`. For each phase, `dx` is a dense GEMM: each pixel's row of A
//! is that `taps_h × taps_w` window of `dy` (all `c_out` channels of each
//! pixel), read in place as `taps_h` runs of `taps_w·c_out` floats one `dy`
//! row apart, times that phase's taps of `w` transposed to `[co, ci]` (B,
//! packed into `scratch` once per call). Strided kernels thus run on the
//! register-tiled GEMM microkernel instead of a per-pixel gather, and skip the
//! holes between outputs as the gather did.
//!
//! Pixels near the image edges, whose window leaves `dy`, sum their valid taps
//! one by one (`edge_pixel`) from the same packed B.
//!
//! Every `dx` element is written once by the chunk of image rows that owns it
//! (no scatter races, no col2im buffer), and sums its taps in an order fixed by
//! the geometry (the GEMM's: window rows, then columns, then `co`, from zero;
//! the edge loop's: valid taps in decreasing `kh`, then decreasing `kw`, then
//! `co`), so results are bit-identical with any thread count.

use crate::gemm::{gemm_rows_strided, Epilogue, OutRows, RowLayout};
use crate::geom::Conv2dGeom;
use crate::par;
use crate::taps::Taps;
use crate::columns::{for_columns, store, ColumnPass};
use crate::simd::F32x4;
use crate::vecops::transpose;

/// One spatial axis of the convolution, as the phases see it.
#[derive(Clone, Copy)]
struct Axis {
    kernel: usize,
    stride: usize,
}

impl Axis {
    /// Taps `k = phase + j·stride < kernel` of phase `phase`.
    #[inline(always)]
    fn taps(self, phase: usize) -> usize {
        if phase < self.kernel { (self.kernel - 1 - phase) / self.stride + 1 } else { 0 }
    }

    /// Taps of the phases before `phase` (where its taps start in B).
    fn taps_before(self, phase: usize) -> usize {
        (0..phase).map(|c| self.taps(c)).sum()
    }

    /// Index of tap `k` in its phase's window, whose first entry is the
    /// lowest output position, i.e. the highest tap.
    #[inline(always)]
    fn window_index(self, k: usize) -> usize {
        self.taps(k % self.stride) - 1 - k / self.stride
    }
}

fn axes(g: &Conv2dGeom) -> (Axis, Axis) {
    (
        Axis { kernel: g.k_h, stride: g.stride_h },
        Axis { kernel: g.k_w, stride: g.stride_w },
    )
}

/// Offset in the packed B of phase `(ch, cw)`: phases in `(ch, cw)` order,
/// each `taps_h·taps_w` blocks of `c_out × c_in`.
fn phase_offset(g: &Conv2dGeom, ch: usize, cw: usize) -> usize {
    let (h, w) = axes(g);
    (h.taps_before(ch) * g.k_w + h.taps(ch) * w.taps_before(cw)) * g.c_out * g.c_in
}

/// Packs every phase's B into `b`: block `(t_h, t_w)` of phase `(ch, cw)` is
/// `w[kh, kw]ᵀ` for the taps at window index `t_h`, `t_w`.
fn pack(g: &Conv2dGeom, w: &[f32], b: &mut [f32]) {
    let (h, wa) = axes(g);
    let tap_len = g.c_in * g.c_out;
    for kh in 0..g.k_h {
        for kw in 0..g.k_w {
            let (ch, cw) = (kh % g.stride_h, kw % g.stride_w);
            let block = h.window_index(kh) * wa.taps(cw) + wa.window_index(kw);
            let at = phase_offset(g, ch, cw) + block * tap_len;
            let tap = (kh * g.k_w + kw) * tap_len;
            transpose(&w[tap..tap + tap_len], g.c_in, g.c_out, &mut b[at..at + tap_len]);
        }
    }
}

/// `dx` over chunks of `chunk_rows` image rows; `scratch` holds the packed B
/// (`w_len`).
pub(super) fn run(g: &Conv2dGeom, chunk_rows: usize, parallel: bool, w: &[f32], dy: &[f32], dx: &mut [f32], scratch: &mut [f32]) {
    let b = &mut scratch[..g.w_len()];
    pack(g, w, b);
    let b = &*b;
    let row_len = g.w_in * g.c_in;
    par::for_each_chunk_mut(dx, chunk_rows * row_len, parallel, |chunk, dx_chunk| {
        for (r, dx_row) in dx_chunk.chunks_exact_mut(row_len).enumerate() {
            let image_row = chunk * chunk_rows + r;
            image_row_dx(g, b, dy, image_row / g.h_in, image_row % g.h_in, dx_row);
        }
    });
}

/// `dx` row `ih` of image `n`, phase by phase along the row.
fn image_row_dx(g: &Conv2dGeom, b: &[f32], dy: &[f32], n: usize, ih: usize, dx_row: &mut [f32]) {
    let (h, w) = axes(g);
    let ci_n = g.c_in;
    let rows = Taps::reaching(ih + g.pad_top, g.k_h, g.stride_h, g.h_out);
    let ch = (ih + g.pad_top) % g.stride_h;
    let th = h.taps(ch);
    // All of the phase's row taps reach outputs inside dy (none cut off by an edge).
    let full_rows = th > 0 && rows.count == th;
    for cw in 0..g.stride_w {
        // This phase's pixels: iw = iw0 + j·stride_w, at padded column (m0 + j)·stride_w + cw.
        let iw0 = (cw + g.stride_w - g.pad_left % g.stride_w) % g.stride_w;
        if iw0 >= g.w_in {
            continue;
        }
        let count = (g.w_in - iw0).div_ceil(g.stride_w);
        let m0 = (iw0 + g.pad_left) / g.stride_w;
        let tw = w.taps(cw);
        // Pixels j in lo..hi have every column tap inside dy: m0 + j - (tw - 1) >= 0 and m0 + j < w_out.
        let (lo, hi) = if full_rows && tw > 0 {
            let lo = (tw - 1).saturating_sub(m0).min(count);
            (lo, g.w_out.saturating_sub(m0).clamp(lo, count))
        } else {
            (0, 0)
        };
        for j in (0..lo).chain(hi..count) {
            let iw = iw0 + j * g.stride_w;
            edge_pixel(g, b, dy, n, rows, iw, &mut dx_row[iw * ci_n..(iw + 1) * ci_n]);
        }
        if lo == hi {
            continue;
        }
        let oh0 = rows.first_o + 1 - th;
        let ow0 = m0 + lo + 1 - tw;
        let layout = RowLayout { segments: th, seg_len: tw * g.c_out, seg_stride: g.w_out * g.c_out };
        let first = ((n * g.h_out + oh0) * g.w_out + ow0) * g.c_out;
        let bases = (0..).map(|j| first + j * g.c_out);
        let phase_b = &b[phase_offset(g, ch, cw)..][..th * tw * g.c_out * ci_n];
        // The phase's pixels are stride_w pixels apart in the row: the GEMM
        // writes each straight there (a buffer and a copy per pixel cost
        // BreakHis conv2's input gradient a call into memmove per pixel).
        let out = OutRows { rows: hi - lo, stride: g.stride_w * ci_n };
        let first_px = (iw0 + lo * g.stride_w) * ci_n;
        gemm_rows_strided(layout, dy, bases, ci_n, phase_b, Epilogue::default(), out, &mut dx_row[first_px..]);
    }
}

/// One `dx` pixel summed tap by tap over the taps that reach it (`rows`: its
/// row taps), for pixels whose window is cut by an edge of `dy`. Each
/// group of up to four vectors of `c_in` stays in registers across all taps
/// and `co` (`crate::columns`; a tap at a time through memory, the edge pixels cost BreakHis
/// conv2's input gradient about a quarter of its time for 7% of its pixels);
/// every element sums the same products in the same order either way.
fn edge_pixel(g: &Conv2dGeom, b: &[f32], dy: &[f32], n: usize, rows: Taps, iw: usize, dx_px: &mut [f32]) {
    let cols = Taps::reaching(iw + g.pad_left, g.k_w, g.stride_w, g.w_out);
    if rows.count == 0 || cols.count == 0 {
        dx_px.fill(0.0);
        return;
    }
    for_columns(g.c_in, &mut EdgeTaps { g, b, dy, n, rows, cols, dx_px });
}

/// The taps reaching one edge pixel of `dx`, and that pixel.
struct EdgeTaps<'a> {
    g: &'a Conv2dGeom,
    b: &'a [f32],
    dy: &'a [f32],
    n: usize,
    rows: Taps,
    cols: Taps,
    dx_px: &'a mut [f32],
}

impl EdgeTaps<'_> {
    /// `f(dy pixel, its c_out × c_in block of B)` for each tap, in decreasing
    /// `kh`, then decreasing `kw` (increasing output positions, as in the
    /// GEMM's window).
    #[inline(always)]
    fn for_each_tap(&self, mut f: impl FnMut(&[f32], &[f32])) {
        let (g, (h, w)) = (self.g, axes(self.g));
        let (ci_n, co_n) = (g.c_in, g.c_out);
        let (ch, cw) = (self.rows.first_k % g.stride_h, self.cols.first_k % g.stride_w);
        let phase_b = &self.b[phase_offset(g, ch, cw)..];
        let tw = w.taps(cw);
        for a in (0..self.rows.count).rev() {
            let (kh, oh) = (self.rows.first_k + a * g.stride_h, self.rows.first_o - a);
            for c in (0..self.cols.count).rev() {
                let (kw, ow) = (self.cols.first_k + c * g.stride_w, self.cols.first_o - c);
                let block = h.window_index(kh) * tw + w.window_index(kw);
                let px = ((self.n * g.h_out + oh) * g.w_out + ow) * co_n;
                f(&self.dy[px..px + co_n], &phase_b[block * co_n * ci_n..][..co_n * ci_n]);
            }
        }
    }
}

impl ColumnPass for EdgeTaps<'_> {
    /// Channels `j .. j + 4·G` of the pixel, summed in registers.
    #[inline(always)]
    fn run<const G: usize>(&mut self, j: usize) {
        let ci_n = self.g.c_in;
        let mut acc = [F32x4::zero(); G];
        self.for_each_tap(|dy_px, blk| {
            for (&d, b_row) in dy_px.iter().zip(blk.chunks_exact(ci_n)) {
                let (dv, b_row) = (F32x4::splat(d), &b_row[j..j + 4 * G]);
                for (v, acc) in acc.iter_mut().enumerate() {
                    *acc = acc.mul_add(dv, F32x4::load(&b_row[4 * v..]));
                }
            }
        });
        store(acc, self.dx_px, j);
    }
    fn scalar(&mut self, ci: usize) {
        let ci_n = self.g.c_in;
        let mut acc = 0.0f32;
        self.for_each_tap(|dy_px, blk| {
            for (&d, b_row) in dy_px.iter().zip(blk.chunks_exact(ci_n)) {
                acc += d * b_row[ci];
            }
        });
        self.dx_px[ci] = acc;
    }
}
